/* octet: INT8 / FP32 inference for ONNX models on x86 CPUs. The public C API (C99).
 *
 * A thin layer over the C++ API (octet/octet.h) for C programs and other languages' FFIs.
 *
 * Conventions
 *  - Every function returns an octet_status*: NULL on success, otherwise a status object that
 *    the caller owns and releases with octet_status_free() (once). No C++ exception ever
 *    crosses this boundary, and hostile arguments (NULL pointers, freed or foreign handles,
 *    wrong dtypes or shapes, short buffers, unknown names) give a status, never a crash.
 *  - Out-parameters are written only on success.
 *  - Objects are reached through opaque handles (octet_model*, octet_compiled_model*, ...).
 *    A handle is a token, not the address of the object: freeing it twice, using it after it
 *    was freed, or passing a handle of another kind gives OCTET_INVALID_HANDLE. Every
 *    *_free function returns a status too; *_free(NULL) does nothing and returns NULL, like
 *    free(NULL).
 *  - Dependent objects keep what they need alive: a compiled model may outlive its model,
 *    a session its compiled model, a tensor returned by a run its session.
 *
 * Lifetimes of returned memory
 *  - Strings and arrays returned through octet_value_info, octet_layer_report,
 *    octet_compiled_model_isa(), octet_compiled_model_describe() and octet_tensor_shape()
 *    belong to the handle they came from: valid until that handle is freed.
 *  - octet_status_message() belongs to the status: valid until octet_status_free().
 *  - A wrapped tensor (octet_tensor_wrap) is a view: the caller's buffer must stay valid and
 *    unmoved as long as the tensor handle, or anything it was handed to (a calibration sample
 *    in compile options, until those options are freed), may read it.
 *
 * Thread safety (as the C++ API)
 *  - Models and compiled models are immutable: any number of threads may use one handle at
 *    once (compile one model, create sessions from one compiled model, query them).
 *  - A session is one inference stream: use it from one thread at a time; create one session
 *    per thread to run in parallel. (Concurrent calls on one session are serialized, not
 *    corrupted, but they gain nothing.)
 *  - Compile options may be set from several threads; their calls are serialized.
 *  - A tensor's data has no locking: many threads may read it (one input tensor may feed
 *    sessions on several threads), but nobody may write it while others read it.
 *  - Freeing a handle while another thread is inside a call on it is safe (the call finishes
 *    on the object it found); pointers previously returned from it become invalid.
 */
#ifndef OCTET_OCTET_C_H
#define OCTET_OCTET_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OCTET_C_API __attribute__((visibility("default")))
#else
#define OCTET_C_API
#endif

/* ---- status ------------------------------------------------------------------------------ */

typedef enum octet_code {
  OCTET_OK = 0,               /* never carried by a status object: success is a NULL status */
  OCTET_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad value, a wrong dtype/shape/name, a short buffer */
  OCTET_INVALID_HANDLE = 2,   /* a handle that was freed, never issued, or of another kind */
  OCTET_ENGINE_ERROR = 3,     /* the engine refused (octet::Error): bad model file, unsupported op, ... */
  OCTET_OUT_OF_MEMORY = 4,    /* an allocation failed */
  OCTET_INTERNAL_ERROR = 5    /* an unexpected failure inside octet (a bug: please report it) */
} octet_code;

typedef struct octet_status octet_status;

/* The status' code; OCTET_OK for a NULL status. */
OCTET_C_API octet_code octet_status_code(const octet_status* status);
/* Its message (names the function and the problem); "" for a NULL status. */
OCTET_C_API const char* octet_status_message(const octet_status* status);
/* Releases a status (NULL is fine). Free each status once. */
OCTET_C_API void octet_status_free(octet_status* status);

/* ---- element types and tensors ----------------------------------------------------------- */

/* Numbered as ONNX TensorProto.DataType (and octet::DType). */
typedef enum octet_dtype {
  OCTET_DTYPE_UNDEFINED = 0,
  OCTET_DTYPE_F32 = 1,
  OCTET_DTYPE_U8 = 2,
  OCTET_DTYPE_S8 = 3,
  OCTET_DTYPE_U16 = 4,
  OCTET_DTYPE_S16 = 5,
  OCTET_DTYPE_S32 = 6,
  OCTET_DTYPE_S64 = 7,
  OCTET_DTYPE_STRING = 8, /* unsupported: models with string inputs / outputs are refused */
  OCTET_DTYPE_BOOL = 9,
  OCTET_DTYPE_F16 = 10,
  OCTET_DTYPE_F64 = 11,
  OCTET_DTYPE_U32 = 12,
  OCTET_DTYPE_U64 = 13,
  OCTET_DTYPE_BF16 = 16
} octet_dtype;

