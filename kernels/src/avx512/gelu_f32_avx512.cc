// GELU on 16 lanes (gelu_f32.h), as the avx2 kernel.
#include "avx512/vec_math_avx512.h"
#include "octet/kernels/gelu_f32.h"

namespace octet::kernels {
namespace {

template <GeluForm Form>
inline __m512 gelu16(__m512 x) {
  if constexpr (Form == GeluForm::erf) {
    const __m512 e = avx512::erf_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.7071067811865476f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  } else {
    const __m512 x2 = _mm512_mul_ps(x, x);
    const __m512 inner = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x2), x, x);
    const __m512 e = avx512::exp_ps(_mm512_mul_ps(_mm512_set1_ps(-1.5957691216057308f), inner));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  }
}

template <GeluForm Form>
void run(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gelu16<Form>(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = avx512::tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, gelu16<Form>(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace

void gelu_f32_avx512(const float* x, float* y, int64_t n, GeluForm form) {
  if (form == GeluForm::tanh) run<GeluForm::tanh>(x, y, n);
  else run<GeluForm::erf>(x, y, n);
}

}  // namespace octet::kernels
