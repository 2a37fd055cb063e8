// The portable channels-last depthwise INT8 kernel (dwconv_u8s8.h), compiled in the ref, avx2
// and avx512 folders with their flags. Per output pixel: the accumulators of all channels
// start at comp, every tap adds one contiguous run of channels (int32 multiply-adds, exact),
// and the float epilogue has no additions (nothing for FMA contraction to change), so every
// build computes the reference's bits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "octet/kernels/dwconv_u8s8.h"

namespace octet::kernels::detail {

inline void dwconv_nhwc_u8s8_impl(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch) {
  const int64_t C = p.channels;
  int32_t* __restrict acc = static_cast<int32_t*>(scratch);
  uint8_t* padding = reinterpret_cast<uint8_t*>(acc + C);  // C bytes of the zero point
  std::memset(padding, p.x_zero, static_cast<size_t>(C));
  const float lo = static_cast<float>(p.q_lo - p.zero_point), hi = static_cast<float>(p.q_hi - p.zero_point);
  const int32_t zp = p.zero_point, q_lo = p.q_lo, q_hi = p.q_hi;
  const float* __restrict scale = p.scale;
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      for (int64_t c = 0; c < C; ++c) acc[c] = p.comp[c];
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
        const bool row_inside = ih >= 0 && ih < p.in_h;
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
          const uint8_t* __restrict src =
              row_inside && iw >= 0 && iw < p.in_w ? p.in + (ih * p.in_w + iw) * C : padding;
          const int32_t* __restrict w = p.weights + (kh * p.kernel_w + kw) * C;
          for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<int32_t>(src[c]) * w[c];
        }
      }
      uint8_t* __restrict o = p.out + (oh * p.out_w + ow) * C;
      for (int64_t c = 0; c < C; ++c) {
        float y = static_cast<float>(acc[c]) * scale[c];
        y = y > lo ? y : lo;  // NaN -> lo
        y = y < hi ? y : hi;
        int32_t q = static_cast<int32_t>(std::nearbyint(y)) + zp;
        q = std::min(std::max(q, q_lo), q_hi);
        o[c] = static_cast<uint8_t>(q);
      }
    }
}

}  // namespace octet::kernels::detail