typedef struct octet_tensor octet_tensor;

/* A new tensor owning zero-filled, 64-byte aligned storage. dims has rank entries (may be
 * NULL when rank is 0); every dim must be >= 0 and the byte size must fit in size_t. */
OCTET_C_API octet_status* octet_tensor_create(octet_dtype dtype, const int64_t* dims, size_t rank,
                                              octet_tensor** out);
/* A tensor viewing the caller's buffer (nothing is copied): data must hold at least the
 * tensor's byte size (byte_size says how much it holds; a shorter buffer is an error, never
 * read past) and be aligned to the element size. See "Lifetimes" above. */
OCTET_C_API octet_status* octet_tensor_wrap(octet_dtype dtype, const int64_t* dims, size_t rank, void* data,
                                            size_t byte_size, octet_tensor** out);
OCTET_C_API octet_status* octet_tensor_free(octet_tensor* tensor);

OCTET_C_API octet_status* octet_tensor_dtype(const octet_tensor* tensor, octet_dtype* out);
/* rank and a pointer to the tensor's rank dims (owned by the handle; may be NULL when rank 0). */
OCTET_C_API octet_status* octet_tensor_shape(const octet_tensor* tensor, size_t* rank, const int64_t** dims);
OCTET_C_API octet_status* octet_tensor_data(octet_tensor* tensor, void** data);
OCTET_C_API octet_status* octet_tensor_byte_size(const octet_tensor* tensor, size_t* out);

/* ---- models ------------------------------------------------------------------------------ */

typedef struct octet_model octet_model;

OCTET_C_API octet_status* octet_model_load(const char* path, octet_model** out);
/* base_dir: where external data files are looked up; NULL or "" allows no external data.
 * The buffer is only read during the call. */
OCTET_C_API octet_status* octet_model_load_from_buffer(const void* data, size_t size, const char* base_dir,
                                                       octet_model** out);
OCTET_C_API octet_status* octet_model_free(octet_model* model);

/* A graph input or output. Everything it points to belongs to the handle it came from. */
typedef struct octet_value_info {
  const char* name;
  octet_dtype dtype;
  size_t rank;
  const int64_t* dims;         /* rank entries; -1 for a dimension not known statically */
  const char* const* dim_names; /* rank entries; the symbolic name, "" for a fixed dim */
} octet_value_info;

typedef enum octet_io_kind { OCTET_INPUTS = 0, OCTET_OUTPUTS = 1 } octet_io_kind;

OCTET_C_API octet_status* octet_model_io_count(const octet_model* model, octet_io_kind kind, size_t* count);
OCTET_C_API octet_status* octet_model_io_info(const octet_model* model, octet_io_kind kind, size_t index,
                                              octet_value_info* out);

/* ---- compile options --------------------------------------------------------------------- */

typedef enum octet_precision { OCTET_PRECISION_FP32 = 0, OCTET_PRECISION_INT8 = 1 } octet_precision;

typedef enum octet_calibration_method {
  OCTET_CALIBRATION_MINMAX = 0,
  OCTET_CALIBRATION_PERCENTILE = 1,
  OCTET_CALIBRATION_ENTROPY = 2,
  OCTET_CALIBRATION_MSE = 3
} octet_calibration_method;

typedef struct octet_compile_options octet_compile_options;

/* Defaults as octet::CompileOptions: fp32, isa "auto", one thread per core, minmax. */
OCTET_C_API octet_status* octet_compile_options_create(octet_compile_options** out);
OCTET_C_API octet_status* octet_compile_options_free(octet_compile_options* options);
OCTET_C_API octet_status* octet_compile_options_set_precision(octet_compile_options* options,
                                                              octet_precision precision);
/* "auto", "ref", "avx2", "avx2_fast", "avx512", "avx512_fast", "vnni" (checked at compile). */
OCTET_C_API octet_status* octet_compile_options_set_isa(octet_compile_options* options, const char* isa);
/* Intra-op threads per session; 0 = one per core. */
OCTET_C_API octet_status* octet_compile_options_set_threads(octet_compile_options* options, int threads);
OCTET_C_API octet_status* octet_compile_options_set_calibration_method(octet_compile_options* options,
                                                                       octet_calibration_method method);
/* For OCTET_CALIBRATION_PERCENTILE: in (0, 100]. */
OCTET_C_API octet_status* octet_compile_options_set_percentile(octet_compile_options* options, float percentile);
/* Bits of the INT8 weights: 8 (default) or 7 (exact on every ISA; see octet.h). */
OCTET_C_API octet_status* octet_compile_options_set_weight_bits(octet_compile_options* options, int bits);
/* The value (>= 1) of a symbolic dimension, e.g. ("batch", 1). Unbound symbolic dims are 1. */
OCTET_C_API octet_status* octet_compile_options_set_dim_value(octet_compile_options* options, const char* dim_name,
                                                              int64_t value);
