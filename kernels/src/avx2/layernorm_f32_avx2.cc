// Layer normalisation of contiguous rows on 8 lanes (layernorm_f32.h): mean, centred squares,
// then (x - mean) * inv * scale + bias.
#include <cmath>

#include "avx2/vec_math_avx2.h"
#include "octet/kernels/layernorm_f32.h"

namespace octet::kernels {

void layernorm_f32_avx2(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                        float epsilon) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    // The mean as x[0] + mean(x - x[0]): rows far from 0 keep their digits.
    const __m256 pivot = _mm256_set1_ps(xr[0]);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      s0 = _mm256_add_ps(s0, _mm256_sub_ps(_mm256_loadu_ps(xr + i), pivot));
      s1 = _mm256_add_ps(s1, _mm256_sub_ps(_mm256_loadu_ps(xr + i + 8), pivot));
    }
    for (; i < n; i += 8) {
      const __m256i m = avx2::tail_mask(n - i);
      s0 = _mm256_add_ps(s0, _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + i, m), pivot), _mm256_castsi256_ps(m)));
    }
    const float mean = xr[0] + avx2::hsum(_mm256_add_ps(s0, s1)) / static_cast<float>(n);
    const __m256 vm = _mm256_set1_ps(mean);
    s0 = s1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
      const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(xr + i), vm), d1 = _mm256_sub_ps(_mm256_loadu_ps(xr + i + 8), vm);
      s0 = _mm256_fmadd_ps(d0, d0, s0);
      s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    for (; i < n; i += 8) {
      const __m256i m = avx2::tail_mask(n - i);
      const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + i, m), vm), _mm256_castsi256_ps(m));
      s0 = _mm256_fmadd_ps(d, d, s0);
    }
    const double var = static_cast<double>(avx2::hsum(_mm256_add_ps(s0, s1))) / static_cast<double>(n);
    const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / std::sqrt(var + epsilon)));
    for (i = 0; i < n; i += 8) {
      const bool full = i + 8 <= n;
      const __m256i m = avx2::tail_mask(n - i);
      const __m256 xv = full ? _mm256_loadu_ps(xr + i) : _mm256_maskload_ps(xr + i, m);
      const __m256 sv = full ? _mm256_loadu_ps(scale + i) : _mm256_maskload_ps(scale + i, m);
      const __m256 bv = !bias ? _mm256_setzero_ps() : full ? _mm256_loadu_ps(bias + i) : _mm256_maskload_ps(bias + i, m);
      const __m256 v = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_sub_ps(xv, vm), inv), sv, bv);
      if (full) _mm256_storeu_ps(yr + i, v);
      else _mm256_maskstore_ps(yr + i, m, v);
    }
  }
}

}  // namespace octet::kernels
