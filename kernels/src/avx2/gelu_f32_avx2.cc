// GELU on 8 lanes (gelu_f32.h): erf form with the rational erf, tanh form as x / (1 + exp(-2u)).
#include "avx2/vec_math_avx2.h"
#include "octet/kernels/gelu_f32.h"

namespace octet::kernels {
namespace {

template <GeluForm Form>
inline __m256 gelu8(__m256 x) {
  if constexpr (Form == GeluForm::erf) {
    const __m256 e = avx2::erf_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.7071067811865476f)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  } else {
    // -2u = -2 sqrt(2/pi) (x + 0.044715 x^3)
    const __m256 x2 = _mm256_mul_ps(x, x);
    const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), x2), x, x);
    const __m256 e = avx2::exp_ps(_mm256_mul_ps(_mm256_set1_ps(-1.5957691216057308f), inner));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  }
}

template <GeluForm Form>
void run(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = gelu8<Form>(_mm256_loadu_ps(x + i)), b = gelu8<Form>(_mm256_loadu_ps(x + i + 8));
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, b);
  }
  for (; i < n; i += 8) {
    const __m256i m = avx2::tail_mask(n - i);
    _mm256_maskstore_ps(y + i, m, gelu8<Form>(_mm256_maskload_ps(x + i, m)));
  }
}

}  // namespace

void gelu_f32_avx2(const float* x, float* y, int64_t n, GeluForm form) {
  if (form == GeluForm::tanh) run<GeluForm::tanh>(x, y, n);
  else run<GeluForm::erf>(x, y, n);
}

}  // namespace octet::kernels
