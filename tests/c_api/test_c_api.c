/* The C API from C: round trips on a tiny model and every kind of hostile argument, each of
 * which must give a status with the right code and a message naming the problem.
 *   test_c_api_c FIXTURE.onnx SCRATCH_DIR
 * FIXTURE.onnx is written by tests/c_api/fixture/make_c_api_fixture.cc: x f32[batch,4] ->
 * logits = x·W + b -> y = Relu(logits); its weights are repeated here to check the outputs. */
#include <octet/octet_c.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                \
    }                                                                            \
  } while (0)

/* A call that must succeed. */
#define OK(call) expect_ok((call), #call, __LINE__)
/* A call that must fail with `code` and a message containing `fragment`. */
#define FAILS(call, code, fragment) expect_failure((call), (code), (fragment), #call, __LINE__)

static void expect_ok(octet_status* status, const char* call, int line) {
  if (status) {
    fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, line, call, octet_status_message(status));
    ++failures;
  }
  octet_status_free(status);
}

static void expect_failure(octet_status* status, octet_code code, const char* fragment, const char* call, int line) {
  if (!status) {
    fprintf(stderr, "%s:%d: %s succeeded; expected code %d\n", __FILE__, line, call, (int)code);
    ++failures;
    return;
  }
  if (octet_status_code(status) != code || !strstr(octet_status_message(status), fragment)) {
    fprintf(stderr, "%s:%d: %s gave code %d \"%s\"; expected code %d and \"%s\"\n", __FILE__, line, call,
            (int)octet_status_code(status), octet_status_message(status), (int)code, fragment);
    ++failures;
  }
  octet_status_free(status);
}

enum { kBatch = 2, kIn = 4, kOut = 3 };
static const float kW[kIn][kOut] = {{1.0f, 0.0f, -1.0f}, {0.5f, 1.0f, 0.0f}, {0.0f, -0.5f, 1.0f}, {1.0f, 1.0f, 1.0f}};
static const float kB[kOut] = {0.25f, -0.5f, 0.0f};
static const float kX[kBatch * kIn] = {1.0f, 2.0f, 3.0f, 4.0f, -1.0f, 0.5f, -2.0f, 0.25f};
static const int64_t kXDims[2] = {kBatch, kIn};
static const int64_t kYDims[2] = {kBatch, kOut};

static void expected_outputs(const float* x, float* logits, float* y) {
  for (int n = 0; n < kBatch; ++n)
    for (int j = 0; j < kOut; ++j) {
      float acc = kB[j];
      for (int k = 0; k < kIn; ++k) acc += x[n * kIn + k] * kW[k][j];
      logits[n * kOut + j] = acc;
      y[n * kOut + j] = acc > 0 ? acc : 0;
    }
}

static float* tensor_floats(octet_tensor* t) {
  void* data = NULL;
  OK(octet_tensor_data(t, &data));
  return (float*)data;
}

static float max_abs_diff(const float* a, const float* b, int n) {
  float m = 0;
  for (int i = 0; i < n; ++i) m = fmaxf(m, fabsf(a[i] - b[i]));
  return m;
}

static octet_compiled_model* compile_fixture(octet_model* model, octet_compile_options* options) {
  octet_compiled_model* compiled = NULL;
  OK(octet_compile(model, options, &compiled));
  return compiled;
}

static void test_status_of_success(void) {
  CHECK(octet_status_code(NULL) == OCTET_OK);
  CHECK(strcmp(octet_status_message(NULL), "") == 0);
  octet_status_free(NULL);
}

