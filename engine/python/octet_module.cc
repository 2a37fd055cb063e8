// octet._octet: the Python binding of the C++ API (octet/octet.h). The user-facing classes
// (InferenceSession, NodeArg, quantize) are Python, in octet/__init__.py; this module gives
// them models, compiled models that run on a pool of sessions, and zero-copy tensors.
//
// Arrays: an input array whose dtype matches and which is C-contiguous is read in place (no
// copy); every output array is a view of the tensor the engine allocated for it (no copy),
// kept alive by the array. The GIL is released while the engine runs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "octet/octet.h"

namespace py = pybind11;

namespace octet::python {
namespace {

// ------------------------------------------------------------------ dtypes

// numpy's dtype object for t. Made once per dtype and kept: parsing a dtype name costs
// microseconds on every output otherwise, more right after a large model has run (cold caches).
const py::dtype& numpy_dtype(DType t) {
  static const auto* table = [] {
    auto* m = new std::map<DType, py::dtype>();  // never destroyed: the interpreter may be gone by then
    const std::pair<DType, const char*> names[] = {
        {DType::f32, "float32"}, {DType::f64, "float64"}, {DType::f16, "float16"}, {DType::u8, "uint8"},
        {DType::s8, "int8"},     {DType::u16, "uint16"},  {DType::s16, "int16"},   {DType::u32, "uint32"},
        {DType::s32, "int32"},   {DType::u64, "uint64"},  {DType::s64, "int64"},   {DType::boolean, "bool"}};
    for (const auto& [dtype, name] : names) m->emplace(dtype, py::dtype(name));
    return m;
  }();
  auto it = table->find(t);
  if (it == table->end())
    throw Error(std::string("octet tensors of dtype ") + dtype_name(t) + " have no numpy equivalent");
  return it->second;
}

// The octet dtype of a numpy dtype in native byte order; undefined when there is none.
DType octet_dtype(const py::dtype& d) {
  if (d.byteorder() == '>') return DType::undefined;  // big-endian: the engine reads native order
  const auto size = d.itemsize();
  switch (d.kind()) {
    case 'f': return size == 4 ? DType::f32 : size == 8 ? DType::f64 : size == 2 ? DType::f16 : DType::undefined;
    case 'u':
      return size == 1 ? DType::u8 : size == 2 ? DType::u16 : size == 4 ? DType::u32 : size == 8 ? DType::u64
                                                                                             : DType::undefined;
    case 'i':
      return size == 1 ? DType::s8 : size == 2 ? DType::s16 : size == 4 ? DType::s32 : size == 8 ? DType::s64
                                                                                             : DType::undefined;
    case 'b': return size == 1 ? DType::boolean : DType::undefined;
    default: return DType::undefined;
  }
}

// ------------------------------------------------------------------ tensors <-> arrays

// A view of t's storage; the array owns a handle to it, so the data lives as long as the array.
py::array to_numpy(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  auto* keep = new Tensor(t);
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(numpy_dtype(t.dtype()), shape, {}, keep->data(), owner);
}

// An input array as the engine reads it: C-contiguous in the expected dtype. Arrays that
// already are (the usual case) are used in place; `holder` keeps each array alive.
Tensor input_tensor(const std::string& name, const py::handle& value, DType expected, std::vector<py::object>& holder) {
  // A C-contiguous ndarray (the usual feed) is taken as it is; anything else goes through
  // numpy's conversion, which costs more (and copies where the layout needs it).
  py::array array = py::isinstance<py::array>(value) &&
                            (py::reinterpret_borrow<py::array>(value).flags() & py::array::c_style)
                        ? py::reinterpret_borrow<py::array>(value)
                        : py::array::ensure(value, py::array::c_style);
  if (!array) {
    PyErr_Clear();
    throw Error("input '" + name + "' is not convertible to a numpy array");
  }
  const DType got = octet_dtype(array.dtype());
  if (got != expected)
    throw Error("input '" + name + "' has numpy dtype " + std::string(py::str(array.dtype())) +
                " but the model expects " + dtype_name(expected) + " (numpy " +
                py::cast<std::string>(numpy_dtype(expected).attr("name")) + ")");
  Shape shape(array.shape(), array.shape() + array.ndim());
  // Kernels never write their inputs (octet.h), so a read-only array may be wrapped.
  Tensor t = Tensor::wrap(got, std::move(shape), const_cast<void*>(array.data()));
  holder.push_back(std::move(array));
  return t;
}

// A feed dict's key as a name: a str, else whatever str() makes of it.
std::string feed_name(const py::handle& key) {
  return py::isinstance<py::str>(key) ? key.cast<std::string>() : py::cast<std::string>(py::str(key));
}

const TensorInfo* find_info(const std::vector<TensorInfo>& infos, const std::string& name) {
  for (const TensorInfo& i : infos)
    if (i.name == name) return &i;
  return nullptr;
}

std::string list_names(const std::vector<TensorInfo>& infos) {
  std::string s;
  for (const TensorInfo& i : infos) s += (s.empty() ? "'" : ", '") + i.name + "'";
  return s;
}

// A feed dict (input name -> array) as the engine's inputs, each array read in place
// (input_tensor); `holder` keeps them alive. `what` prefixes the errors ("" for a run).
std::map<std::string, Tensor> wrap_feeds(const py::dict& feeds, const std::vector<TensorInfo>& inputs,
                                         std::vector<py::object>& holder, const std::string& what = "") {
  std::map<std::string, Tensor> wrapped;
  for (const auto& item : feeds) {
    const std::string name = feed_name(item.first);
    const TensorInfo* info = find_info(inputs, name);
    if (!info) throw Error(what + "'" + name + "' is not an input of the model (inputs: " + list_names(inputs) + ")");
    wrapped[name] = input_tensor(name, item.second, info->dtype, holder);
  }
  return wrapped;
}

// ------------------------------------------------------------------ compiled model + sessions

// How long this thread's last Session::run took inside SessionPool::run (microseconds):
// bench/python_overhead.py subtracts it from the Python call's own time, which gives what the
// binding adds to that very call, free of the run-to-run noise of the model itself.
thread_local double last_engine_run_us = 0;

// A compiled model and the sessions that run it. A Session serves one thread at a time, so
// each run takes an idle session (or makes one) and gives it back: any number of Python
// threads may call run at once, as with onnxruntime.InferenceSession.
class SessionPool {
 public:
  explicit SessionPool(CompiledModel model)
      : model_(std::move(model)), inputs_(model_.inputs()), outputs_(model_.outputs()) {}

