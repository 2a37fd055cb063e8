// The C API's entry points (octet/octet_c.h). Each one checks its arguments, runs in
// c_guard() so that no exception crosses into C, and reaches objects only through live handles.
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/c/c_objects.h"
#include "octet/octet_c.h"

using namespace octet;
using namespace octet::capi;

namespace {

void require_string(const char* s, const std::string& name) {
  if (!s) invalid_argument(name + " is NULL");
}

// The int a C caller passed for an enum. C lets any int through an enum parameter, but in C++
// reading an enum outside its enumerators' range is undefined (UBSan's -fsanitize=enum stops
// there), so entry points read such a parameter's bytes, once, before any other use.
template <class Enum>
int c_enum_value(const Enum& e) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized");
  int value;
  std::memcpy(&value, &e, sizeof value);
  return value;
}

DType checked_dtype(int dtype) {
  const auto t = static_cast<DType>(dtype);
  switch (t) {
    case DType::f32: case DType::u8: case DType::s8: case DType::u16: case DType::s16: case DType::s32:
    case DType::s64: case DType::boolean: case DType::f16: case DType::f64: case DType::u32: case DType::u64:
    case DType::bf16:
      return t;
    case DType::string:
      invalid_argument("string tensors are not supported");
    case DType::undefined:
      break;
  }
  invalid_argument("dtype " + std::to_string(dtype) + " is not a tensor element type");
}

Shape checked_shape(const int64_t* dims, size_t rank) {
  if (rank > 0 && !dims) invalid_argument("dims is NULL for rank " + std::to_string(rank));
  Shape shape(dims, dims + rank);
  for (size_t d = 0; d < rank; ++d)
    if (shape[d] < 0) invalid_argument("dims[" + std::to_string(d) + "] is " + std::to_string(shape[d]) + ": dims must be >= 0");
  return shape;
}

// The bytes of a dtype x shape tensor; an error when they do not fit in a size_t (nor the
// element count in an int64_t, which octet::Tensor uses).
size_t checked_byte_size(DType dtype, const Shape& shape) {
  const uint64_t limit = std::min<uint64_t>(std::numeric_limits<size_t>::max(), std::numeric_limits<int64_t>::max());
  uint64_t bytes = dtype_size(dtype);
  for (int64_t d : shape) {
    if (d != 0 && bytes > limit / static_cast<uint64_t>(d))
      invalid_argument("shape " + shape_str(shape) + " of " + dtype_name(dtype) + " overflows the address space");
    bytes *= static_cast<uint64_t>(d);
  }
  return static_cast<size_t>(bytes);
}

// The C API passes tensors as flat bytes; a model with string inputs or outputs (std::string
// elements) is refused when loaded.
Model without_string_io(Model m) {
  for (const auto& list : {m.inputs(), m.outputs()})
    for (const TensorInfo& i : list)
      if (i.dtype == DType::string)
        invalid_argument("'" + i.name + "' is a string tensor: the C API does not support string tensors (use the C++ API)");
  return m;
}

std::string describe(const Tensor& t) { return std::string(dtype_name(t.dtype())) + shape_str(t.shape()); }
std::string describe(const TensorInfo& i) { return std::string(dtype_name(i.dtype)) + shape_str(i.shape); }

// A caller tensor fed as (or written as) the graph value `info` must match it exactly.
void require_matches(const Tensor& t, const TensorInfo& info, const char* role) {
  if (t.dtype() != info.dtype || t.shape() != info.shape)
    invalid_argument(std::string(role) + " '" + info.name + "' is " + describe(t) + " but the model was compiled for " +
                     describe(info));
}

bool overlaps(const Tensor& a, const Tensor& b) {
  const auto* pa = static_cast<const char*>(a.data());
  const auto* pb = static_cast<const char*>(b.data());
  return a.nbytes() > 0 && b.nbytes() > 0 && pa < pb + b.nbytes() && pb < pa + a.nbytes();
}

// A graph input or output name from a caller array, checked: not NULL, known, not repeated.
const TensorInfo& checked_io_name(const char* const* names, size_t i, const IoTable& table, const char* array,
                                  std::set<std::string>& seen) {
  const std::string slot = std::string(array) + "[" + std::to_string(i) + "]";
  require_string(names[i], slot);
  const TensorInfo* info = table.find(names[i]);
  if (!info) invalid_argument(slot + " '" + names[i] + "' is not one of the model's: " + table.names());
  if (!seen.insert(info->name).second) invalid_argument(slot + " '" + names[i] + "' is named twice");
  return *info;
}

}  // namespace

