#include "ops/elementwise/elementwise_util.h"

namespace octet::detail {

void check_input_dtype(const NodeContext& ctx, size_t i, int types) {
  DType t = ctx.input_dtype(i);
  if (!dtype_in(t, types))
    ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for input " + std::to_string(i));
}

void check_same_dtype(const NodeContext& ctx, size_t i) {
  if (ctx.input_dtype(i) != ctx.input_dtype(0))
    ctx.fail(std::string("input ") + std::to_string(i) + " has dtype " + dtype_name(ctx.input_dtype(i)) +
             " but input 0 has " + dtype_name(ctx.input_dtype(0)) + "; they must match");
}

Shape broadcast_inputs(const NodeContext& ctx, const std::vector<size_t>& inputs) {
  Shape out;
  bool first = true;
  for (size_t i : inputs) {
    if (!ctx.has_input(i)) continue;
    const Shape& s = ctx.input_shape(i);
    if (first) {
      out = s;
      first = false;
      continue;
    }
    Shape next;
    if (!broadcast_shapes(out, s, &next))
      ctx.fail("input shapes " + shape_str(out) + " and " + shape_str(s) + " (input " + std::to_string(i) +
               ") cannot be broadcast together");
    out = std::move(next);
  }
  return out;
}

void half_to_float_buffer(DType half, const uint16_t* in, float* out, int64_t n) {
  if (half == DType::f16)
    for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
  else
    for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_float(in[i]);
}

void float_to_half_buffer(DType half, const float* in, uint16_t* out, int64_t n) {
  if (half == DType::f16)
    for (int64_t i = 0; i < n; ++i) out[i] = float_to_half(in[i]);
  else
    for (int64_t i = 0; i < n; ++i) out[i] = float_to_bf16(in[i]);
}

void ViaFloatKernel::run(KernelContext& ctx) const {
  std::vector<Tensor> wide_in(ctx.inputs.size()), wide_out(ctx.outputs.size());
  KernelContext inner;
  inner.pool = ctx.pool;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const Tensor* t = ctx.inputs[i];
    if (t != nullptr && t->dtype() == half_) {
      wide_in[i] = Tensor(DType::f32, t->shape());
      half_to_float_buffer(half_, t->data_as<uint16_t>(), wide_in[i].data_as<float>(), t->numel());
      t = &wide_in[i];
    }
    inner.inputs.push_back(t);
  }
  for (size_t i = 0; i < ctx.outputs.size(); ++i) {
    Tensor* t = ctx.outputs[i];
    if (t != nullptr && t->dtype() == half_) {
      wide_out[i] = Tensor(DType::f32, t->shape());
      t = &wide_out[i];
    }
    inner.outputs.push_back(t);
  }
  inner_->run(inner);
  for (size_t i = 0; i < ctx.outputs.size(); ++i)
    if (!wide_out[i].empty())
      float_to_half_buffer(half_, wide_out[i].data_as<float>(), ctx.outputs[i]->data_as<uint16_t>(),
                           wide_out[i].numel());
}

std::vector<double> tensor_to_doubles(const Tensor& t) {
  if (t.dtype() == DType::f64) {
    const double* p = t.data_as<double>();
    return std::vector<double>(p, p + t.numel());
  }
  std::vector<float> f = tensor_to_floats(t);
  return std::vector<double>(f.begin(), f.end());
}

}  // namespace octet::detail
