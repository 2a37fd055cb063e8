// Element-wise quantized add of two 8-bit tensors with per-tensor parameters (QLinearAdd):
//   y = saturate(round_half_even((a - za) * a_mult + (b - zb) * b_mult) + zc),
//   a_mult = sa / sc and b_mult = sb / sc, each rounded to float once,
// in float, operation by operation in that order (mul, mul, add; no FMA), as the reference op
// computes it, so the result is bit-identical on every ISA. This is ONNX Runtime's form of
// the op (scale ratios): no division per element. The SIMD kernels and the fused conv
// epilogue need qadd_q8_params_ok.
#pragma once

#include <cmath>
#include <cstdint>

namespace octet::kernels {

struct QAddQ8Params {
  float a_mult = 1, b_mult = 1;  // a_scale / c_scale, b_scale / c_scale
  int32_t a_zero = 0, b_zero = 0, c_zero = 0;
  bool s8 = false;  // s8 inputs and output (else u8)
};

inline QAddQ8Params qadd_q8_params(float a_scale, int32_t a_zero, float b_scale, int32_t b_zero, float c_scale,
                                   int32_t c_zero, bool s8) {
  QAddQ8Params p;
  p.a_mult = a_scale / c_scale;
  p.b_mult = b_scale / c_scale;
  p.a_zero = a_zero;
  p.b_zero = b_zero;
  p.c_zero = c_zero;
  p.s8 = s8;
  return p;
}

// True when the multipliers are finite positive normal floats and the value before rounding,
// |x| <= 256 * (a_mult + b_mult) (each |v - zero| <= 255), stays far below 2^31: the SIMD
// kernels round with vcvtps2dq, exact only while it fits int32. (Otherwise the standalone
// kernels take the scalar way for every element, and the conv epilogue does not fuse the add.)
inline bool qadd_q8_params_ok(const QAddQ8Params& p) {
  const auto normal = [](float v) { return std::isnormal(v) && v > 0; };
  return normal(p.a_mult) && normal(p.b_mult) && 256.0 * (static_cast<double>(p.a_mult) + p.b_mult) < 1e9;
}

// One element the reference's way. Static (one copy per translation unit): it is also
// compiled into the AVX2 kernels' files, whose flags must not leak into baseline callers; the
// empty asm keeps the products from being contracted into an FMA under -mfma.
static inline int32_t qadd_q8_scalar(int32_t a, int32_t b, const QAddQ8Params& p) {
  float fa = static_cast<float>(a - p.a_zero) * p.a_mult, fb = static_cast<float>(b - p.b_zero) * p.b_mult;
  asm("" : "+x"(fa), "+x"(fb));
  float v = fa + fb;
  if (v != v) v = 0.f;  // NaN (from parameters that are not normal) quantizes as 0
  const float r = std::nearbyint(v) + static_cast<float>(p.c_zero);
  const float lo = p.s8 ? -128.f : 0.f, hi = p.s8 ? 127.f : 255.f;
  if (r <= lo) return static_cast<int32_t>(lo);
  if (r >= hi) return static_cast<int32_t>(hi);
  return static_cast<int32_t>(r);
}

// y[i] = qadd_q8_scalar(a[i], b[i]) for n bytes (y may alias a or b).
using QAddQ8Fn = void (*)(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p);
void qadd_q8_ref(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p);
void qadd_q8_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p);
void qadd_q8_avx512(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p);

}  // namespace octet::kernels