static void test_tensors(void) {
  octet_tensor* t = NULL;
  const int64_t dims[2] = {2, 3};
  OK(octet_tensor_create(OCTET_DTYPE_F32, dims, 2, &t));
  octet_dtype dtype = OCTET_DTYPE_UNDEFINED;
  size_t rank = 0, bytes = 0;
  const int64_t* shape = NULL;
  OK(octet_tensor_dtype(t, &dtype));
  OK(octet_tensor_shape(t, &rank, &shape));
  OK(octet_tensor_byte_size(t, &bytes));
  CHECK(dtype == OCTET_DTYPE_F32 && rank == 2 && shape && shape[0] == 2 && shape[1] == 3 && bytes == 24);
  const float* zeros = tensor_floats(t);
  for (int i = 0; i < 6; ++i) CHECK(zeros[i] == 0.0f);
  OK(octet_tensor_free(t));

  /* A scalar: rank 0 needs no dims. */
  OK(octet_tensor_create(OCTET_DTYPE_S64, NULL, 0, &t));
  OK(octet_tensor_byte_size(t, &bytes));
  CHECK(bytes == 8);
  OK(octet_tensor_free(t));

  /* A wrapped buffer is used in place. */
  int32_t buffer[6] = {1, 2, 3, 4, 5, 6};
  OK(octet_tensor_wrap(OCTET_DTYPE_S32, dims, 2, buffer, sizeof buffer, &t));
  void* data = NULL;
  OK(octet_tensor_data(t, &data));
  CHECK(data == (void*)buffer);
  OK(octet_tensor_free(t));

  /* Hostile arguments. */
  const int64_t negative[2] = {2, -3};
  const int64_t huge[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 16};
  FAILS(octet_tensor_create(OCTET_DTYPE_F32, dims, 2, NULL), OCTET_INVALID_ARGUMENT, "'out' is NULL");
  FAILS(octet_tensor_create(OCTET_DTYPE_F32, NULL, 2, &t), OCTET_INVALID_ARGUMENT, "dims is NULL");
  FAILS(octet_tensor_create(OCTET_DTYPE_F32, negative, 2, &t), OCTET_INVALID_ARGUMENT, "dims[1] is -3");
  FAILS(octet_tensor_create(OCTET_DTYPE_F32, huge, 3, &t), OCTET_INVALID_ARGUMENT, "overflows");
  FAILS(octet_tensor_create(OCTET_DTYPE_STRING, dims, 2, &t), OCTET_INVALID_ARGUMENT, "string");
  FAILS(octet_tensor_create((octet_dtype)42, dims, 2, &t), OCTET_INVALID_ARGUMENT, "dtype 42");
  FAILS(octet_tensor_create(OCTET_DTYPE_UNDEFINED, dims, 2, &t), OCTET_INVALID_ARGUMENT, "dtype 0");
  FAILS(octet_tensor_wrap(OCTET_DTYPE_S32, dims, 2, buffer, sizeof buffer - 1, &t), OCTET_INVALID_ARGUMENT,
        "buffer of 23 bytes is shorter than the 24 bytes");
  FAILS(octet_tensor_wrap(OCTET_DTYPE_S32, dims, 2, NULL, 24, &t), OCTET_INVALID_ARGUMENT, "data is NULL");
  FAILS(octet_tensor_wrap(OCTET_DTYPE_S32, dims, 1, (char*)buffer + 1, 20, &t), OCTET_INVALID_ARGUMENT, "aligned");
  FAILS(octet_tensor_wrap(OCTET_DTYPE_F32, huge, 3, buffer, sizeof buffer, &t), OCTET_INVALID_ARGUMENT, "overflows");
  FAILS(octet_tensor_dtype(NULL, &dtype), OCTET_INVALID_ARGUMENT, "tensor is NULL");
  OK(octet_tensor_create(OCTET_DTYPE_F32, dims, 2, &t));
  FAILS(octet_tensor_dtype(t, NULL), OCTET_INVALID_ARGUMENT, "'out' is NULL");
  FAILS(octet_tensor_shape(t, &rank, NULL), OCTET_INVALID_ARGUMENT, "'dims' is NULL");
  FAILS(octet_tensor_data(t, NULL), OCTET_INVALID_ARGUMENT, "'data' is NULL");
  OK(octet_tensor_free(t));
}