// The definitions below take C linkage from their declarations in octet_c.h.

// ---- status -----------------------------------------------------------------------------

octet_code octet_status_code(const octet_status* status) { return status ? status->code : OCTET_OK; }
const char* octet_status_message(const octet_status* status) { return status ? status->message.c_str() : ""; }
void octet_status_free(octet_status* status) {
  if (!is_static_status(status)) delete status;
}

// ---- tensors ----------------------------------------------------------------------------

octet_status* octet_tensor_create(octet_dtype dtype, const int64_t* dims, size_t rank, octet_tensor** out) {
  return c_guard(__func__, [&] {
    require_out(out, "out");
    const DType t = checked_dtype(c_enum_value(dtype));
    Shape shape = checked_shape(dims, rank);
    checked_byte_size(t, shape);
    *out = issue<octet_tensor>(std::make_shared<TensorObject>(TensorObject{Tensor(t, std::move(shape))}));
  });
}

octet_status* octet_tensor_wrap(octet_dtype dtype, const int64_t* dims, size_t rank, void* data, size_t byte_size,
                                octet_tensor** out) {
  return c_guard(__func__, [&] {
    require_out(out, "out");
    const DType t = checked_dtype(c_enum_value(dtype));
    Shape shape = checked_shape(dims, rank);
    const size_t needed = checked_byte_size(t, shape);
    if (byte_size < needed)
      invalid_argument("buffer of " + std::to_string(byte_size) + " bytes is shorter than the " + std::to_string(needed) +
                       " bytes of " + dtype_name(t) + shape_str(shape));
    if (needed > 0 && !data) invalid_argument("data is NULL");
    if (reinterpret_cast<uintptr_t>(data) % dtype_size(t) != 0)
      invalid_argument(std::string("data is not aligned to the ") + std::to_string(dtype_size(t)) + " bytes of a " +
                       dtype_name(t));
    *out = issue<octet_tensor>(std::make_shared<TensorObject>(TensorObject{Tensor::wrap(t, std::move(shape), data)}));
  });
}

octet_status* octet_tensor_free(octet_tensor* tensor) {
  return c_guard(__func__, [&] { release(tensor, "tensor"); });
}

octet_status* octet_tensor_dtype(const octet_tensor* tensor, octet_dtype* out) {
  return c_guard(__func__, [&] {
    auto t = lookup(tensor, "tensor");
    require_out(out, "out");
    *out = static_cast<octet_dtype>(t->tensor.dtype());
  });
}

octet_status* octet_tensor_shape(const octet_tensor* tensor, size_t* rank, const int64_t** dims) {
  return c_guard(__func__, [&] {
    auto t = lookup(tensor, "tensor");
    require_out(rank, "rank");
    require_out(dims, "dims");
    *rank = t->tensor.rank();
    *dims = t->tensor.shape().empty() ? nullptr : t->tensor.shape().data();
  });
}

octet_status* octet_tensor_data(octet_tensor* tensor, void** data) {
  return c_guard(__func__, [&] {
    auto t = lookup(tensor, "tensor");
    require_out(data, "data");
    *data = t->tensor.data();
  });
}

octet_status* octet_tensor_byte_size(const octet_tensor* tensor, size_t* out) {
  return c_guard(__func__, [&] {
    auto t = lookup(tensor, "tensor");
    require_out(out, "out");
    *out = t->tensor.nbytes();
  });
}

// ---- models -----------------------------------------------------------------------------

octet_status* octet_model_load(const char* path, octet_model** out) {
  return c_guard(__func__, [&] {
    require_string(path, "path");
    require_out(out, "out");
    *out = issue<octet_model>(std::make_shared<ModelObject>(without_string_io(Model::load(path))));
  });
}

octet_status* octet_model_load_from_buffer(const void* data, size_t size, const char* base_dir, octet_model** out) {
  return c_guard(__func__, [&] {
    if (!data) invalid_argument("data is NULL");
    require_out(out, "out");
    *out = issue<octet_model>(std::make_shared<ModelObject>(without_string_io(Model::load_from_buffer(data, size, base_dir ? base_dir : ""))));
  });
}

octet_status* octet_model_free(octet_model* model) {
  return c_guard(__func__, [&] { release(model, "model"); });
}

