// Softmax of contiguous float rows (Softmax along the last axis): per row,
// y = exp(x - max) / sum(exp(x - max)). Subtracting the row's max keeps every exponent <= 0.
// The reference level uses std::exp and a double sum (as the engine's reference op does); the
// SIMD levels a degree-5 exp polynomial (a few ulp; arguments below -87.3 give ~1e-38 instead
// of 0) and float vector sums: each y within 1e-6 * y + 1e-9 of the reference for rows of up to
// 3072 (tests/kernels/test_transformer_f32.cc). NaN anywhere in a row makes the row NaN.
#pragma once

#include <cstdint>

namespace octet::kernels {

// `rows` rows of n floats; y may alias x.
using SoftmaxF32Fn = void (*)(const float* x, float* y, int64_t rows, int64_t n);
void softmax_f32_ref(const float* x, float* y, int64_t rows, int64_t n);
void softmax_f32_avx2(const float* x, float* y, int64_t rows, int64_t n);
void softmax_f32_avx512(const float* x, float* y, int64_t rows, int64_t n);

}  // namespace octet::kernels
