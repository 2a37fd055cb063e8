// Helpers shared by the quantized reference operators (engine/src/ops/quant/, qconv/, qgemm/):
// quantization parameters, rounding/saturation, and an exact integer GEMM.
//
// The arithmetic every quant op follows (as the ONNX spec and ONNX Runtime do):
//   quantize:    q = saturate(round_half_even(x / scale) + zero_point)      (float math)
//   dequantize:  x = float(q - zero_point) * scale
//   requantize:  q = saturate(round_half_even(float(acc) * multiplier) + zero_point),
//                multiplier = (in_scale * w_scale) / out_scale computed in float
// NaN quantizes to the zero point.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "ops/op_util.h"

namespace octet::detail {

void register_quant_conv_ops(OpRegistry& r);    // QLinearConv, ConvInteger
void register_quant_matmul_ops(OpRegistry& r);  // QLinearMatMul, MatMulInteger
void register_quant_binary_ops(OpRegistry& r);  // com.microsoft QLinearAdd, QLinearMul
void register_quant_lookup_ops(OpRegistry& r);  // octet.LookupQ8

// The table of y = QuantizeLinear(HardSwish(DequantizeLinear(x))) for every raw 8-bit x (of
// type t, per-tensor parameters; y of type t too), with the reference ops' arithmetic, so
// octet.LookupQ8 with it gives their bits.
std::vector<uint8_t> hardswish_lookup_table(DType t, float x_scale, int32_t x_zero, float y_scale, int32_t y_zero);

inline bool is_q8(DType t) { return t == DType::u8 || t == DType::s8; }

// [lo, hi] of a quantized output dtype (u8 or s8).
inline void q8_range(DType t, int32_t* lo, int32_t* hi) {
  *lo = t == DType::u8 ? 0 : -128;
  *hi = t == DType::u8 ? 255 : 127;
}

// round_half_even(v) + zp, saturated to [lo, hi]; NaN gives zp.
inline int32_t quantize_value(float v, int32_t zp, int32_t lo, int32_t hi) {
  if (std::isnan(v)) v = 0.0f;
  float r = std::nearbyint(v) + static_cast<float>(zp);  // default FP env: round half to even
  if (r <= static_cast<float>(lo)) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int32_t>(r);
}

// Values of an integer tensor (u8/s8/s32 zero points, s32 bias) as int32.
std::vector<int32_t> tensor_to_int32s(const Tensor& t);

// Per-tensor or per-channel quantization parameters: value(c) is the parameter of channel c.
struct QuantParam {
  std::vector<float> scale;   // size 1 (per tensor) or channels
  std::vector<int32_t> zero;  // size 1 or channels; {0} when the zero point is absent
  float scale_at(int64_t c) const { return scale.size() == 1 ? scale[0] : scale[c]; }
  int32_t zero_at(int64_t c) const { return zero.size() == 1 ? zero[0] : zero[c]; }
};

// Reads scale (input si) and optional zero point (input zi, may be absent) at run time.
QuantParam read_quant_param(const KernelContext& ctx, size_t si, size_t zi);

// Constant per-tensor parameters (scale input si, zero point zi, which may be absent) as a
// QuantParam; false when either is not known at compile time or has more than one element.
bool const_quant_param(const NodeContext& ctx, size_t si, size_t zi, QuantParam* q);

// Runs fn(begin, end) over [0, n) in chunks of `chunk` elements, on the pool when there is
// more than one chunk and more than one thread.
template <class Fn>
void for_chunks(const KernelContext& ctx, int64_t n, int64_t chunk, Fn fn) {
  const int64_t chunks = (n + chunk - 1) / chunk;
  if (ctx.pool && ctx.pool->size() > 1 && chunks > 1)
    ctx.pool->parallel_for(chunks, [&](int64_t c0, int64_t c1) { fn(c0 * chunk, std::min(n, c1 * chunk)); });
  else if (n > 0)
    fn(0, n);
}

// Compile-time checks for a scale / zero-point pair: scale f32, zero point of dtype zp_dtype
// (or absent when `optional_zp`), each either one element or `channels` elements (1-D);
// channels < 0 allows per-tensor only. `what` names the pair in messages ("x", "w", ...).
void check_quant_param(const NodeContext& ctx, size_t si, size_t zi, int64_t channels, const std::string& what);

// C[m*ldc + n] = sum_k A[m*lda + k] * B[k*ldb + n], exact integer accumulation (int32,
// wrapping on overflow like the hardware instructions). Column blocks of C may run on pool
// threads; the result does not depend on the split.
void gemm_s16_s32(int64_t M, int64_t N, int64_t K, const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb,
                  int32_t* C, int64_t ldc, kernels::ThreadPool* pool);

// Converts n u8/s8 values (dtype t) at src into int16 `value - zero`.
void widen_minus_zero(DType t, const void* src, int64_t n, int32_t zero, int16_t* dst);

}  // namespace octet::detail
