// The portable channels-last INT8 average pool (avgpool_q8.h), compiled in the ref, avx2 and
// avx512 folders with their flags: integer sums over contiguous channels, then one float
// multiply and the rounding per value (no additions for FMA contraction to change), so every
// build computes the reference op's bits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "octet/kernels/avgpool_q8.h"

namespace octet::kernels::detail {

template <class T>
inline void avgpool_nhwc_q8_typed(const AvgPoolNhwcQ8& p, int64_t oh0, int64_t oh1, void* scratch) {
  const int64_t C = p.channels;
  int32_t* __restrict sum = static_cast<int32_t*>(scratch);
  const T* in = reinterpret_cast<const T*>(p.in);
  const float lo = static_cast<float>(p.q_lo), hi = static_cast<float>(p.q_hi), zp = static_cast<float>(p.y_zero);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t h_start = oh * p.stride_h - p.pad_top, h_end = h_start + p.kernel_h;
    const int64_t h0 = std::max<int64_t>(h_start, 0), h1 = std::min(h_end, p.in_h);
    const int64_t h_padded = std::min(h_end, p.in_h + p.pad_bottom) - std::max(h_start, -p.pad_top);
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t w_start = ow * p.stride_w - p.pad_left, w_end = w_start + p.kernel_w;
      const int64_t w0 = std::max<int64_t>(w_start, 0), w1 = std::min(w_end, p.in_w);
      const int64_t w_padded = std::min(w_end, p.in_w + p.pad_right) - std::max(w_start, -p.pad_left);
      const int64_t inside = std::max<int64_t>(0, h1 - h0) * std::max<int64_t>(0, w1 - w0);
      const int64_t padded = std::max<int64_t>(0, h_padded) * std::max<int64_t>(0, w_padded);
      for (int64_t c = 0; c < C; ++c) sum[c] = 0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) {
          const T* __restrict x = in + (h * p.in_w + w) * C;
          for (int64_t c = 0; c < C; ++c) sum[c] += x[c];
        }
      const int32_t sub = static_cast<int32_t>(p.x_zero * inside);
      const int64_t count = p.count_include_pad ? padded : inside;
      const float mult = p.ratio / static_cast<float>(std::max<int64_t>(count, 1));
      uint8_t* __restrict o = p.out + (oh * p.out_w + ow) * C;
      for (int64_t c = 0; c < C; ++c) {
        float v = static_cast<float>(sum[c] - sub) * mult;
        v = v == v ? v : 0.0f;
        float r = std::nearbyint(v) + zp;
        r = r <= lo ? lo : (r >= hi ? hi : r);
        o[c] = static_cast<uint8_t>(static_cast<int32_t>(r));
      }
    }
  }
}

inline void avgpool_nhwc_q8_impl(const AvgPoolNhwcQ8& p, int64_t oh0, int64_t oh1, void* scratch) {
  if (p.s8_in) avgpool_nhwc_q8_typed<int8_t>(p, oh0, oh1, scratch);
  else avgpool_nhwc_q8_typed<uint8_t>(p, oh0, oh1, scratch);
}

}  // namespace octet::kernels::detail
