// The reference GELU (gelu_f32.h): std::erf / std::tanh in float.
#include <cmath>

#include "octet/kernels/gelu_f32.h"

namespace octet::kernels {

void gelu_f32_ref(const float* x, float* y, int64_t n, GeluForm form) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (form == GeluForm::tanh) {
      const float k = 0.7978845608028654f;  // sqrt(2 / pi)
      y[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
    } else {
      y[i] = 0.5f * v * (1.0f + std::erf(v * 0.7071067811865476f));
    }
  }
}

}  // namespace octet::kernels