static void test_freed_forged_and_mismatched_handles(void) {
  octet_tensor* t = NULL;
  const int64_t dims[1] = {4};
  OK(octet_tensor_create(OCTET_DTYPE_F32, dims, 1, &t));
  OK(octet_tensor_free(t));
  /* Double free and use after free. */
  FAILS(octet_tensor_free(t), OCTET_INVALID_HANDLE, "not a live tensor handle");
  size_t bytes = 0;
  FAILS(octet_tensor_byte_size(t, &bytes), OCTET_INVALID_HANDLE, "already freed");
  /* Freeing NULL does nothing, like free(NULL). */
  OK(octet_tensor_free(NULL));
  OK(octet_model_free(NULL));

  /* A handle of another kind. */
  OK(octet_tensor_create(OCTET_DTYPE_F32, dims, 1, &t));
  size_t count = 0;
  FAILS(octet_model_io_count((const octet_model*)t, OCTET_INPUTS, &count), OCTET_INVALID_HANDLE,
        "is a tensor handle, not a model handle");
  FAILS(octet_session_free((octet_session*)t), OCTET_INVALID_HANDLE, "not a session handle");
  OK(octet_tensor_free(t)); /* the failed free of the wrong kind left it alive */

  /* Handles octet never issued: garbage and the address of a real object. */
  int local = 0;
  FAILS(octet_tensor_free((octet_tensor*)(uintptr_t)0x1234), OCTET_INVALID_HANDLE, "never created");
  FAILS(octet_model_free((octet_model*)&local), OCTET_INVALID_HANDLE, "not a live model handle");
  FAILS(octet_compiled_model_isa((const octet_compiled_model*)&local, NULL), OCTET_INVALID_HANDLE, "compiled model");
}

static void test_model_queries(const char* path) {
  octet_model* model = NULL;
  OK(octet_model_load(path, &model));
  size_t inputs = 0, outputs = 0;
  OK(octet_model_io_count(model, OCTET_INPUTS, &inputs));
  OK(octet_model_io_count(model, OCTET_OUTPUTS, &outputs));
  CHECK(inputs == 1 && outputs == 2);
  /* The symbolic batch dimension: -1 and its name before compiling. */
  octet_value_info info;
  OK(octet_model_io_info(model, OCTET_INPUTS, 0, &info));
  CHECK(strcmp(info.name, "x") == 0 && info.dtype == OCTET_DTYPE_F32 && info.rank == 2);
  CHECK(info.dims[0] == -1 && info.dims[1] == kIn);
  CHECK(strcmp(info.dim_names[0], "batch") == 0 && strcmp(info.dim_names[1], "") == 0);
  OK(octet_model_io_info(model, OCTET_OUTPUTS, 1, &info));
  CHECK(strcmp(info.name, "y") == 0 && info.dims[0] == -1 && strcmp(info.dim_names[0], "batch") == 0);

  FAILS(octet_model_io_info(model, OCTET_OUTPUTS, 2, &info), OCTET_INVALID_ARGUMENT, "index 2 is out of range");
  FAILS(octet_model_io_info(model, (octet_io_kind)7, 0, &info), OCTET_INVALID_ARGUMENT, "kind");
  FAILS(octet_model_io_count(model, OCTET_INPUTS, NULL), OCTET_INVALID_ARGUMENT, "'count' is NULL");
  FAILS(octet_model_io_count(NULL, OCTET_INPUTS, &inputs), OCTET_INVALID_ARGUMENT, "model is NULL");
  OK(octet_model_free(model));
  FAILS(octet_model_io_count(model, OCTET_INPUTS, &inputs), OCTET_INVALID_HANDLE, "not a live model handle");

  /* Loading failures. */
  FAILS(octet_model_load(NULL, &model), OCTET_INVALID_ARGUMENT, "path is NULL");
  FAILS(octet_model_load(path, NULL), OCTET_INVALID_ARGUMENT, "'out' is NULL");
  FAILS(octet_model_load("/nonexistent/model.onnx", &model), OCTET_ENGINE_ERROR, "/nonexistent/model.onnx");
  const char garbage[] = "not an onnx model";
  FAILS(octet_model_load_from_buffer(garbage, sizeof garbage, NULL, &model), OCTET_ENGINE_ERROR, "");
  FAILS(octet_model_load_from_buffer(NULL, 10, NULL, &model), OCTET_INVALID_ARGUMENT, "data is NULL");

  /* From a buffer. */
  FILE* f = fopen(path, "rb");
  CHECK(f != NULL);
  if (!f) return;
  char bytes[4096];
  const size_t size = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  CHECK(size > 0 && size < sizeof bytes);
  OK(octet_model_load_from_buffer(bytes, size, "", &model));
  OK(octet_model_io_count(model, OCTET_OUTPUTS, &outputs));
  CHECK(outputs == 2);
  OK(octet_model_free(model));
}