namespace {

// The inputs or outputs table of a model or compiled model; `kind` is the caller's raw enum.
template <class Object>
const IoTable& io_table(const Object& object, int kind) {
  if (kind != OCTET_INPUTS && kind != OCTET_OUTPUTS)
    invalid_argument("kind " + std::to_string(kind) + " is neither OCTET_INPUTS nor OCTET_OUTPUTS");
  return kind == OCTET_INPUTS ? object.inputs : object.outputs;
}

template <class Handle>
octet_status* io_count(const char* entry, const Handle* handle, int kind, size_t* count) {
  return c_guard(entry, [&] {
    auto object = lookup(handle, handle_kind_name(HandleTraits<Handle>::kind));
    require_out(count, "count");
    *count = io_table(*object, kind).size();
  });
}

template <class Handle>
octet_status* io_info(const char* entry, const Handle* handle, int kind, size_t index, octet_value_info* out) {
  return c_guard(entry, [&] {
    auto object = lookup(handle, handle_kind_name(HandleTraits<Handle>::kind));
    require_out(out, "out");
    *out = io_table(*object, kind).c_info(index);
  });
}

}  // namespace

octet_status* octet_model_io_count(const octet_model* model, octet_io_kind kind, size_t* count) {
  return io_count(__func__, model, c_enum_value(kind), count);
}
octet_status* octet_model_io_info(const octet_model* model, octet_io_kind kind, size_t index, octet_value_info* out) {
  return io_info(__func__, model, c_enum_value(kind), index, out);
}

// ---- compile options --------------------------------------------------------------------

namespace {

// Runs edit(options) under the options' lock.
template <class Edit>
octet_status* edit_options(const char* entry, octet_compile_options* handle, Edit&& edit) {
  return c_guard(entry, [&] {
    auto object = lookup(handle, "options");
    std::lock_guard<std::mutex> lock(object->mutex);
    edit(object->options);
  });
}

}  // namespace

octet_status* octet_compile_options_create(octet_compile_options** out) {
  return c_guard(__func__, [&] {
    require_out(out, "out");
    *out = issue<octet_compile_options>(std::make_shared<CompileOptionsObject>());
  });
}

octet_status* octet_compile_options_free(octet_compile_options* options) {
  return c_guard(__func__, [&] { release(options, "options"); });
}

octet_status* octet_compile_options_set_precision(octet_compile_options* options, octet_precision precision_enum) {
  const int precision = c_enum_value(precision_enum);
  return edit_options(__func__, options, [&](CompileOptions& o) {
    if (precision != OCTET_PRECISION_FP32 && precision != OCTET_PRECISION_INT8)
      invalid_argument("precision " + std::to_string(precision) + " is neither FP32 nor INT8");
    o.precision = precision == OCTET_PRECISION_INT8 ? Precision::int8 : Precision::fp32;
  });
}

octet_status* octet_compile_options_set_isa(octet_compile_options* options, const char* isa) {
  return edit_options(__func__, options, [&](CompileOptions& o) {
    require_string(isa, "isa");
    o.isa = isa;
  });
}

octet_status* octet_compile_options_set_threads(octet_compile_options* options, int threads) {
  return edit_options(__func__, options, [&](CompileOptions& o) {
    if (threads < 0) invalid_argument("threads is " + std::to_string(threads) + ": must be >= 0");
    o.threads = threads;
  });
}

octet_status* octet_compile_options_set_calibration_method(octet_compile_options* options,
                                                           octet_calibration_method method_enum) {
  const int method = c_enum_value(method_enum);
  return edit_options(__func__, options, [&](CompileOptions& o) {
    switch (method) {
      case OCTET_CALIBRATION_MINMAX: o.calibration_method = CalibrationMethod::minmax; return;
      case OCTET_CALIBRATION_PERCENTILE: o.calibration_method = CalibrationMethod::percentile; return;
      case OCTET_CALIBRATION_ENTROPY: o.calibration_method = CalibrationMethod::entropy; return;
      case OCTET_CALIBRATION_MSE: o.calibration_method = CalibrationMethod::mse; return;
    }
    invalid_argument("calibration method " + std::to_string(method) + " is unknown");
  });
}

octet_status* octet_compile_options_set_percentile(octet_compile_options* options, float percentile) {
  return edit_options(__func__, options, [&](CompileOptions& o) {
    if (!(percentile > 0 && percentile <= 100))  // also refuses NaN
      invalid_argument("percentile " + std::to_string(percentile) + " is outside (0, 100]");
    o.percentile = percentile;
  });
}

