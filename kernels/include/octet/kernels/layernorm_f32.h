// Layer normalisation of contiguous float rows (LayerNormalization over the trailing axes):
// per row, y = (x - mean) * (1 / sqrt(var + epsilon)) * scale + bias, with the biased
// variance. The reference level accumulates the moments in double (as the engine's reference
// op does); the SIMD levels in float vectors, two passes (the mean as x[0] + mean(x - x[0]),
// then the centred squares), so that a row far from 0 keeps its digits. Both round the mean to
// float before subtracting it. Against the reference the SIMD levels stay within
// 1e-5 * (1 + |scale|) + 2e-6 * |y| + 1.2e-7 * |mean| / stddev * |scale| per element (the last
// term: one ulp of the mean; tests/kernels/test_transformer_f32.cc).
#pragma once

#include <cstdint>

namespace octet::kernels {

// `rows` rows of n floats; scale has n values, bias n values or null (0). y may alias x.
using LayerNormF32Fn = void (*)(const float* x, float* y, int64_t rows, int64_t n, const float* scale,
                                const float* bias, float epsilon);
void layernorm_f32_ref(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                       float epsilon);
void layernorm_f32_avx2(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                        float epsilon);
void layernorm_f32_avx512(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                          float epsilon);

}  // namespace octet::kernels
