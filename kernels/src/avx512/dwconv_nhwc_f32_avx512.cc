// The channels-last FP32 depthwise kernel on AVX-512 (dwconv.h, DwConvNhwcF32): per output
// pixel, blocks of up to 64 channels keep their accumulators in four zmm registers across
// every tap (one FMA per tap, (kh, kw) order), then residual and activation, one store; the
// last block is masked.
#include <immintrin.h>

#include "ref/dwconv_nhwc_f32_impl.h"

namespace octet::kernels {
namespace {

template <int NV>
inline void channel_block(const DwConvNhwcF32& p, const float* const* src, const float* const* wsrc, int64_t taps,
                          int64_t c0, __mmask16 tail, const float* residual, float* out) {
  __mmask16 m[NV];
  for (int v = 0; v < NV; ++v) m[v] = v == NV - 1 ? tail : __mmask16(0xFFFF);
  __m512 acc[NV];
  for (int v = 0; v < NV; ++v)
    acc[v] = p.bias ? _mm512_maskz_loadu_ps(m[v], p.bias + c0 + 16 * v) : _mm512_setzero_ps();
  for (int64_t t = 0; t < taps; ++t) {
    const float* x = src[t] + c0;
    const float* w = wsrc[t] + c0;
    for (int v = 0; v < NV; ++v)
      acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v], x + 16 * v), _mm512_maskz_loadu_ps(m[v], w + 16 * v), acc[v]);
  }
  const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(p.clip_lo), hi = _mm512_set1_ps(p.clip_hi);
  for (int v = 0; v < NV; ++v) {
    __m512 y = acc[v];
    if (residual) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m[v], residual + c0 + 16 * v));
    if (p.act == Activation::relu) y = _mm512_max_ps(y, zero);
    else if (p.act == Activation::clip) y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
    else if (p.act == Activation::hardswish)
      y = _mm512_mul_ps(y, _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(y, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f)), zero),
                                         _mm512_set1_ps(1.0f)));
    _mm512_mask_storeu_ps(out + c0 + 16 * v, m[v], y);
  }
}

}  // namespace

void dwconv_nhwc_f32_avx512(const DwConvNhwcF32& p, int64_t oh0, int64_t oh1, float* scratch) {
  const int64_t taps_max = p.kernel_h * p.kernel_w;
  if (taps_max > 64) {  // unusual kernels: the portable build
    detail::dwconv_nhwc_f32_impl(p, oh0, oh1, scratch);
    return;
  }
  const int64_t C = p.channels;
  const int64_t full = C / 64, rem = C % 64;
  const int rem_vecs = static_cast<int>((rem + 15) / 16);
  const __mmask16 rem_tail = rem % 16 ? __mmask16((1u << (rem % 16)) - 1) : __mmask16(0xFFFF);
  const float* src[64];
  const float* wsrc[64];
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      // The taps inside the image (padding taps are skipped).
      int64_t taps = 0;
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
        if (ih < 0 || ih >= p.in_h) continue;
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
          if (iw < 0 || iw >= p.in_w) continue;
          src[taps] = p.in + (ih * p.in_w + iw) * C;
          wsrc[taps++] = p.weights + (kh * p.kernel_w + kw) * C;
        }
      }
      const int64_t o = (oh * p.out_w + ow) * C;
      const float* residual = p.residual ? p.residual + o : nullptr;
      float* out = p.out + o;
      for (int64_t b = 0; b < full; ++b) channel_block<4>(p, src, wsrc, taps, b * 64, 0xFFFF, residual, out);
      const int64_t c0 = full * 64;
      switch (rem_vecs) {
        case 1: channel_block<1>(p, src, wsrc, taps, c0, rem_tail, residual, out); break;
        case 2: channel_block<2>(p, src, wsrc, taps, c0, rem_tail, residual, out); break;
        case 3: channel_block<3>(p, src, wsrc, taps, c0, rem_tail, residual, out); break;
        case 4: channel_block<4>(p, src, wsrc, taps, c0, rem_tail, residual, out); break;
        default: break;
      }
    }
}

}  // namespace octet::kernels