/* The compiled fixture for batch 2, FP32. */
static octet_compiled_model* compile_fp32(const char* path) {
  octet_model* model = NULL;
  octet_compile_options* options = NULL;
  OK(octet_model_load(path, &model));
  OK(octet_compile_options_create(&options));
  OK(octet_compile_options_set_dim_value(options, "batch", kBatch));
  OK(octet_compile_options_set_threads(options, 1));
  octet_compiled_model* compiled = compile_fixture(model, options);
  /* The compiled model keeps what it needs: model and options may go first. */
  OK(octet_compile_options_free(options));
  OK(octet_model_free(model));
  return compiled;
}

static void test_fp32_round_trip(const char* path) {
  octet_compiled_model* compiled = compile_fp32(path);
  octet_value_info info;
  OK(octet_compiled_model_io_info(compiled, OCTET_INPUTS, 0, &info));
  CHECK(info.rank == 2 && info.dims[0] == kBatch && info.dims[1] == kIn);
  const char* isa = NULL;
  const char* description = NULL;
  OK(octet_compiled_model_isa(compiled, &isa));
  OK(octet_compiled_model_describe(compiled, &description));
  CHECK(isa && *isa && description && strstr(description, "MatMul"));
  size_t rows = 1;
  OK(octet_compiled_model_report_count(compiled, &rows));
  CHECK(rows == 0);
  FAILS(octet_compiled_model_export_qdq(compiled, "/tmp/never-written.onnx"), OCTET_ENGINE_ERROR, "");

  octet_session* session = NULL;
  OK(octet_session_create(compiled, &session));
  OK(octet_compiled_model_free(compiled)); /* the session keeps it alive */

  float x[kBatch * kIn], logits[kBatch * kOut], y[kBatch * kOut];
  memcpy(x, kX, sizeof x);
  expected_outputs(x, logits, y);
  octet_tensor* input = NULL;
  OK(octet_tensor_wrap(OCTET_DTYPE_F32, kXDims, 2, x, sizeof x, &input));
  const char* input_names[1] = {"x"};
  const octet_tensor* inputs[1] = {input};

  /* NULL slots: octet allocates the outputs. */
  const char* output_names[2] = {"y", "logits"};
  octet_tensor* outputs[2] = {NULL, NULL};
  OK(octet_session_run(session, input_names, inputs, 1, output_names, outputs, 2));
  CHECK(outputs[0] && outputs[1]);
  if (outputs[0] && outputs[1]) {
    CHECK(max_abs_diff(tensor_floats(outputs[0]), y, kBatch * kOut) < 1e-6f);
    CHECK(max_abs_diff(tensor_floats(outputs[1]), logits, kBatch * kOut) < 1e-6f);
    size_t rank = 0;
    const int64_t* dims = NULL;
    OK(octet_tensor_shape(outputs[0], &rank, &dims));
    CHECK(rank == 2 && dims[0] == kBatch && dims[1] == kOut);
  }
  OK(octet_tensor_free(outputs[0]));
  OK(octet_tensor_free(outputs[1]));

  /* A caller-owned output written in place, beside one octet allocates. */
  float y_buffer[kBatch * kOut];
  memset(y_buffer, 0xff, sizeof y_buffer);
  octet_tensor* y_tensor = NULL;
  OK(octet_tensor_wrap(OCTET_DTYPE_F32, kYDims, 2, y_buffer, sizeof y_buffer, &y_tensor));
  outputs[0] = y_tensor;
  outputs[1] = NULL;
  OK(octet_session_run(session, input_names, inputs, 1, output_names, outputs, 2));
  CHECK(outputs[0] == y_tensor && outputs[1] != NULL);
  CHECK(tensor_floats(y_tensor) == y_buffer);
  CHECK(max_abs_diff(y_buffer, y, kBatch * kOut) < 1e-6f);
  OK(octet_tensor_free(outputs[1]));

  /* Only the outputs asked for; none at all is fine too. */
  outputs[0] = NULL;
  OK(octet_session_run(session, input_names, inputs, 1, &output_names[1], outputs, 1));
  if (outputs[0]) CHECK(max_abs_diff(tensor_floats(outputs[0]), logits, kBatch * kOut) < 1e-6f);
  OK(octet_tensor_free(outputs[0]));
  OK(octet_session_run(session, input_names, inputs, 1, NULL, NULL, 0));

  OK(octet_tensor_free(y_tensor));
  OK(octet_tensor_free(input));
  OK(octet_session_free(session));
}

