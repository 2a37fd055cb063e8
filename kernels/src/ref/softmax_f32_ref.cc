// The reference softmax over contiguous rows (softmax_f32.h): std::exp, a double sum.
#include <algorithm>
#include <cmath>
#include <limits>

#include "octet/kernels/softmax_f32.h"

namespace octet::kernels {

void softmax_f32_ref(const float* x, float* y, int64_t rows, int64_t n) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    float peak = xr[0];
    bool nan = false;
    for (int64_t i = 0; i < n; ++i) {
      nan |= std::isnan(xr[i]);
      peak = std::max(peak, xr[i]);
    }
    if (nan) peak = std::numeric_limits<float>::quiet_NaN();  // NaN anywhere: a NaN row
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      yr[i] = std::exp(xr[i] - peak);
      sum += yr[i];
    }
    const float s = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) yr[i] *= s;
  }
}

}  // namespace octet::kernels
