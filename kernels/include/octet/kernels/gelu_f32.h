// GELU of a float run. Erf form: y = 0.5 * x * (1 + erf(x / sqrt(2))); tanh form:
// y = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))), which the SIMD levels compute as
// x * sigmoid(2u) = x / (1 + exp(-2u)) (the same function, one exp and one division). The
// reference level calls std::erf / std::tanh in float. The SIMD levels use a rational erf
// (|error| < 2e-7 on [-4, 4], +-1 beyond, as in single-precision erf) and a degree-5 exp
// polynomial (a few ulp); y stays within 1e-6 * (1 + |x|) of the reference
// (tests/kernels/test_transformer_f32.cc).
#pragma once

#include <cstdint>

namespace octet::kernels {

enum class GeluForm { erf, tanh };

// n floats; y may alias x.
using GeluF32Fn = void (*)(const float* x, float* y, int64_t n, GeluForm form);
void gelu_f32_ref(const float* x, float* y, int64_t n, GeluForm form);
void gelu_f32_avx2(const float* x, float* y, int64_t n, GeluForm form);
void gelu_f32_avx512(const float* x, float* y, int64_t n, GeluForm form);

}  // namespace octet::kernels
