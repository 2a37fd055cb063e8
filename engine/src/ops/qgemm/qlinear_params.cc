#include "ops/qgemm/qlinear_params.h"

#include "ops/quant/quant_util.h"

namespace octet::detail {

// Reads a per-tensor scale / zero-point pair (zero point optional) from constants.
bool const_pair(const NodeContext& ctx, size_t si, size_t zi, float* scale, int32_t* zero) {
  const Tensor* s = ctx.input_const(si);
  if (!s || s->dtype() != DType::f32 || s->numel() != 1) return false;
  *scale = *s->data_as<float>();
  *zero = 0;
  if (ctx.has_input(zi)) {
    const Tensor* z = ctx.input_const(zi);
    if (!z || z->numel() != 1 || !is_q8(z->dtype())) return false;
    *zero = tensor_to_int32s(*z)[0];
  }
  return true;
}

// Constant s8 weights whose zero points are all 0 (absent or explicit).
bool s8_weights_zero_free(const NodeContext& ctx, size_t wi, size_t zi) {
  const Tensor* w = ctx.input_const(wi);
  if (!w || w->dtype() != DType::s8) return false;
  if (!ctx.has_input(zi)) return true;
  const Tensor* z = ctx.input_const(zi);
  if (!z) return false;
  for (int32_t v : tensor_to_int32s(*z))
    if (v != 0) return false;
  return true;
}

// Reads x / w / y parameters of QLinearConv / QLinearMatMul (same input positions).
bool read_qlinear_params(const NodeContext& ctx, int64_t channels, ConstQParams* p) {
  if (!const_pair(ctx, 1, 2, &p->x_scale, &p->x_zero)) return false;
  if (!const_pair(ctx, 6, 7, &p->y_scale, &p->y_zero)) return false;
  const Tensor* ws = ctx.input_const(4);
  if (!ws || ws->dtype() != DType::f32 || (ws->numel() != 1 && ws->numel() != channels)) return false;
  p->w_scale = tensor_to_floats(*ws);
  p->x_type = ctx.input_dtype(0);
  p->y_type = ctx.has_input(7) ? ctx.input_dtype(7) : p->x_type;
  return is_q8(p->x_type) && is_q8(p->y_type);
}

// scale[n] = x_scale * w_scale[n] / y_scale, in float, in that order (the reference's order).
std::vector<float> requant_scales(const ConstQParams& p, int64_t n0, int64_t count) {
  std::vector<float> s(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    s[i] = p.x_scale * p.w_scale[p.w_scale.size() == 1 ? 0 : n0 + i] / p.y_scale;
  return s;
}

}  // namespace octet::detail
