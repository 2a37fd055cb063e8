// The channels-last depthwise INT8 kernel on AVX-512 VNNI (dwconv_u8s8.h): per output pixel
// and block of 64 channels, four taps at a time are interleaved per channel in registers
// (two rounds of unpacks) and multiplied by one vpdpbusd per 16 channels (u8 x s8, exact
// int32); the epilogue converts, clamps (NaN to the low bound) and rounds each vector
// (vcvtps2dq, nearest even), and in-lane packs (packssdw, + zero point, packuswb / packsswb)
// put the channels back in order for one masked 64-byte store. Same bits as the reference.
#include <immintrin.h>

#include <cstring>

#include "octet/kernels/dwconv_u8s8.h"
#include "ref/dwconv_nhwc_u8s8_impl.h"

namespace octet::kernels {
namespace {

constexpr int64_t kMaxTaps = 64;

}  // namespace

void dwconv_nhwc_u8s8_vnni(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch) {
  const int64_t taps = p.kernel_h * p.kernel_w;
  if (taps > kMaxTaps || !p.vnni_packed) {  // unusual kernels
    detail::dwconv_nhwc_u8s8_impl(p, oh0, oh1, scratch);
    return;
  }
  const int64_t C = p.channels, groups = (taps + 3) / 4;
  const int64_t block_bytes = 2 * 64 * 4 + groups * 64 * 4;
  uint8_t* padding = static_cast<uint8_t*>(scratch);  // C bytes of the zero point
  std::memset(padding, p.x_zero, static_cast<size_t>(C));
  // Tap t of the pixel at src[t]; the taps that fill the last group read the padding (their
  // weights are zero).
  const uint8_t* src[kMaxTaps];
  for (int64_t t = taps; t < groups * 4; ++t) src[t] = padding;
  int64_t offset[kMaxTaps];  // of each tap from the window's corner, inside the image
  for (int64_t kh = 0, t = 0; kh < p.kernel_h; ++kh)
    for (int64_t kw = 0; kw < p.kernel_w; ++kw, ++t) offset[t] = (kh * p.dilation_h * p.in_w + kw * p.dilation_w) * C;
  const int64_t span_h = (p.kernel_h - 1) * p.dilation_h, span_w = (p.kernel_w - 1) * p.dilation_w;
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.q_lo - p.zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.q_hi - p.zero_point));
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(p.zero_point));
  const bool unsigned_out = p.q_lo >= 0;  // results in [0, 255]; else in [-128, 127]
  const uint8_t* packed = static_cast<const uint8_t*>(p.vnni_packed);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t ih0 = oh * p.stride_h - p.pad_top;
    const bool rows_inside = ih0 >= 0 && ih0 + span_h < p.in_h;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t iw0 = ow * p.stride_w - p.pad_left;
      if (rows_inside && iw0 >= 0 && iw0 + span_w < p.in_w) {
        const uint8_t* corner = p.in + (ih0 * p.in_w + iw0) * C;
        for (int64_t t = 0; t < taps; ++t) src[t] = corner + offset[t];
      } else {
        for (int64_t kh = 0, t = 0; kh < p.kernel_h; ++kh) {
          const int64_t ih = ih0 + kh * p.dilation_h;
          const bool row_inside = ih >= 0 && ih < p.in_h;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw, ++t) {
            const int64_t iw = iw0 + kw * p.dilation_w;
            src[t] = row_inside && iw >= 0 && iw < p.in_w ? p.in + (ih * p.in_w + iw) * C : padding;
          }
        }
      }
      uint8_t* out = p.out + (oh * p.out_w + ow) * C;
      const uint8_t* block = packed;
      for (int64_t c0 = 0; c0 < C; c0 += 64, block += block_bytes) {
        const __mmask64 m = C - c0 >= 64 ? ~__mmask64(0) : (__mmask64(1) << (C - c0)) - 1;
        __m512i acc[4];
        for (int r = 0; r < 4; ++r) acc[r] = _mm512_loadu_si512(block + 64 * r);
        const uint8_t* w = block + 2 * 64 * 4;
        for (int64_t g = 0; g < groups; ++g, w += 256) {
          const __m512i x0 = _mm512_maskz_loadu_epi8(m, src[4 * g] + c0);
          const __m512i x1 = _mm512_maskz_loadu_epi8(m, src[4 * g + 1] + c0);
          const __m512i x2 = _mm512_maskz_loadu_epi8(m, src[4 * g + 2] + c0);
          const __m512i x3 = _mm512_maskz_loadu_epi8(m, src[4 * g + 3] + c0);
          // Per 128-bit lane L: (x0, x1) / (x2, x3) byte pairs of channels 16 L + 0..7 and
          // 16 L + 8..15, then dwords (x0, x1, x2, x3) of channels 16 L + 4 r + 0..3.
          const __m512i a_lo = _mm512_unpacklo_epi8(x0, x1), a_hi = _mm512_unpackhi_epi8(x0, x1);
          const __m512i b_lo = _mm512_unpacklo_epi8(x2, x3), b_hi = _mm512_unpackhi_epi8(x2, x3);
          acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(a_lo, b_lo), _mm512_loadu_si512(w));
          acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(a_lo, b_lo), _mm512_loadu_si512(w + 64));
          acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(a_hi, b_hi), _mm512_loadu_si512(w + 128));
          acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(a_hi, b_hi), _mm512_loadu_si512(w + 192));
        }
        __m512i q[4];
        for (int r = 0; r < 4; ++r) {
          const __m512 scale = _mm512_loadu_ps(block + 64 * 4 + 64 * r);
          __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r]), scale);
          y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);  // NaN -> lo, as the reference
          q[r] = _mm512_cvtps_epi32(y);                 // nearest-even in the default MXCSR
        }
        // In range after the clamp, so the packs do not saturate and the int16 add is exact.
        const __m512i w01 = _mm512_add_epi16(_mm512_packs_epi32(q[0], q[1]), zp16);
        const __m512i w23 = _mm512_add_epi16(_mm512_packs_epi32(q[2], q[3]), zp16);
        const __m512i bytes = unsigned_out ? _mm512_packus_epi16(w01, w23) : _mm512_packs_epi16(w01, w23);
        _mm512_mask_storeu_epi8(out + c0, m, bytes);
      }
    }
  }
}

}  // namespace octet::kernels
