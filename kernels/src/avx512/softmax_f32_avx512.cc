// Softmax of contiguous rows on 16 lanes (softmax_f32.h), as the avx2 kernel.
#include <limits>

#include "avx512/vec_math_avx512.h"
#include "octet/kernels/softmax_f32.h"

namespace octet::kernels {

void softmax_f32_avx512(const float* x, float* y, int64_t rows, int64_t n) {
  if (n <= 0) return;
  const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    __m512 m0 = lowest;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(xr + i));
    if (i < n) m0 = _mm512_max_ps(m0, _mm512_mask_loadu_ps(lowest, avx512::tail_mask(n - i), xr + i));
    const __m512 peak = _mm512_set1_ps(_mm512_reduce_max_ps(m0));
    __m512 s0 = _mm512_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
      const __m512 e = avx512::exp_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + i), peak));
      _mm512_storeu_ps(yr + i, e);
      s0 = _mm512_add_ps(s0, e);
    }
    if (i < n) {
      const __mmask16 m = avx512::tail_mask(n - i);
      const __m512 e = _mm512_maskz_mov_ps(m, avx512::exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + i), peak)));
      _mm512_mask_storeu_ps(yr + i, m, e);
      s0 = _mm512_add_ps(s0, e);
    }
    const __m512 scale = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(s0));
    for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(yr + i, _mm512_mul_ps(_mm512_loadu_ps(yr + i), scale));
    if (i < n) {
      const __mmask16 m = avx512::tail_mask(n - i);
      _mm512_mask_storeu_ps(yr + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, yr + i), scale));
    }
  }
}

}  // namespace octet::kernels
