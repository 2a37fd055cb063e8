// Types shared by several kernel families: the fused activation of the GEMM / convolution
// epilogues, and the window of a channels-last (NHWC) sliding-window kernel (depthwise
// convolutions and pooling).
#pragma once

#include <cstdint>

namespace octet::kernels {

enum class Activation { none, relu, clip, hardswish };

// ONNX HardSwish (alpha 1/6, beta 0.5): y * min(max(y / 6 + 0.5, 0), 1). The SIMD kernels may
// form the gate with one FMA; FP32 epilogues agree with the reference within rounding.
inline float hardswish(float y) {
  float gate = y * (1.0f / 6.0f) + 0.5f;
  gate = gate > 0.0f ? gate : 0.0f;
  gate = gate < 1.0f ? gate : 1.0f;
  return y * gate;
}

// The window of a channels-last kernel over one image (2-D): [in_h][in_w][channels] in,
// [out_h][out_w][channels] out.
struct NhwcWindow {
  int64_t in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

// Calls tap(pixel) for each tap of the window whose top-left tap is (ih0, iw0) (padding
// included) that lies inside the image, in (kh, kw) order; pixel = ih * in_w + iw.
template <class Fn>
inline void for_each_tap_inside(const NhwcWindow& w, int64_t ih0, int64_t iw0, Fn&& tap) {
  for (int64_t kh = 0; kh < w.kernel_h; ++kh) {
    const int64_t ih = ih0 + kh * w.dilation_h;
    if (ih < 0 || ih >= w.in_h) continue;
    for (int64_t kw = 0; kw < w.kernel_w; ++kw) {
      const int64_t iw = iw0 + kw * w.dilation_w;
      if (iw >= 0 && iw < w.in_w) tap(ih * w.in_w + iw);
    }
  }
}

}  // namespace octet::kernels