octet_status* octet_compile_options_set_weight_bits(octet_compile_options* options, int bits) {
  return edit_options(__func__, options, [&](CompileOptions& o) {
    if (bits != 8 && bits != 7) invalid_argument("weight bits " + std::to_string(bits) + " is neither 8 nor 7");
    o.weight_bits = bits;
  });
}

octet_status* octet_compile_options_set_dim_value(octet_compile_options* options, const char* dim_name, int64_t value) {
  return edit_options(__func__, options, [&](CompileOptions& o) {
    require_string(dim_name, "dim_name");
    if (value < 1) invalid_argument("value " + std::to_string(value) + " of dim '" + dim_name + "' must be >= 1");
    o.dim_values[dim_name] = value;
  });
}

octet_status* octet_compile_options_add_calibration_sample(octet_compile_options* options,
                                                           const char* const* input_names,
                                                           const octet_tensor* const* tensors, size_t count) {
  return edit_options(__func__, options, [&](CompileOptions& o) {
    if (count == 0) invalid_argument("count is 0: a sample names at least one input");
    if (!input_names) invalid_argument("input_names is NULL");
    if (!tensors) invalid_argument("tensors is NULL");
    std::map<std::string, Tensor> sample;
    for (size_t i = 0; i < count; ++i) {
      const std::string slot = "input_names[" + std::to_string(i) + "]";
      require_string(input_names[i], slot);
      auto t = lookup(tensors[i], "tensors[" + std::to_string(i) + "]");
      if (!sample.emplace(input_names[i], t->tensor).second)
        invalid_argument(slot + " '" + input_names[i] + "' is named twice");
    }
    o.calibration_data.push_back(std::move(sample));
  });
}

// ---- compiled models --------------------------------------------------------------------

octet_status* octet_compile(const octet_model* model, const octet_compile_options* options, octet_compiled_model** out) {
  return c_guard(__func__, [&] {
    auto m = lookup(model, "model");
    require_out(out, "out");
    CompileOptions settings;
    if (options) {
      auto o = lookup(options, "options");
      std::lock_guard<std::mutex> lock(o->mutex);
      settings = o->options;
    }
    *out = issue<octet_compiled_model>(
        std::make_shared<CompiledModelObject>(CompiledModel::compile(m->model, settings)));
  });
}

octet_status* octet_compiled_model_free(octet_compiled_model* compiled) {
  return c_guard(__func__, [&] { release(compiled, "compiled"); });
}

octet_status* octet_compiled_model_io_count(const octet_compiled_model* compiled, octet_io_kind kind, size_t* count) {
  return io_count(__func__, compiled, c_enum_value(kind), count);
}
octet_status* octet_compiled_model_io_info(const octet_compiled_model* compiled, octet_io_kind kind, size_t index,
                                           octet_value_info* out) {
  return io_info(__func__, compiled, c_enum_value(kind), index, out);
}

octet_status* octet_compiled_model_isa(const octet_compiled_model* compiled, const char** out) {
  return c_guard(__func__, [&] {
    auto c = lookup(compiled, "compiled");
    require_out(out, "out");
    *out = c->isa.c_str();
  });
}

octet_status* octet_compiled_model_describe(const octet_compiled_model* compiled, const char** out) {
  return c_guard(__func__, [&] {
    auto c = lookup(compiled, "compiled");
    require_out(out, "out");
    *out = c->description.c_str();
  });
}

octet_status* octet_compiled_model_export_qdq(const octet_compiled_model* compiled, const char* path) {
  return c_guard(__func__, [&] {
    auto c = lookup(compiled, "compiled");
    require_string(path, "path");
    c->compiled.export_qdq(path);
  });
}

octet_status* octet_compiled_model_save(const octet_compiled_model* compiled, const char* path) {
  return c_guard(__func__, [&] {
    auto c = lookup(compiled, "compiled");
    require_string(path, "path");
    c->compiled.save(path);
  });
}

octet_status* octet_compiled_model_load(const char* path, int threads, octet_compiled_model** out) {
  return c_guard(__func__, [&] {
    require_string(path, "path");
    require_out(out, "out");
    if (threads < 0) invalid_argument("threads must be >= 0, got " + std::to_string(threads));
    *out = issue<octet_compiled_model>(std::make_shared<CompiledModelObject>(CompiledModel::load(path, threads)));
  });
}

octet_status* octet_compiled_model_report_count(const octet_compiled_model* compiled, size_t* count) {
  return c_guard(__func__, [&] {
    auto c = lookup(compiled, "compiled");
    require_out(count, "count");
    *count = c->report.size();
  });
}