  // Runs the feeds (name -> array) and returns the outputs named in `names` (every output, in
  // model order, when names is None), as arrays.
  py::list run(const py::object& names, const py::dict& feeds) {
    std::vector<py::object> holder;  // keeps converted arrays alive while the GIL is released
    const std::map<std::string, Tensor> inputs = wrap_feeds(feeds, inputs_, holder);
    std::vector<std::string> wanted;
    if (!names.is_none()) {
      for (const py::handle& n : names) {
        std::string name = py::cast<std::string>(n);
        if (!find_info(outputs_, name))
          throw Error("'" + name + "' is not an output of the model (outputs: " + list_names(outputs_) + ")");
        wanted.push_back(std::move(name));
      }
    }
    std::map<std::string, Tensor> outputs;
    {
      py::gil_scoped_release unlocked;
      std::unique_ptr<Session> session = take();
      try {
        const auto t0 = std::chrono::steady_clock::now();
        outputs = session->run(inputs);
        last_engine_run_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      } catch (...) {
        give_back(std::move(session));
        throw;
      }
      give_back(std::move(session));
    }
    py::list result;
    if (names.is_none()) {
      for (const TensorInfo& o : outputs_) result.append(to_numpy(outputs.at(o.name)));
    } else {
      for (const std::string& name : wanted) result.append(to_numpy(outputs.at(name)));
    }
    return result;
  }

