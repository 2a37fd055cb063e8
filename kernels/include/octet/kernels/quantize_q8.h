// QuantizeLinear and DequantizeLinear with per-tensor parameters, element-wise:
//   quantize:   y = saturate(round_half_even(x / scale) + zero)   (NaN x / scale counts as 0)
//   dequantize: y = float(q - zero) * scale
// with the reference op's float operations in the same order (a true division, the rounded
// value plus the zero point in float, then the clamp), so every ISA gives the reference's bits.
#pragma once

#include <cstdint>

namespace octet::kernels {

// y: n bytes, u8 or (s8 = true) s8 values.
using QuantizeF32Q8Fn = void (*)(const float* x, uint8_t* y, int64_t n, float scale, int32_t zero, bool s8);
void quantize_f32_q8_ref(const float* x, uint8_t* y, int64_t n, float scale, int32_t zero, bool s8);
void quantize_f32_q8_avx2(const float* x, uint8_t* y, int64_t n, float scale, int32_t zero, bool s8);
// q: n bytes, u8 or (s8 = true) s8 values.
using DequantizeQ8F32Fn = void (*)(const uint8_t* q, float* y, int64_t n, float scale, int32_t zero, bool s8);
void dequantize_q8_f32_ref(const uint8_t* q, float* y, int64_t n, float scale, int32_t zero, bool s8);
void dequantize_q8_f32_avx2(const uint8_t* q, float* y, int64_t n, float scale, int32_t zero, bool s8);

}  // namespace octet::kernels
