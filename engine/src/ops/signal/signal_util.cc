// The signal family's shared helpers: float element access and constant scalar inputs.
#include "ops/signal/signal_util.h"

#include "ops/elementwise/elementwise_util.h"
#include "ops/shape/shape_util.h"

namespace octet::detail {

double load_float(DType t, const void* data, int64_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(data)[i];
    case DType::f64: return static_cast<const double*>(data)[i];
    case DType::f16: return half_to_float(static_cast<const uint16_t*>(data)[i]);
    case DType::bf16: return bf16_to_float(static_cast<const uint16_t*>(data)[i]);
    default: throw Error(std::string("signal ops: unsupported dtype ") + dtype_name(t));
  }
}

void store_value(DType t, void* data, int64_t i, double v) {
  switch (t) {
    case DType::f16: static_cast<uint16_t*>(data)[i] = float_to_half(static_cast<float>(v)); return;
    case DType::bf16: static_cast<uint16_t*>(data)[i] = float_to_bf16(static_cast<float>(v)); return;
    default: break;
  }
  visit_numeric(
      t, [&](auto tag) { static_cast<decltype(tag)*>(data)[i] = float_to_saturated<decltype(tag)>(v); },
      [&] { throw Error(std::string("signal ops: unsupported output dtype ") + dtype_name(t)); });
}

DType output_datatype_attr(const NodeContext& ctx) {
  const int64_t code = ctx.node().attr_i("output_datatype", static_cast<int64_t>(DType::f32));
  switch (static_cast<DType>(code)) {
    case DType::u8: case DType::u16: case DType::u32: case DType::u64: case DType::s8: case DType::s16:
    case DType::s32: case DType::s64: case DType::f16: case DType::f32: case DType::f64: case DType::bf16:
      return static_cast<DType>(code);
    default: break;
  }
  ctx.fail("unsupported output_datatype " + std::to_string(code) + " (a numeric type other than bool)");
}

bool flag_attr(const NodeContext& ctx, const char* name, int64_t def) {
  const int64_t v = ctx.node().attr_i(name, def);
  if (v != 0 && v != 1) ctx.fail(std::string("attribute '") + name + "' must be 0 or 1, got " + std::to_string(v));
  return v == 1;
}

int64_t const_scalar_int(const NodeContext& ctx, size_t i, const std::string& what) {
  const DType t = ctx.input_dtype(i);
  if (t != DType::s32 && t != DType::s64)
    ctx.fail(what + " (input " + std::to_string(i) + ") must be int32 or int64, got " + dtype_name(t));
  const std::vector<int64_t> v = const_input_ints(ctx, i, what);
  if (v.size() != 1) ctx.fail(what + " (input " + std::to_string(i) + ") must be a scalar, got " +
                              std::to_string(v.size()) + " values");
  return v[0];
}

}  // namespace octet::detail
