// The portable channels-last FP32 average pool (avgpool_f32.h), compiled in the ref and avx2
// folders with their flags: per output pixel, 64-channel blocks summed in a local array the
// compiler vectorises; no FMA can form (adds, then one divide).
#pragma once

#include <algorithm>
#include <cstdint>

#include "octet/kernels/avgpool_f32.h"

namespace octet::kernels::detail {

inline void avgpool_nhwc_f32_impl(const AvgPoolNhwcF32& p, int64_t oh0, int64_t oh1) {
  constexpr int64_t kBlock = 64;
  const int64_t C = p.channels;
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t ih0 = oh * p.stride_h - p.pad_top;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t iw0 = ow * p.stride_w - p.pad_left;
      float* o = p.out + (oh * p.out_w + ow) * C;
      const int64_t count = avgpool_nhwc_count(p, ih0, iw0);
      if (count <= 0) {
        std::fill(o, o + C, 0.0f);
        continue;
      }
      const float div = static_cast<float>(count);
      for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
        const int64_t m = std::min(kBlock, C - c0);
        float acc[kBlock];
        for (int64_t c = 0; c < m; ++c) acc[c] = 0.0f;
        for_each_tap_inside(p, ih0, iw0, [&](int64_t pixel) {
          const float* x = p.in + pixel * C + c0;
          for (int64_t c = 0; c < m; ++c) acc[c] += x[c];
        });
        for (int64_t c = 0; c < m; ++c) o[c0 + c] = acc[c] / div;
      }
    }
  }
}

}  // namespace octet::kernels::detail
