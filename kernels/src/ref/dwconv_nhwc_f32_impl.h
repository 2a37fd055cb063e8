// The portable channels-last FP32 depthwise kernel (dwconv.h, DwConvNhwcF32), compiled in the
// ref, avx2 and avx512 folders with their flags: per output pixel, accumulators over the
// contiguous channels, one multiply-add per tap in (kh, kw) order.
#pragma once

#include <algorithm>
#include <cstdint>

#include "octet/kernels/dwconv.h"

namespace octet::kernels::detail {

inline void dwconv_nhwc_f32_impl(const DwConvNhwcF32& p, int64_t oh0, int64_t oh1, float* scratch) {
  const int64_t C = p.channels;
  float* __restrict acc = scratch;
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      if (p.bias) std::copy(p.bias, p.bias + C, acc);
      else std::fill(acc, acc + C, 0.0f);
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
        if (ih < 0 || ih >= p.in_h) continue;
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
          if (iw < 0 || iw >= p.in_w) continue;
          const float* __restrict x = p.in + (ih * p.in_w + iw) * C;
          const float* __restrict w = p.weights + (kh * p.kernel_w + kw) * C;
          for (int64_t c = 0; c < C; ++c) acc[c] += x[c] * w[c];
        }
      }
      const int64_t o = (oh * p.out_w + ow) * C;
      float* __restrict y = p.out + o;
      if (p.residual)
        for (int64_t c = 0; c < C; ++c) acc[c] += p.residual[o + c];
      if (p.act == Activation::relu) {
        for (int64_t c = 0; c < C; ++c) y[c] = acc[c] > 0.0f ? acc[c] : 0.0f;
      } else if (p.act == Activation::clip) {
        for (int64_t c = 0; c < C; ++c) y[c] = acc[c] < p.clip_lo ? p.clip_lo : (acc[c] > p.clip_hi ? p.clip_hi : acc[c]);
      } else if (p.act == Activation::hardswish) {
        for (int64_t c = 0; c < C; ++c) y[c] = hardswish(acc[c]);
      } else {
        for (int64_t c = 0; c < C; ++c) y[c] = acc[c];
      }
    }
}

}  // namespace octet::kernels::detail
