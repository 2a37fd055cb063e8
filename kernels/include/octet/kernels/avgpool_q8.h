// INT8 average pooling on a channels-last image (octet.QLinearAveragePoolNhwc, which the layout
// pass makes of com.microsoft QLinearAveragePool / QLinearGlobalAveragePool), with the
// reference op's arithmetic: per output, the exact integer sum of the window's values inside
// the image minus x_zero * (their count), times ratio / count in float (ratio = x_scale /
// y_scale; count the window's positions inside the image, or inside the padded extent with
// count_include_pad), then round half to even, + y_zero, clamp (NaN as 0). Contiguous channels
// are vectorised by the compiler in each ISA's build.
#pragma once

#include <cstdint>

#include "octet/kernels/isa.h"

namespace octet::kernels {

struct AvgPoolNhwcQ8 {
  const uint8_t* in = nullptr;  // one image, [in_h][in_w][channels] (s8 as its bytes)
  bool s8_in = false;
  int64_t in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;
  int32_t x_zero = 0;  // in x's own domain
  float ratio = 1;     // x_scale / y_scale
  int32_t y_zero = 0, q_lo = 0, q_hi = 255;
  uint8_t* out = nullptr;  // one image, [out_h][out_w][channels]
};

// Scratch: int32 sums of one output pixel.
inline int64_t avgpool_nhwc_q8_scratch_bytes(const AvgPoolNhwcQ8& p) { return p.channels * 4 + 64; }

// Output rows [oh0, oh1).
using AvgPoolNhwcQ8Fn = void (*)(const AvgPoolNhwcQ8& p, int64_t oh0, int64_t oh1, void* scratch);
void avgpool_nhwc_q8_ref(const AvgPoolNhwcQ8& p, int64_t oh0, int64_t oh1, void* scratch);
void avgpool_nhwc_q8_avx2(const AvgPoolNhwcQ8& p, int64_t oh0, int64_t oh1, void* scratch);
void avgpool_nhwc_q8_avx512(const AvgPoolNhwcQ8& p, int64_t oh0, int64_t oh1, void* scratch);

}  // namespace octet::kernels
