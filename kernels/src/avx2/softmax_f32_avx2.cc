// Softmax of contiguous rows on 8 lanes (softmax_f32.h): max, exp and sum, scale.
#include <limits>

#include "avx2/vec_math_avx2.h"
#include "octet/kernels/softmax_f32.h"

namespace octet::kernels {

void softmax_f32_avx2(const float* x, float* y, int64_t rows, int64_t n) {
  if (n <= 0) return;
  const __m256 lowest = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    __m256 m0 = lowest, m1 = lowest;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      m0 = _mm256_max_ps(m0, _mm256_loadu_ps(xr + i));
      m1 = _mm256_max_ps(m1, _mm256_loadu_ps(xr + i + 8));
    }
    for (; i < n; i += 8) {
      const __m256i m = avx2::tail_mask(n - i);
      m0 = _mm256_max_ps(m0, _mm256_blendv_ps(lowest, _mm256_maskload_ps(xr + i, m), _mm256_castsi256_ps(m)));
    }
    const __m256 peak = _mm256_set1_ps(avx2::hmax(_mm256_max_ps(m0, m1)));
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
      const __m256 e0 = avx2::exp_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), peak));
      const __m256 e1 = avx2::exp_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i + 8), peak));
      _mm256_storeu_ps(yr + i, e0);
      _mm256_storeu_ps(yr + i + 8, e1);
      s0 = _mm256_add_ps(s0, e0);
      s1 = _mm256_add_ps(s1, e1);
    }
    for (; i < n; i += 8) {
      const __m256i m = avx2::tail_mask(n - i);
      const __m256 e = _mm256_and_ps(avx2::exp_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + i, m), peak)),
                                     _mm256_castsi256_ps(m));
      _mm256_maskstore_ps(yr + i, m, e);
      s0 = _mm256_add_ps(s0, e);
    }
    const __m256 scale = _mm256_set1_ps(1.0f / avx2::hsum(_mm256_add_ps(s0, s1)));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_loadu_ps(yr + i), scale));
    if (i < n) {
      const __m256i m = avx2::tail_mask(n - i);
      _mm256_maskstore_ps(yr + i, m, _mm256_mul_ps(_mm256_maskload_ps(yr + i, m), scale));
    }
  }
}

}  // namespace octet::kernels
