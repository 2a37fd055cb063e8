// Element-wise quantized add of two 8-bit tensors with per-tensor parameters (QLinearAdd):
//   y = saturate(round_half_even(((a - za) * sa + (b - zb) * sb) / sc) + zc)
// in float, operation by operation in that order (mul, mul, add, div; no FMA), as the
// reference op computes it, so the result is bit-identical on every ISA. The caller checks
// that the scales are finite and positive (the reference's NaN rule is then never needed).
#pragma once

#include <cstdint>

namespace octet::kernels {

struct QAddQ8Params {
  float a_scale = 1, b_scale = 1, c_scale = 1;
  int32_t a_zero = 0, b_zero = 0, c_zero = 0;
  bool s8 = false;  // s8 inputs and output (else u8)
};

// The SIMD kernels round the quotient with vcvtps2dq, exact while it fits int32: true when
// |x| <= 256 * (a_scale + b_scale) (each |v - zero| <= 255) over c_scale stays far below
// 2^31; otherwise they take the scalar way for every element.
inline bool qadd_q8_quotient_fits_int32(const QAddQ8Params& p) {
  return 256.0 * (static_cast<double>(p.a_scale) + p.b_scale) / p.c_scale < 1e9;
}

void qadd_q8_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p);
void qadd_q8_avx512(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p);

}  // namespace octet::kernels