  // The C++ API's own per-call time over `calls` runs of these feeds on one session, in
  // microseconds: the baseline that bench/python_overhead.py compares run() against.
  std::vector<double> time_cpp_run(const py::dict& feeds, int calls) {
    std::vector<py::object> holder;
    const std::map<std::string, Tensor> inputs = wrap_feeds(feeds, inputs_, holder);
    std::vector<double> us;
    us.reserve(static_cast<size_t>(std::max(calls, 0)));
    py::gil_scoped_release unlocked;
    std::unique_ptr<Session> session = take();
    for (int i = 0; i < calls; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      std::map<std::string, Tensor> out = session->run(inputs);
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    give_back(std::move(session));
    return us;
  }

  // In a child after fork: the parent's sessions may own pool threads that do not exist here,
  // and the lock may have been held by a thread that does not exist here either. Those
  // sessions are dropped without being destroyed (destroying would join the missing threads);
  // new ones are made on demand.
  void forget_sessions_after_fork() {
    new (&mutex_) std::mutex();
    for (auto& s : idle_) (void)s.release();
    idle_.clear();
  }

  const CompiledModel& model() const { return model_; }
  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }

 private:
  std::unique_ptr<Session> take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<Session> s = std::move(idle_.back());
        idle_.pop_back();
        return s;
      }
    }
    return std::make_unique<Session>(model_.create_session());
  }
  void give_back(std::unique_ptr<Session> s) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(s));
  }

  CompiledModel model_;
  std::vector<TensorInfo> inputs_, outputs_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Session>> idle_;
};

// ------------------------------------------------------------------ options

CalibrationMethod calibration_method(const std::string& name) {
  if (name == "minmax") return CalibrationMethod::minmax;
  if (name == "percentile") return CalibrationMethod::percentile;
  if (name == "entropy") return CalibrationMethod::entropy;
  if (name == "mse") return CalibrationMethod::mse;
  throw Error("calibration method '" + name + "' is not one of minmax, percentile, entropy, mse");
}

// Compiles `model`. The keyword arguments are InferenceSession's (octet/__init__.py checks them).
std::shared_ptr<SessionPool> compile(const Model& model, const std::string& precision, const std::string& isa,
                                     int threads, const std::map<std::string, int64_t>& dim_values,
                                     const py::list& calibration, const std::string& method, float percentile,
                                     int weight_bits, bool optimize) {
  CompileOptions o;
  if (precision == "fp32") o.precision = Precision::fp32;
  else if (precision == "int8") o.precision = Precision::int8;
  else throw Error("precision '" + precision + "' is not fp32 or int8");
  o.isa = isa;
  o.threads = threads;
  o.dim_values = dim_values;
  o.calibration_method = calibration_method(method);
  o.percentile = percentile;
  o.weight_bits = weight_bits;
  o.optimize = optimize;
  const std::vector<TensorInfo> inputs = model.inputs();
  std::vector<py::object> holder;
  for (const py::handle& sample : calibration) {
    if (!py::isinstance<py::dict>(sample)) throw Error("each calibration sample must be a dict of input name -> array");
    std::map<std::string, Tensor> wrapped =
        wrap_feeds(py::reinterpret_borrow<py::dict>(sample), inputs, holder, "calibration sample: ");
    // Copies: the compile runs with the GIL released, while other threads may write these arrays.
    for (auto& kv : wrapped) kv.second = kv.second.clone();
    o.calibration_data.push_back(std::move(wrapped));
  }
  CompiledModel compiled = [&] {
    py::gil_scoped_release unlocked;
    return CompiledModel::compile(model, o);
  }();
  return std::make_shared<SessionPool>(std::move(compiled));
}

