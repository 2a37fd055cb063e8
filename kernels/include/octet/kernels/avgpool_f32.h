// FP32 average pooling of a channels-last image (octet.AveragePoolNhwc): per output pixel and
// channel, the sum of the window's taps inside the image in (kh, kw) order from 0, divided by
// the count (the taps inside the image, or with count_include_pad those inside the padded
// extent); a window with a zero count gives 0. Every build adds and divides in that order, so
// all give the same bits.
#pragma once

#include <cstdint>

#include "octet/kernels/isa.h"
#include "octet/kernels/kernel_types.h"

namespace octet::kernels {

struct AvgPoolNhwcF32 : NhwcWindow {
  int64_t pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;
  const float* in = nullptr;  // one image, [in_h][in_w][channels]
  float* out = nullptr;       // one image, [out_h][out_w][channels]
};

// Taps of one dim inside [lower, upper) for the window starting at `start`.
inline int64_t pool_taps_within(int64_t start, int64_t k, int64_t d, int64_t lower, int64_t upper) {
  int64_t n = 0;
  for (int64_t t = 0; t < k; ++t) n += start + t * d >= lower && start + t * d < upper;
  return n;
}

// The divisor of the window at (ih0, iw0) (its top-left tap, padding included).
inline int64_t avgpool_nhwc_count(const AvgPoolNhwcF32& p, int64_t ih0, int64_t iw0) {
  if (p.count_include_pad)
    return pool_taps_within(ih0, p.kernel_h, p.dilation_h, -p.pad_top, p.in_h + p.pad_bottom) *
           pool_taps_within(iw0, p.kernel_w, p.dilation_w, -p.pad_left, p.in_w + p.pad_right);
  return pool_taps_within(ih0, p.kernel_h, p.dilation_h, 0, p.in_h) *
         pool_taps_within(iw0, p.kernel_w, p.dilation_w, 0, p.in_w);
}

// Output rows [oh0, oh1).
using AvgPoolNhwcF32Fn = void (*)(const AvgPoolNhwcF32& p, int64_t oh0, int64_t oh1);
void avgpool_nhwc_f32_ref(const AvgPoolNhwcF32& p, int64_t oh0, int64_t oh1);
void avgpool_nhwc_f32_avx2(const AvgPoolNhwcF32& p, int64_t oh0, int64_t oh1);
void avgpool_nhwc_f32_avx512(const AvgPoolNhwcF32& p, int64_t oh0, int64_t oh1);

}  // namespace octet::kernels