octet_status* octet_compiled_model_report_row(const octet_compiled_model* compiled, size_t index,
                                              octet_layer_report* out) {
  return c_guard(__func__, [&] {
    auto c = lookup(compiled, "compiled");
    require_out(out, "out");
    if (index >= c->report.size())
      invalid_argument("index " + std::to_string(index) + " is out of range: the report has " +
                       std::to_string(c->report.size()) + " rows");
    const LayerError& row = c->report[index];
    *out = octet_layer_report{row.tensor.c_str(), row.op.c_str(), row.node.c_str(), row.sqnr_db,
                              row.scale,          row.zero_point, row.fp32_fallback ? 1 : 0, row.note.c_str()};
  });
}

// ---- sessions ---------------------------------------------------------------------------

octet_status* octet_session_create(const octet_compiled_model* compiled, octet_session** out) {
  return c_guard(__func__, [&] {
    auto c = lookup(compiled, "compiled");
    require_out(out, "out");
    *out = issue<octet_session>(std::make_shared<SessionObject>(c));
  });
}

octet_status* octet_session_free(octet_session* session) {
  return c_guard(__func__, [&] { release(session, "session"); });
}

octet_status* octet_session_run(octet_session* session, const char* const* input_names,
                                const octet_tensor* const* inputs, size_t input_count, const char* const* output_names,
                                octet_tensor** outputs, size_t output_count) {
  return c_guard(__func__, [&] {
    auto s = lookup(session, "session");
    const CompiledModelObject& compiled = *s->compiled;
    if (input_count > 0 && !input_names) invalid_argument("input_names is NULL");
    if (input_count > 0 && !inputs) invalid_argument("inputs is NULL");
    if (output_count > 0 && !output_names) invalid_argument("output_names is NULL");
    if (output_count > 0 && !outputs) invalid_argument("outputs is NULL");

    // The feeds, by name; each looked-up object is held until the run ends.
    std::map<std::string, Tensor> feeds;
    std::vector<std::shared_ptr<TensorObject>> held;
    std::set<std::string> seen;
    for (size_t i = 0; i < input_count; ++i) {
      const TensorInfo& info = checked_io_name(input_names, i, compiled.inputs, "input_names", seen);
      held.push_back(lookup(inputs[i], "inputs[" + std::to_string(i) + "]"));
      require_matches(held.back()->tensor, info, "input");
      feeds[info.name] = held.back()->tensor;
    }
    if (feeds.size() < compiled.inputs.size())
      for (size_t i = 0; i < compiled.inputs.size(); ++i)
        if (!feeds.count(compiled.inputs.at(i).name))
          invalid_argument("input '" + compiled.inputs.at(i).name + "' is not given");

    // Every requested output is written into a tensor: the caller's, or a new one that becomes
    // the caller's handle once the run has succeeded.
    std::map<std::string, Tensor> sinks;
    std::vector<Tensor> slot_tensors(output_count);
    seen.clear();
    for (size_t i = 0; i < output_count; ++i) {
      const TensorInfo& info = checked_io_name(output_names, i, compiled.outputs, "output_names", seen);
      if (outputs[i]) {
        held.push_back(lookup(outputs[i], "outputs[" + std::to_string(i) + "]"));
        slot_tensors[i] = held.back()->tensor;
        require_matches(slot_tensors[i], info, "output buffer");
        for (const auto& other : feeds)
          if (overlaps(slot_tensors[i], other.second))
            invalid_argument("output buffer '" + info.name + "' overlaps input '" + other.first + "'");
        for (const auto& other : sinks)
          if (overlaps(slot_tensors[i], other.second))
            invalid_argument("output buffer '" + info.name + "' overlaps output buffer '" + other.first + "'");
      } else {
        slot_tensors[i] = Tensor(info.dtype, info.shape);
      }
      sinks[info.name] = slot_tensors[i];
    }

    {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->session.run_into(feeds, sinks);
    }

    // New handles for the NULL slots, all or none.
    std::vector<std::pair<size_t, octet_tensor*>> issued;
    try {
      for (size_t i = 0; i < output_count; ++i)
        if (!outputs[i])
          issued.emplace_back(i, issue<octet_tensor>(std::make_shared<TensorObject>(TensorObject{slot_tensors[i]})));
    } catch (...) {
      for (const auto& slot : issued) release(slot.second, "output");
      throw;
    }
    for (const auto& slot : issued) outputs[slot.first] = slot.second;
  });
}