py::dict tensor_info(const TensorInfo& i) {
  py::dict d;
  d["name"] = i.name;
  d["dtype"] = dtype_name(i.dtype);
  d["shape"] = i.shape;
  d["dim_names"] = i.dim_names;
  return d;
}

py::list tensor_infos(const std::vector<TensorInfo>& infos) {
  py::list l;
  for (const TensorInfo& i : infos) l.append(tensor_info(i));
  return l;
}

}  // namespace
}  // namespace octet::python

PYBIND11_MODULE(_octet, m) {
  using namespace octet;
  using namespace octet::python;
  m.doc() = "octet's C++ API, bound for the octet Python package (use octet.InferenceSession)";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  m.def("last_engine_run_us", [] { return last_engine_run_us; },
        "Microseconds this thread's last run spent in Session::run (for bench/python_overhead.py)");

  py::class_<Model>(m, "Model")
      .def_static("load", &Model::load, py::arg("path"), py::call_guard<py::gil_scoped_release>())
      .def_static(
          "load_from_bytes",
          [](const py::bytes& data, const std::string& base_dir) {
            const std::string_view bytes = data;
            py::gil_scoped_release unlocked;
            return Model::load_from_buffer(bytes.data(), bytes.size(), base_dir);
          },
          py::arg("data"), py::arg("base_dir") = "")
      .def("inputs", [](const Model& model) { return tensor_infos(model.inputs()); })
      .def("outputs", [](const Model& model) { return tensor_infos(model.outputs()); });

  py::class_<SessionPool, std::shared_ptr<SessionPool>>(m, "CompiledModel")
      .def_static("compile", &compile, py::arg("model"), py::arg("precision"), py::arg("isa"), py::arg("threads"),
                  py::arg("dim_values"), py::arg("calibration"), py::arg("calibration_method"),
                  py::arg("percentile"), py::arg("weight_bits"), py::arg("optimize"))
      .def_static(
          "load",
          [](const std::string& path, int threads) {
            CompiledModel compiled = [&] {
              py::gil_scoped_release unlocked;
              return CompiledModel::load(path, threads);
            }();
            return std::make_shared<SessionPool>(std::move(compiled));
          },
          py::arg("path"), py::arg("threads"))
      .def("save", [](const SessionPool& p, const std::string& path) { p.model().save(path); }, py::arg("path"),
           py::call_guard<py::gil_scoped_release>())
      .def("run", &SessionPool::run, py::arg("output_names"), py::arg("feeds"))
      .def("time_cpp_run", &SessionPool::time_cpp_run, py::arg("feeds"), py::arg("calls"))
      .def("forget_sessions_after_fork", &SessionPool::forget_sessions_after_fork)
      .def("inputs", [](const SessionPool& p) { return tensor_infos(p.inputs()); })
      .def("outputs", [](const SessionPool& p) { return tensor_infos(p.outputs()); })
      .def("isa", [](const SessionPool& p) { return p.model().isa(); })
      .def("describe", [](const SessionPool& p) { return p.model().describe(); })
      .def("arena_bytes", [](const SessionPool& p) { return p.model().arena_bytes(); })
      .def("weights_bytes", [](const SessionPool& p) { return p.model().weights_bytes(); })
      .def("export_qdq", [](const SessionPool& p, const std::string& path) { p.model().export_qdq(path); },
           py::arg("path"))
      .def("quantization_report", [](const SessionPool& p) {
        py::list rows;
        for (const LayerError& e : p.model().quantization_report()) {
          py::dict row;
          row["tensor"] = e.tensor;
          row["op"] = e.op;
          row["node"] = e.node;
          row["scale"] = e.scale;
          row["zero_point"] = e.zero_point;
          row["sqnr_db"] = e.sqnr_db;
          row["fp32_fallback"] = e.fp32_fallback;
          row["note"] = e.note;
          rows.append(row);
        }
        return rows;
      });
}