/* Adds one calibration sample for INT8: count graph inputs by name. The options keep a
 * reference to the tensors' data (not a copy): owned tensors stay alive even when their
 * handles are freed; wrapped buffers must stay valid until the options are freed.
 * A QDQ model compiled with OCTET_PRECISION_INT8 needs no samples. */
OCTET_C_API octet_status* octet_compile_options_add_calibration_sample(octet_compile_options* options,
                                                                       const char* const* input_names,
                                                                       const octet_tensor* const* tensors,
                                                                       size_t count);

/* ---- compiled models --------------------------------------------------------------------- */

typedef struct octet_compiled_model octet_compiled_model;

/* options may be NULL (the defaults). */
OCTET_C_API octet_status* octet_compile(const octet_model* model, const octet_compile_options* options,
                                        octet_compiled_model** out);
OCTET_C_API octet_status* octet_compiled_model_free(octet_compiled_model* compiled);

OCTET_C_API octet_status* octet_compiled_model_io_count(const octet_compiled_model* compiled, octet_io_kind kind,
                                                        size_t* count);
OCTET_C_API octet_status* octet_compiled_model_io_info(const octet_compiled_model* compiled, octet_io_kind kind,
                                                       size_t index, octet_value_info* out);
/* The ISA level the kernels were chosen for, e.g. "avx2". Owned by the handle. */
OCTET_C_API octet_status* octet_compiled_model_isa(const octet_compiled_model* compiled, const char** out);
/* One line per node: name, op, output shape, chosen kernel. Owned by the handle. */
OCTET_C_API octet_status* octet_compiled_model_describe(const octet_compiled_model* compiled, const char** out);
/* INT8 models: writes the quantized graph as a QDQ ONNX file. An FP32 model is an error. */
OCTET_C_API octet_status* octet_compiled_model_export_qdq(const octet_compiled_model* compiled, const char* path);
/* The compiled-model file (octet::CompiledModel::save / load): the program with its packed
 * weights, mapped read-only by a load and used in place (processes loading one file share its
 * pages). A damaged file, another format version or an ISA level this CPU lacks is an error.
 * threads: intra-op threads of its sessions (0 = one per core). */
OCTET_C_API octet_status* octet_compiled_model_save(const octet_compiled_model* compiled, const char* path);
OCTET_C_API octet_status* octet_compiled_model_load(const char* path, int threads, octet_compiled_model** out);

/* One row of an INT8 model's quantization report (see octet::LayerError). Strings belong
 * to the compiled model handle. */
typedef struct octet_layer_report {
  const char* tensor;  /* the quantized activation */
  const char* op;      /* op type of its producer */
  const char* node;    /* name of its producer node ("" for a graph input) */
  double sqnr_db;      /* NaN when not measured */
  float scale;
  int32_t zero_point;
  int fp32_fallback;   /* 1 when accuracy-aware mode moved this layer back to FP32 */
  const char* note;
} octet_layer_report;

/* Rows of the quantization report; 0 for FP32 and imported QDQ models. */
OCTET_C_API octet_status* octet_compiled_model_report_count(const octet_compiled_model* compiled, size_t* count);
OCTET_C_API octet_status* octet_compiled_model_report_row(const octet_compiled_model* compiled, size_t index,
                                                          octet_layer_report* out);

/* ---- sessions ---------------------------------------------------------------------------- */

typedef struct octet_session octet_session;

OCTET_C_API octet_status* octet_session_create(const octet_compiled_model* compiled, octet_session** out);
OCTET_C_API octet_status* octet_session_free(octet_session* session);

/* Runs the model once (ONNX Runtime's Run convention).
 *  inputs: input_count (name, tensor) pairs, every graph input exactly once, with the
 *    compiled dtype and shape. Only read; used in place.
 *  outputs: output_count requested outputs by name (any subset of the graph outputs, no name
 *    twice). For each slot outputs[i]:
 *    - NULL: on success it receives a new tensor handle, owned by the caller (free it);
 *    - a tensor handle: a caller tensor with the compiled dtype and shape, not overlapping
 *      an input, written in place (e.g. a wrapped buffer: no copy); the slot is unchanged.
 *  On failure no slot is changed and no handle is created. */
OCTET_C_API octet_status* octet_session_run(octet_session* session, const char* const* input_names,
                                            const octet_tensor* const* inputs, size_t input_count,
                                            const char* const* output_names, octet_tensor** outputs,
                                            size_t output_count);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* OCTET_OCTET_C_H */