static void test_run_hostile(const char* path) {
  octet_compiled_model* compiled = compile_fp32(path);
  octet_session* session = NULL;
  OK(octet_session_create(compiled, &session));
  float x[kBatch * kIn];
  memcpy(x, kX, sizeof x);
  octet_tensor *input = NULL, *wrong_dtype = NULL, *wrong_shape = NULL, *freed = NULL;
  const int64_t short_dims[2] = {1, kIn};
  OK(octet_tensor_wrap(OCTET_DTYPE_F32, kXDims, 2, x, sizeof x, &input));
  OK(octet_tensor_create(OCTET_DTYPE_S32, kXDims, 2, &wrong_dtype));
  OK(octet_tensor_create(OCTET_DTYPE_F32, short_dims, 2, &wrong_shape));
  OK(octet_tensor_create(OCTET_DTYPE_F32, kXDims, 2, &freed));
  OK(octet_tensor_free(freed));

  const char* x_name[1] = {"x"};
  const char* bad_name[1] = {"nope"};
  const char* null_name[1] = {NULL};
  const char* x_twice[2] = {"x", "x"};
  const octet_tensor* good[2] = {input, input};
  const octet_tensor* as_s32[1] = {wrong_dtype};
  const octet_tensor* as_short[1] = {wrong_shape};
  const octet_tensor* as_freed[1] = {freed};
  const octet_tensor* as_null[1] = {NULL};
  octet_tensor* none[1] = {NULL};

  FAILS(octet_session_run(NULL, x_name, good, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "session is NULL");
  FAILS(octet_session_run((octet_session*)input, x_name, good, 1, NULL, NULL, 0), OCTET_INVALID_HANDLE,
        "is a tensor handle, not a session handle");
  FAILS(octet_session_run(session, bad_name, good, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT,
        "input_names[0] 'nope' is not one of the model's: x");
  FAILS(octet_session_run(session, null_name, good, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "input_names[0] is NULL");
  FAILS(octet_session_run(session, NULL, good, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "input_names is NULL");
  FAILS(octet_session_run(session, x_name, NULL, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "inputs is NULL");
  FAILS(octet_session_run(session, x_twice, good, 2, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "named twice");
  FAILS(octet_session_run(session, NULL, NULL, 0, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "input 'x' is not given");
  FAILS(octet_session_run(session, x_name, as_s32, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT,
        "input 'x' is s32[2,4] but the model was compiled for f32[2,4]");
  FAILS(octet_session_run(session, x_name, as_short, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "f32[1,4]");
  FAILS(octet_session_run(session, x_name, as_freed, 1, NULL, NULL, 0), OCTET_INVALID_HANDLE,
        "inputs[0] is not a live tensor handle");
  FAILS(octet_session_run(session, x_name, as_null, 1, NULL, NULL, 0), OCTET_INVALID_ARGUMENT, "inputs[0] is NULL");

  /* Outputs: unknown name, wrong dtype / shape, overlap with the input, NULL arrays. */
  const char* y_name[1] = {"y"};
  const char* y_twice[2] = {"y", "y"};
  octet_tensor* two_none[2] = {NULL, NULL};
  FAILS(octet_session_run(session, x_name, good, 1, bad_name, none, 1), OCTET_INVALID_ARGUMENT,
        "output_names[0] 'nope' is not one of the model's: logits, y");
  FAILS(octet_session_run(session, x_name, good, 1, y_twice, two_none, 2), OCTET_INVALID_ARGUMENT, "named twice");
  FAILS(octet_session_run(session, x_name, good, 1, y_name, NULL, 1), OCTET_INVALID_ARGUMENT, "outputs is NULL");
  FAILS(octet_session_run(session, x_name, good, 1, NULL, none, 1), OCTET_INVALID_ARGUMENT, "output_names is NULL");
  octet_tensor* out_s32[1] = {wrong_dtype};
  FAILS(octet_session_run(session, x_name, good, 1, y_name, out_s32, 1), OCTET_INVALID_ARGUMENT,
        "output buffer 'y' is s32[2,4] but the model was compiled for f32[2,3]");
  octet_tensor* out_short[1] = {wrong_shape};
  FAILS(octet_session_run(session, x_name, good, 1, y_name, out_short, 1), OCTET_INVALID_ARGUMENT, "f32[1,4]");
  octet_tensor* aliasing = NULL;
  OK(octet_tensor_wrap(OCTET_DTYPE_F32, kYDims, 2, x, sizeof x, &aliasing));
  octet_tensor* out_alias[1] = {aliasing};
  FAILS(octet_session_run(session, x_name, good, 1, y_name, out_alias, 1), OCTET_INVALID_ARGUMENT,
        "output buffer 'y' overlaps input 'x'");
  octet_tensor* out_freed[1] = {freed};
  FAILS(octet_session_run(session, x_name, good, 1, y_name, out_freed, 1), OCTET_INVALID_HANDLE,
        "outputs[0] is not a live tensor handle");
  CHECK(none[0] == NULL && two_none[0] == NULL && two_none[1] == NULL); /* no slot changed on failure */

  OK(octet_tensor_free(aliasing));
  OK(octet_session_free(session));
  FAILS(octet_session_free(session), OCTET_INVALID_HANDLE, "not a live session handle");
  FAILS(octet_session_run(session, x_name, good, 1, NULL, NULL, 0), OCTET_INVALID_HANDLE, "already freed");
  FAILS(octet_session_create(compiled, NULL), OCTET_INVALID_ARGUMENT, "'out' is NULL");
  OK(octet_compiled_model_free(compiled));
  FAILS(octet_session_create(compiled, &session), OCTET_INVALID_HANDLE, "not a live compiled model handle");
  OK(octet_tensor_free(input));
  OK(octet_tensor_free(wrong_dtype));
  OK(octet_tensor_free(wrong_shape));
}

static void test_compile_options_hostile(const char* path) {
  octet_compile_options* options = NULL;
  OK(octet_compile_options_create(&options));
  FAILS(octet_compile_options_set_precision(options, (octet_precision)5), OCTET_INVALID_ARGUMENT, "precision 5");
  FAILS(octet_compile_options_set_isa(options, NULL), OCTET_INVALID_ARGUMENT, "isa is NULL");
  FAILS(octet_compile_options_set_threads(options, -1), OCTET_INVALID_ARGUMENT, "threads is -1");
  FAILS(octet_compile_options_set_calibration_method(options, (octet_calibration_method)9), OCTET_INVALID_ARGUMENT,
        "calibration method 9");
  FAILS(octet_compile_options_set_percentile(options, 0.0f), OCTET_INVALID_ARGUMENT, "outside (0, 100]");
  FAILS(octet_compile_options_set_percentile(options, NAN), OCTET_INVALID_ARGUMENT, "outside (0, 100]");
  FAILS(octet_compile_options_set_weight_bits(options, 6), OCTET_INVALID_ARGUMENT, "weight bits 6");
  FAILS(octet_compile_options_set_dim_value(options, "batch", 0), OCTET_INVALID_ARGUMENT, "must be >= 1");
  FAILS(octet_compile_options_set_dim_value(options, NULL, 1), OCTET_INVALID_ARGUMENT, "dim_name is NULL");
  const char* names[1] = {"x"};
  const octet_tensor* forged[1] = {(const octet_tensor*)(uintptr_t)0x40};
  FAILS(octet_compile_options_add_calibration_sample(options, names, forged, 1), OCTET_INVALID_HANDLE, "tensors[0]");
  FAILS(octet_compile_options_add_calibration_sample(options, NULL, forged, 1), OCTET_INVALID_ARGUMENT,
        "input_names is NULL");
  FAILS(octet_compile_options_add_calibration_sample(options, names, forged, 0), OCTET_INVALID_ARGUMENT, "count is 0");

  /* Failures at compile time: an ISA octet does not know, INT8 with no calibration samples. */
  octet_model* model = NULL;
  octet_compiled_model* compiled = NULL;
  OK(octet_model_load(path, &model));
  OK(octet_compile_options_set_isa(options, "sse9"));
  FAILS(octet_compile(model, options, &compiled), OCTET_ENGINE_ERROR, "sse9");
  OK(octet_compile_options_set_isa(options, "auto"));
  OK(octet_compile_options_set_precision(options, OCTET_PRECISION_INT8));
  FAILS(octet_compile(model, options, &compiled), OCTET_ENGINE_ERROR, "calibration samples");
  FAILS(octet_compile(model, (const octet_compile_options*)model, &compiled), OCTET_INVALID_HANDLE,
        "is a model handle, not a compile options handle");
  FAILS(octet_compile(NULL, options, &compiled), OCTET_INVALID_ARGUMENT, "model is NULL");
  CHECK(compiled == NULL);
  OK(octet_model_free(model));
  OK(octet_compile_options_free(options));
  FAILS(octet_compile_options_free(options), OCTET_INVALID_HANDLE, "not a live compile options handle");
}

/* Runs `compiled` on kX; writes y. */
static void run_y(octet_compiled_model* compiled, float* y) {
  octet_session* session = NULL;
  OK(octet_session_create(compiled, &session));
  float x[kBatch * kIn];
  memcpy(x, kX, sizeof x);
  octet_tensor *input = NULL, *output = NULL;
  OK(octet_tensor_wrap(OCTET_DTYPE_F32, kXDims, 2, x, sizeof x, &input));
  OK(octet_tensor_wrap(OCTET_DTYPE_F32, kYDims, 2, y, sizeof(float) * kBatch * kOut, &output));
  const char* input_names[1] = {"x"};
  const char* output_names[1] = {"y"};
  const octet_tensor* inputs[1] = {input};
  OK(octet_session_run(session, input_names, inputs, 1, output_names, &output, 1));
  OK(octet_tensor_free(input));
  OK(octet_tensor_free(output));
  OK(octet_session_free(session));
}

static void test_int8(const char* path, const char* scratch_dir) {
  octet_model* model = NULL;
  octet_compile_options* options = NULL;
  OK(octet_model_load(path, &model));
  OK(octet_compile_options_create(&options));
  OK(octet_compile_options_set_precision(options, OCTET_PRECISION_INT8));
  OK(octet_compile_options_set_dim_value(options, "batch", kBatch));
  OK(octet_compile_options_set_calibration_method(options, OCTET_CALIBRATION_MINMAX));
  /* Samples: the test input and scaled copies. The options keep the data (the handles may go). */
  for (int s = 0; s < 4; ++s) {
    octet_tensor* sample = NULL;
    OK(octet_tensor_create(OCTET_DTYPE_F32, kXDims, 2, &sample));
    float* data = tensor_floats(sample);
    for (int i = 0; i < kBatch * kIn; ++i) data[i] = kX[i] * (1.0f - 0.2f * (float)s);
    const char* names[1] = {"x"};
    const octet_tensor* tensors[1] = {sample};
    OK(octet_compile_options_add_calibration_sample(options, names, tensors, 1));
    OK(octet_tensor_free(sample));
  }
  octet_compiled_model* int8 = compile_fixture(model, options);
  OK(octet_compile_options_free(options));
  OK(octet_model_free(model));
  if (!int8) return;

  float x[kBatch * kIn], logits[kBatch * kOut], y_fp32[kBatch * kOut], y_int8[kBatch * kOut];
  memcpy(x, kX, sizeof x);
  expected_outputs(x, logits, y_fp32);
  run_y(int8, y_int8);
  float peak = 0;
  for (int i = 0; i < kBatch * kOut; ++i) peak = fmaxf(peak, fabsf(y_fp32[i]));
  CHECK(max_abs_diff(y_int8, y_fp32, kBatch * kOut) < 0.05f * peak);

  size_t rows = 0;
  OK(octet_compiled_model_report_count(int8, &rows));
  CHECK(rows > 0);
  octet_layer_report row;
  OK(octet_compiled_model_report_row(int8, 0, &row));
  CHECK(row.tensor && *row.tensor && row.op && row.scale > 0 && row.node && row.note);
  FAILS(octet_compiled_model_report_row(int8, rows, &row), OCTET_INVALID_ARGUMENT, "out of range");

  /* Export as QDQ, reload: INT8 from the QDQ model needs no samples and computes the same. */
  char qdq_path[1024];
  snprintf(qdq_path, sizeof qdq_path, "%s/c_api_tiny.int8.onnx", scratch_dir);
  OK(octet_compiled_model_export_qdq(int8, qdq_path));
  FAILS(octet_compiled_model_export_qdq(int8, NULL), OCTET_INVALID_ARGUMENT, "path is NULL");
  octet_model* qdq = NULL;
  OK(octet_model_load(qdq_path, &qdq));
  OK(octet_compile_options_create(&options));
  OK(octet_compile_options_set_precision(options, OCTET_PRECISION_INT8));
  OK(octet_compile_options_set_dim_value(options, "batch", kBatch));
  octet_compiled_model* reloaded = compile_fixture(qdq, options);
  if (reloaded) {
    float y_reloaded[kBatch * kOut];
    run_y(reloaded, y_reloaded);
    CHECK(max_abs_diff(y_reloaded, y_int8, kBatch * kOut) == 0.0f);
  }
  OK(octet_compiled_model_free(reloaded));
  OK(octet_compile_options_free(options));
  OK(octet_model_free(qdq));
  OK(octet_compiled_model_free(int8));
}

/* Save, load, and the same outputs bit for bit; a damaged file is an engine error. */
static void test_compiled_file(const char* path, const char* scratch_dir) {
  octet_compiled_model* compiled = compile_fp32(path);
  char file[4096];
  snprintf(file, sizeof file, "%s/c_api_tiny.ocm", scratch_dir);
  OK(octet_compiled_model_save(compiled, file));
  octet_compiled_model* loaded = NULL;
  OK(octet_compiled_model_load(file, 1, &loaded));
  float y_compiled[kBatch * kOut], y_loaded[kBatch * kOut];
  run_y(compiled, y_compiled);
  run_y(loaded, y_loaded);
  CHECK(memcmp(y_compiled, y_loaded, sizeof y_loaded) == 0);
  OK(octet_compiled_model_free(loaded));

  FILE* f = fopen(file, "r+b");
  CHECK(f != NULL);
  if (f) {
    fseek(f, 100, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
  }
  FAILS(octet_compiled_model_load(file, 1, &loaded), OCTET_ENGINE_ERROR, "checksum");
  FAILS(octet_compiled_model_load(NULL, 1, &loaded), OCTET_INVALID_ARGUMENT, "path");
  FAILS(octet_compiled_model_load(file, -1, &loaded), OCTET_INVALID_ARGUMENT, "threads");
  FAILS(octet_compiled_model_save(compiled, NULL), OCTET_INVALID_ARGUMENT, "path");
  remove(file);
  OK(octet_compiled_model_free(compiled));
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FIXTURE.onnx SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  test_status_of_success();
  test_tensors();
  test_freed_forged_and_mismatched_handles();
  test_model_queries(argv[1]);
  test_fp32_round_trip(argv[1]);
  test_run_hostile(argv[1]);
  test_compile_options_hostile(argv[1]);
  test_int8(argv[1], argv[2]);
  test_compiled_file(argv[1], argv[2]);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("C API: all checks passed\n");
  return 0;
}
