// The reference GEMV over gemm_f32_ref's packing (one panel of N columns), summed as
// gemm_f32_ref sums a row: products from 0 in increasing k, then the bias.
#include <algorithm>
#include <vector>

#include "octet/error.h"
#include "octet/kernels/gemv_f32.h"

namespace octet::kernels {

void gemv_packed_f32_ref(const float* x, const PackedBF32& b, const float* bias, float* y, int64_t panel_begin,
                         int64_t panel_end) {
  const int64_t K = b.K, N = b.N, nr = b.nr;
  if (nr <= 0) return;
  const float* pb = b.data.as<float>();
  std::vector<float> acc(static_cast<size_t>(nr));
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const int64_t n0 = p * nr, cols = std::min(nr, N - n0);
    for (int64_t j = 0; j < cols; ++j) acc[j] = 0.f;
    for (int64_t k = 0; k < K; ++k) {
      const float* row = pb + (p * K + k) * nr;
      for (int64_t j = 0; j < cols; ++j) {
        const float prod = x[k] * row[j];
        acc[j] = acc[j] + prod;
      }
    }
    for (int64_t j = 0; j < cols; ++j) y[n0 + j] = bias ? acc[j] + bias[n0 + j] : acc[j];
  }
}

}  // namespace octet::kernels
