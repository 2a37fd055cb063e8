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

void qadd_q8_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p);

}  // namespace octet::kernels
