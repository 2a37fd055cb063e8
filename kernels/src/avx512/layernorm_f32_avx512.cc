// Layer normalisation of contiguous rows on 16 lanes (layernorm_f32.h), as the avx2 kernel.
#include <cmath>

#include "avx512/vec_math_avx512.h"
#include "octet/kernels/layernorm_f32.h"

namespace octet::kernels {

void layernorm_f32_avx512(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                          float epsilon) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    // The mean as x[0] + mean(x - x[0]): rows far from 0 keep their digits.
    const __m512 pivot = _mm512_set1_ps(xr[0]);
    __m512 s0 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) s0 = _mm512_add_ps(s0, _mm512_sub_ps(_mm512_loadu_ps(xr + i), pivot));
    if (i < n) {
      const __mmask16 m = avx512::tail_mask(n - i);
      s0 = _mm512_add_ps(s0, _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xr + i), pivot));
    }
    const float mean = xr[0] + _mm512_reduce_add_ps(s0) / static_cast<float>(n);
    const __m512 vm = _mm512_set1_ps(mean);
    s0 = _mm512_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
      const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(xr + i), vm);
      s0 = _mm512_fmadd_ps(d, d, s0);
    }
    if (i < n) {
      const __mmask16 m = avx512::tail_mask(n - i);
      const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xr + i), vm);
      s0 = _mm512_fmadd_ps(d, d, s0);
    }
    const double var = static_cast<double>(_mm512_reduce_add_ps(s0)) / static_cast<double>(n);
    const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / std::sqrt(var + epsilon)));
    for (i = 0; i < n; i += 16) {
      const __mmask16 m = i + 16 <= n ? static_cast<__mmask16>(0xFFFF) : avx512::tail_mask(n - i);
      const __m512 xv = _mm512_maskz_loadu_ps(m, xr + i), sv = _mm512_maskz_loadu_ps(m, scale + i);
      const __m512 bv = bias ? _mm512_maskz_loadu_ps(m, bias + i) : _mm512_setzero_ps();
      _mm512_mask_storeu_ps(yr + i, m, _mm512_fmadd_ps(_mm512_mul_ps(_mm512_sub_ps(xv, vm), inv), sv, bv));
    }
  }
}

}  // namespace octet::kernels
