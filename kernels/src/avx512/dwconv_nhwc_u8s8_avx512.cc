// The channels-last depthwise INT8 kernel on AVX-512 (dwconv_u8s8.h): per output pixel, blocks
// of up to 64 channels keep their accumulators in four zmm registers across every tap
// (vpmovzxbd, vpmulld, vpaddd: exact int32) and go straight through the epilogue (vmulps,
// vmaxps / vminps, vrndscaleps to nearest even, vcvtps2dq, + zp, clamp, vpmovdb); the last
// block is masked. Same arithmetic as the portable build, so the same bits.
#include <immintrin.h>

#include <cstring>

#include "avx512/requantize_avx512.h"
#include "ref/dwconv_nhwc_u8s8_impl.h"

namespace octet::kernels {
namespace {

using detail::RequantizeAvx512;

// Channels [c0, c0 + 16 * NV) of one output pixel (the last vector masked by `tail`) over
// `taps` input rows src[t] (channel 0 of the pixel each tap reads).
template <int NV>
inline void channel_block(const DwConvU8S8Nhwc& p, const uint8_t* const* src, int64_t taps, int64_t c0,
                          __mmask16 tail, const RequantizeAvx512& ep, uint8_t* out) {
  const int64_t C = p.channels;
  __mmask16 m[NV];
  for (int v = 0; v < NV; ++v) m[v] = v == NV - 1 ? tail : __mmask16(0xFFFF);
  __m512i acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = _mm512_maskz_loadu_epi32(m[v], p.comp + c0 + 16 * v);
  for (int64_t t = 0; t < taps; ++t) {
    const uint8_t* x = src[t] + c0;
    const int32_t* w = p.weights + t * C + c0;
    for (int v = 0; v < NV; ++v) {
      const __m512i xv = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m[v], x + 16 * v));
      const __m512i wv = _mm512_maskz_loadu_epi32(m[v], w + 16 * v);
      acc[v] = _mm512_add_epi32(acc[v], _mm512_mullo_epi32(xv, wv));
    }
  }
  for (int v = 0; v < NV; ++v) {
    const __m512 scale = _mm512_maskz_loadu_ps(m[v], p.scale + c0 + 16 * v);
    _mm_mask_storeu_epi8(out + c0 + 16 * v, m[v], ep(acc[v], scale));
  }
}

}  // namespace

void dwconv_nhwc_u8s8_avx512(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch) {
  const int64_t taps = p.kernel_h * p.kernel_w;
  if (taps > 64) {  // unusual kernels: the portable build
    detail::dwconv_nhwc_u8s8_impl(p, oh0, oh1, scratch);
    return;
  }
  const int64_t C = p.channels;
  uint8_t* padding = static_cast<uint8_t*>(scratch);  // C bytes of the zero point
  std::memset(padding, p.x_zero, static_cast<size_t>(C));
  const RequantizeAvx512 ep(p.zero_point, p.q_lo, p.q_hi);
  const int64_t full = C / 64, rem = C % 64;
  const int rem_vecs = static_cast<int>((rem + 15) / 16);
  const __mmask16 rem_tail = rem % 16 ? __mmask16((1u << (rem % 16)) - 1) : __mmask16(0xFFFF);
  const uint8_t* src[64];
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      for (int64_t kh = 0, t = 0; kh < p.kernel_h; ++kh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
        const bool row_inside = ih >= 0 && ih < p.in_h;
        for (int64_t kw = 0; kw < p.kernel_w; ++kw, ++t) {
          const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
          src[t] = row_inside && iw >= 0 && iw < p.in_w ? p.in + (ih * p.in_w + iw) * C : padding;
        }
      }
      uint8_t* out = p.out + (oh * p.out_w + ow) * C;
      for (int64_t b = 0; b < full; ++b) channel_block<4>(p, src, taps, b * 64, 0xFFFF, ep, out);
      const int64_t c0 = full * 64;
      switch (rem_vecs) {
        case 1: channel_block<1>(p, src, taps, c0, rem_tail, ep, out); break;
        case 2: channel_block<2>(p, src, taps, c0, rem_tail, ep, out); break;
        case 3: channel_block<3>(p, src, taps, c0, rem_tail, ep, out); break;
        case 4: channel_block<4>(p, src, taps, c0, rem_tail, ep, out); break;
        default: break;
      }
    }
}

}  // namespace octet::kernels
