// FP32 depthwise convolution (one filter per channel, multiplier 1), one channel plane per
// call, NCHW. Each ISA level binds its own kernel; the reference kernel defines the result.
#pragma once

#include <cstdint>

#include "octet/kernels/isa.h"
#include "octet/kernels/kernel_types.h"

namespace octet::kernels {

// The window of one plane (2-D; a 1-D conv has in_h = out_h = kernel_h = 1).
struct DwConvF32Shape {
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1, pad_top = 0, pad_left = 0;
};

struct DwConvF32Ops {
  const char* name = nullptr;  // "dwconv_f32_avx512", ...
  // False when this level has no kernel for the window (the caller takes a lower level).
  bool (*accepts)(const DwConvF32Shape& s) = nullptr;
  // y[oh, ow] = act(bias + residual[oh, ow] + sum over (kh, kw) in order of
  //             w[kh * kernel_w + kw] * x[oh * stride_h - pad_top + kh * dilation_h,
  //                                       ow * stride_w - pad_left + kw * dilation_w]),
  // padding reads as zero (its taps are skipped). residual may be null; it may alias y.
  void (*plane)(const DwConvF32Shape& s, const float* x, const float* w, float bias,
                const float* residual, Activation act, float clip_lo, float clip_hi,
                float* y) = nullptr;
};

// Null when the level has no kernel of its own or the CPU lacks it.
const DwConvF32Ops* dwconv_f32_ops_ref();
const DwConvF32Ops* dwconv_f32_ops_avx2();
const DwConvF32Ops* dwconv_f32_ops_avx512();

// The same convolution on a channels-last image (octet.ConvNhwc, one output channel per input
// channel): [in_h][in_w][channels] in and out; per output pixel, acc[c] = bias[c] + the taps
// in (kh, kw) order over contiguous channels (the compiler vectorises it in each ISA's build),
// + residual, activation. Padding taps are skipped.
struct DwConvNhwcF32 : NhwcWindow {
  const float* in = nullptr;  // one image
  const float* weights = nullptr;   // [kernel_h * kernel_w][channels]
  const float* bias = nullptr;      // [channels] or null
  const float* residual = nullptr;  // one image of the output's shape, or null
  Activation act = Activation::none;
  float clip_lo = 0, clip_hi = 0;
  float* out = nullptr;  // one image
};
// Output rows [oh0, oh1); scratch: channels floats.
using DwConvNhwcF32Fn = void (*)(const DwConvNhwcF32& p, int64_t oh0, int64_t oh1, float* scratch);
void dwconv_nhwc_f32_ref(const DwConvNhwcF32& p, int64_t oh0, int64_t oh1, float* scratch);
void dwconv_nhwc_f32_avx2(const DwConvNhwcF32& p, int64_t oh0, int64_t oh1, float* scratch);
void dwconv_nhwc_f32_avx512(const DwConvNhwcF32& p, int64_t oh0, int64_t oh1, float* scratch);

}  // namespace octet::kernels
