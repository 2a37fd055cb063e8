// octet: INT8 / FP32 inference for ONNX models on x86 CPUs. The public C++ API.
//
// Thread safety (checked by tests/reliability/test_concurrency.cc, also under ThreadSanitizer):
//  - The static and free functions (Model::load, Model::load_from_buffer,
//    CompiledModel::compile, load_tensor_pb, save_tensor_pb, the dtype/shape helpers) keep
//    no shared mutable state: any number of threads may call them at once (save_tensor_pb
//    to different paths).
//  - Model and CompiledModel are immutable after construction: any number of threads may
//    call their const members at once, e.g. compile one Model, or create_session() on one
//    CompiledModel, from several threads concurrently.
//  - A Session owns its working memory (and its intra-op thread pool when threads > 1):
//    one Session must be used by one thread at a time. Create one Session per thread to run a
//    CompiledModel in parallel; every Session of one CompiledModel gives bit-for-bit the
//    same outputs for the same inputs, however many run at once.
//    A Session keeps what it needs alive: it may outlive the CompiledModel it came from.
//  - A caller's ThreadPoolInterface (SessionOptions::thread_pool) is called only from inside
//    Session::run of the sessions given it; shared by sessions on several threads, its run()
//    is called concurrently (see ThreadPoolInterface).
//  - Tensor is a handle to shared storage with no locking: its copies may be read by many
//    threads at once (Session::run only reads its inputs, so one input Tensor may feed
//    sessions on several threads), but nobody may write the data while others read it.
//  - Every function reports failure by throwing octet::Error; nothing aborts the process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "octet/error.h"  // octet::Error

namespace octet {

// Element types, numbered as ONNX TensorProto.DataType.
enum class DType : int {
  undefined = 0,
  f32 = 1,
  u8 = 2,
  s8 = 3,
  u16 = 4,
  s16 = 5,
  s32 = 6,
  s64 = 7,
  string = 8,
  boolean = 9,
  f16 = 10,
  f64 = 11,
  u32 = 12,
  u64 = 13,
  bf16 = 16,
};

// Bytes per element; 0 for undefined and string (string elements are std::string objects,
// not a flat buffer: see Tensor).
size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "f32", "u8", ...

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[1,3,224,224]"
// Number of elements; throws Error on negative dims or int64 overflow.
int64_t shape_numel(const Shape& s);

// A dense, row-major tensor. Copies share storage (like a shared_ptr); clone() copies data.
// A string tensor (DType::string) holds std::string elements: Tensor(DType::string, shape)
// constructs them empty, data_as<std::string>() reads and writes them, clone() copies them, and
// wrap / share view an array of std::string. Its nbytes() is 0: code that copies tensors as
// bytes must not be given one (the C API and the Python module refuse string tensors).
// Thread safety: like a shared_ptr to non-atomic data; concurrent reads are safe, a write
// (data(), data_as() through a non-const handle) must not race with any other access.
class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-initialised, 64-byte aligned storage (string: empty strings).
  Tensor(DType dtype, Shape shape);
  // A string tensor of `shape` holding `values` (one per element, row-major).
  static Tensor from_strings(Shape shape, std::vector<std::string> values);
  // A view over memory owned by someone else (must outlive every use of the view).
  static Tensor wrap(DType dtype, Shape shape, void* data);
  // A view over memory that `owner` keeps alive (e.g. a mapped file); copies share the owner.
  static Tensor share(DType dtype, Shape shape, void* data, std::shared_ptr<const void> owner);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::undefined; }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T> T* data_as() { return static_cast<T*>(data_); }
  template <class T> const T* data_as() const { return static_cast<const T*>(data_); }

  Tensor clone() const;
  // Same storage, new shape with the same element count.
  Tensor reshaped(Shape shape) const;

 private:
  DType dtype_ = DType::undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

// Reads a serialized onnx.TensorProto (as in ONNX test_data_set_N/input_N.pb).
// name, when given, receives the TensorProto's name.
Tensor load_tensor_pb(const std::string& path, std::string* name = nullptr);
void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

