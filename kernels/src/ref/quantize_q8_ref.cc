// QuantizeLinear / DequantizeLinear (quantize_q8.h) one element at a time, operation by
// operation as the contract states them.
#include <cmath>

#include "octet/kernels/quantize_q8.h"

namespace octet::kernels {

void quantize_f32_q8_ref(const float* x, uint8_t* y, int64_t n, float scale, int32_t zero, bool s8) {
  const float lo = s8 ? -128.f : 0.f, hi = s8 ? 127.f : 255.f;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    if (std::isnan(v)) v = 0.0f;
    const float r = std::nearbyint(v) + static_cast<float>(zero);
    const int32_t q = r <= lo ? static_cast<int32_t>(lo) : r >= hi ? static_cast<int32_t>(hi) : static_cast<int32_t>(r);
    y[i] = static_cast<uint8_t>(q);
  }
}

void dequantize_q8_f32_ref(const uint8_t* q, float* y, int64_t n, float scale, int32_t zero, bool s8) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = s8 ? static_cast<int32_t>(static_cast<int8_t>(q[i])) : static_cast<int32_t>(q[i]);
    y[i] = static_cast<float>(v - zero) * scale;
  }
}

}  // namespace octet::kernels
