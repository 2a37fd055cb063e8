// The reference layer normalisation (layernorm_f32.h): moments in double, two passes.
#include <cmath>

#include "octet/kernels/layernorm_f32.h"

namespace octet::kernels {

void layernorm_f32_ref(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                       float epsilon) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += xr[i];
    const double mean = sum / static_cast<double>(n);
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(n) + epsilon));
    const float mf = static_cast<float>(mean);
    for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mf) * inv * scale[i] + (bias ? bias[i] : 0.0f);
  }
}

}  // namespace octet::kernels