// A graph input or output. Most are tensors; ONNX sequences of tensors and optionals (of a
// tensor or a sequence) are described here too and passed through Session::run_values.
struct TensorInfo {
  std::string name;
  DType dtype = DType::undefined;      // a sequence's or optional's element dtype
  Shape shape;                         // -1 for a dimension not known statically
  std::vector<std::string> dim_names;  // symbolic names ("" when the dim is fixed)
  // A sequence of tensors. On a Model, shape / dim_names are the shape its elements are
  // declared with; on a CompiledModel, element_shapes holds each element's compiled shape (a
  // sequence's count and element shapes are fixed at compile time like every other shape) and
  // shape is [element count].
  bool is_sequence = false;
  std::vector<Shape> element_shapes;
  bool is_optional = false;  // declared optional(...)
  bool is_none = false;      // CompiledModel: an optional compiled empty (run_values gives none)
};

// What Session::run_values takes and returns per graph input or output: a tensor, a sequence
// of tensors (ONNX seq(tensor)), or none (an empty ONNX optional). A tensor converts
// implicitly. Copies share the tensors' storage.
class Value {
 public:
  Value() = default;  // none
  Value(Tensor t) : kind_(Kind::tensor), tensor_(std::move(t)) {}  // NOLINT: implicit on purpose
  static Value sequence(std::vector<Tensor> elements);
  static Value none() { return Value(); }

  bool is_tensor() const { return kind_ == Kind::tensor; }
  bool is_sequence() const { return kind_ == Kind::sequence; }
  bool is_none() const { return kind_ == Kind::none; }
  const Tensor& tensor() const;                // throws Error unless is_tensor()
  const std::vector<Tensor>& elements() const;  // throws Error unless is_sequence()

 private:
  enum class Kind { none, tensor, sequence };
  Kind kind_ = Kind::none;
  Tensor tensor_;
  std::vector<Tensor> elements_;
};

// Read a serialized onnx.SequenceProto (of tensors) or onnx.OptionalProto (of a tensor or a
// sequence of tensors; empty: none), as the ONNX test data of such inputs and outputs holds.
Value load_sequence_pb(const std::string& path, std::string* name = nullptr);
Value load_optional_pb(const std::string& path, std::string* name = nullptr);

namespace detail {
struct Graph;
struct Program;
struct SessionState;
}  // namespace detail

// A loaded, checked ONNX model. Cheap to copy. Immutable: thread-safe to share and read.
class Model {
 public:
  static Model load(const std::string& path);
  // base_dir is where external data files are looked up ("" = no external data allowed).
  static Model load_from_buffer(const void* data, size_t size, const std::string& base_dir = "");

  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  const std::string& path() const;
  std::shared_ptr<const detail::Graph> graph() const { return graph_; }
  explicit Model(std::shared_ptr<const detail::Graph> g) : graph_(std::move(g)) {}

 private:
  std::shared_ptr<const detail::Graph> graph_;
};

enum class Precision { fp32, int8 };

class CompiledModel;

enum class CalibrationMethod { minmax, percentile, entropy, mse };

struct CompileOptions {
  Precision precision = Precision::fp32;
  // "auto", "ref", "avx2", "avx2_fast", "avx512", "avx512_fast", "vnni". "auto" takes the
  // best the CPU has, capped by the environment variable OCTET_MAX_ISA when set. An ISA the
  // CPU lacks is an Error.
  std::string isa = "auto";
  int threads = 0;  // intra-op threads; 0 = one per core
  // Values for symbolic dimensions (e.g. {"batch", 1}). Unbound symbolic dims are 1.
  std::map<std::string, int64_t> dim_values;
  // Graph inputs frozen to these values at compile time (they fold into constants).
  std::map<std::string, Tensor> constant_inputs;
  // Sequence graph inputs (ONNX seq(tensor)): each element's shape. octet fixes every shape at
  // compile time, a sequence's length and element shapes too; runs must pass exactly these.
  std::map<std::string, std::vector<Shape>> sequence_shapes;
  // Optional graph inputs (ONNX optional(T)) compiled empty (None): optionals are resolved at
  // compile time too, so runs pass Value::none() for these (or leave them out). An optional
  // input not named here holds an element: a tensor, or a sequence bound by sequence_shapes.
  std::vector<std::string> empty_optional_inputs;
  // Refuse models whose initializers plus planned working memory exceed this.
  uint64_t max_memory_bytes = uint64_t(16) << 30;
  bool optimize = true;  // graph passes (folding, fusion); off = run the graph as written

  // INT8 post-training quantization (precision == int8 on an FP32 model).
  CalibrationMethod calibration_method = CalibrationMethod::minmax;
  float percentile = 99.99f;
  // Bits of the symmetric per-channel weights: 8 ([-127, 127], the default) or 7 ([-63, 63]).
  // With 7, the u8 x s8 pairs that vpmaddubsw adds in 16 bits can never saturate, so the
  // avx2 / avx512 levels run the GEMMs on that instruction and stay exact: the same integers
  // on every ISA, at some cost in accuracy (measure it with bench_int8 --weight-bits=7).
  int weight_bits = 8;
  // Each element is one sample: graph input name -> tensor.
  std::vector<std::map<std::string, Tensor>> calibration_data;
  // Accuracy-aware mode (when `evaluate` is set): evaluate scores a compiled model on the
  // caller's validation set (e.g. top-1 in percent). While score(FP32) - score(INT8) exceeds
  // accuracy_budget_points, the quantized layer with the lowest SQNR falls back to FP32 and
  // the model is rebuilt; quantization_report() lists the fallbacks and why.
  double accuracy_budget_points = 0.5;
  std::function<double(const CompiledModel&)> evaluate;
};

class Session;

// One row of an INT8 model's quantization report.
struct LayerError {
  std::string tensor;  // the quantized activation (its FP32 name)
  std::string op;      // op type of its producer
  float scale = 0;     // u8 quantization parameters chosen by calibration
  int32_t zero_point = 0;
  // Signal-to-quantization-noise ratio (dB) of the INT8 tensor, dequantized, against the
  // FP32 tensor, over the calibration samples. NaN when not measured.
  double sqnr_db = 0;
  std::string node;            // name of its producer node ("" for a graph input)
  bool fp32_fallback = false;  // accuracy-aware mode moved this layer back to FP32...
  std::string note;            // ...and why
};

// A caller-supplied executor for a Session's intra-op parallel work (SessionOptions::
// thread_pool), e.g. an adapter over the application's own pool, so that octet starts no
// threads of its own. Contract:
//  - size() is how many tasks may run at once (>= 1, the thread calling run() included); it
//    must not change while a Session uses the pool. The work split depends only on the work
//    and size(), so outputs are bit-for-bit those of octet's own pool of the same size.
//  - run(tasks, fn), with 2 <= tasks <= size(), is called on the thread inside Session::run;
//    it must call fn(t) exactly once for each t in [0, tasks), on any threads (the calling
//    one too), and return only after every call has returned. The tasks are independent:
//    running them one after another on one thread is correct, only slower. fn never throws:
//    an exception inside a task is rethrown by Session::run after run() returns; an executor
//    that skips or repeats a task makes Session::run throw Error.
//  - Several Sessions (on several threads) may share one pool: run() must then be safe to
//    call concurrently. octet never calls run() re-entrantly from inside fn.
class ThreadPoolInterface {
 public:
  virtual ~ThreadPoolInterface() = default;
  virtual int size() const = 0;
  virtual void run(int tasks, const std::function<void(int task)>& fn) = 0;
};

// Per-session execution settings (CompiledModel::create_session).
struct SessionOptions {
  // Intra-op threads of octet's own pool: 0 = CompileOptions::threads; 1 = everything on the
  // thread calling Session::run (no threads started). Ignored when thread_pool is set.
  int threads = 0;
  // How long (microseconds, 0..1000000) octet's pool threads busy-wait for the next parallel
  // step, and the calling thread for the others to finish one, before sleeping. Spinning
  // saves a wake-up (tens of microseconds) per step at the cost of CPU time other work could
  // use. 0 = sleep at once: an idle Session uses no CPU.
  int spin_us = 0;
  // The caller's executor instead of octet's pool (threads and spin_us then do not apply).
  // Shared: the Session keeps it alive.
  std::shared_ptr<ThreadPoolInterface> thread_pool;
};

// A model specialised for shapes, precision and ISA, with packed weights. Immutable,
// shareable across threads: every member is const and may be called from many threads at
// once (create_session() included). Cheap to copy.
class CompiledModel {
 public:
  static CompiledModel compile(const Model& model, const CompileOptions& options = {});
  // A compiled-model file (save): the program, memory plan, quantization parameters and packed
  // weights. load maps it read-only and runs the packed weights in place, so processes loading
  // one file share its pages; it gives bit-identical outputs to the model it was saved from.
  // The file is tagged with its ISA level: one this CPU lacks (or above OCTET_MAX_ISA), a
  // damaged or truncated file, another format version, or a file whose graph, kernel choices
  // or memory plan differ from what this build derives is refused with an Error.
  // threads: intra-op threads of its sessions (0 = one per core). export_qdq is not available
  // on a loaded model (the file holds the packed program, not the QDQ graph).
  static CompiledModel load(const std::string& path, int threads = 0);
  // The same from bytes in memory (copied: the weights are then private to this process).
  static CompiledModel load_from_buffer(const void* data, size_t size, int threads = 0);
  void save(const std::string& path) const;

  Session create_session() const;  // default SessionOptions
  Session create_session(const SessionOptions& options) const;
  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  size_t arena_bytes() const;    // peak working memory of one session (liveness plan)
  size_t weights_bytes() const;  // constants and packed weights
  std::string isa() const;       // the ISA level the kernels were chosen for
  // One line per node: name, op, output shape, chosen kernel.
  std::string describe() const;
  // INT8 models: writes the quantized graph as a QDQ ONNX file (octet's on-disk INT8 format,
  // which ONNX Runtime runs with the identical quantization). Throws Error for FP32 models.
  void export_qdq(const std::string& path) const;
  // INT8 models quantized by octet: per-tensor SQNR against FP32 (empty otherwise).
  std::vector<LayerError> quantization_report() const;

  explicit CompiledModel(std::shared_ptr<const detail::Program> p) : program_(std::move(p)) {}
  std::shared_ptr<const detail::Program> program() const { return program_; }

 private:
  std::shared_ptr<const detail::Program> program_;
};

// Per-node timing collected by Session::run when profiling is on.
struct NodeProfile {
  std::string node, op, kernel;
  double total_ms = 0;
  int64_t calls = 0;
};

// The working state of one inference stream. NOT thread-safe: use one Session from one
// thread at a time (moving it to another thread between calls is fine); run many Sessions of
// one CompiledModel in parallel for concurrency. Sessions share nothing mutable.
class Session {
 public:
  // Inputs by graph input name; returns every graph output by name. Shapes and dtypes must
  // match the compiled ones exactly. Inputs are only read; the outputs are new tensors owned
  // by the caller (a later run does not overwrite them).
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);
  // Like run, but the outputs named in `outputs` are written into the caller's tensors (e.g.
  // Tensor::wrap of its own buffers): each must have the compiled dtype and shape and must not
  // overlap an input. The producing kernel writes into them directly where it can (otherwise
  // the result is copied in). Outputs not named are computed and dropped.
  void run_into(const std::map<std::string, Tensor>& inputs, const std::map<std::string, Tensor>& outputs);
  // Like run, for models with sequence or optional inputs or outputs (run and run_into take
  // tensors only and refuse them). Sequences must have the compiled element count, dtype and
  // shapes; optionals compiled empty take none (or are left out); every output is returned,
  // an optional compiled empty as none. Tensors work as in run.
  std::map<std::string, Value> run_values(const std::map<std::string, Value>& inputs);

  void enable_profiling(bool on);
  std::vector<NodeProfile> profile() const;  // sorted by total time, largest first
  // How the session runs parallel work, e.g. "threads 2 (octet pool, spin 0 us)".
  std::string threading() const;

  explicit Session(std::shared_ptr<detail::SessionState> s);
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

 private:
  std::shared_ptr<detail::SessionState> state_;
};

}  // namespace octet
