// The depthwise INT8 plane kernel on AVX-512 (dwconv_u8s8.h): the same flat run of outputs as
// the portable build (dwconv_u8s8_impl.h), but register-blocked: a block of outputs takes every
// tap in zmm accumulators and goes straight through the epilogue (vmulps, vmaxps / vminps,
// vrndscaleps to nearest even, vcvtps2dq, + zp, clamp, vpmovdb), with masked loads and stores
// on the tail; no int32 buffer round trips. s8-range weights (QLinearConv's) take two taps per
// vpmaddwd on 32 outputs; other weights one tap per vpmulld on 16.
#include <immintrin.h>

#include <cstring>

#include "avx512/requantize_avx512.h"
#include "ref/dwconv_u8s8_impl.h"

namespace octet::kernels {

void dwconv_u8s8_avx512(const DwConvU8S8Plane& p, void* scratch) {
  const int64_t sw = p.stride_w;
  const int64_t pitch = (p.in_w + sw - 1) / sw;
  const int64_t row_step = p.stride_h * pitch;
  const int64_t len = (p.out_h - 1) * row_step + p.out_w;
  const int64_t taps = p.kernel_h * p.kernel_w;
  if (taps > 64) {  // unusual kernels: the portable build
    detail::dwconv_u8s8_plane_impl(p, scratch);
    return;
  }
  uint8_t* buffer = static_cast<uint8_t*>(scratch);
  const uint8_t* base = p.in;
  if (sw > 1) {
    // Column phases, as in the portable build.
    detail::split_phases(p, pitch, buffer);
    base = buffer;
    buffer += sw * p.in_h * pitch;
  }
  uint8_t* flat = buffer;  // len bytes of results, rows row_step apart
  const uint8_t* src[64];
  __m512i w[64];
  for (int64_t kh = 0, t = 0; kh < p.kernel_h; ++kh)
    for (int64_t kw = 0; kw < p.kernel_w; ++kw, ++t) {
      const int64_t off = kw * p.dilation_w;
      src[t] = base + ((off % sw) * p.in_h + kh * p.dilation_h) * pitch + off / sw;
      w[t] = _mm512_set1_epi32(p.weights[t]);
    }
  const __m512i comp = _mm512_set1_epi32(p.comp);
  const __m512 scale = _mm512_set1_ps(p.scale);
  // 16 accumulators -> 16 output bytes: the epilogue of dwconv_u8s8.h.
  const detail::RequantizeAvx512 requantize_scaled(p.zero_point, p.q_lo, p.q_hi);
  auto requantize = [&](__m512i acc) { return requantize_scaled(acc, scale); };
  bool s8_weights = true;
  for (int64_t t = 0; t < taps; ++t) s8_weights = s8_weights && p.weights[t] >= -128 && p.weights[t] <= 127;
  if (s8_weights) {
    // Taps in pairs: 32 outputs widen to int16 and take two taps per vpmaddwd (u8 x s8 fits
    // in int16, the pair's sum in int32: exact). The unpacks leave each 128-bit lane's
    // outputs split between the two accumulators, so the bytes are put back in order at the end.
    const int64_t pairs = (taps + 1) / 2;
    __m512i wp[32];
    const uint8_t* src2[64];
    for (int64_t j = 0; j < pairs; ++j) {
      const int64_t t0 = 2 * j, t1 = 2 * j + 1;
      const auto w0 = static_cast<uint16_t>(static_cast<int16_t>(p.weights[t0]));
      const auto w1 = t1 < taps ? static_cast<uint16_t>(static_cast<int16_t>(p.weights[t1])) : uint16_t{0};
      wp[j] = _mm512_set1_epi32(static_cast<int32_t>(w0 | (uint32_t{w1} << 16)));
      src2[t0] = src[t0];
      src2[t1] = t1 < taps ? src[t1] : src[t0];  // weight 0: any readable row
    }
    for (int64_t i = 0; i < len; i += 32) {
      const __mmask32 m = len - i >= 32 ? ~__mmask32(0) : __mmask32((uint64_t{1} << (len - i)) - 1);
      __m512i acc_lo = comp, acc_hi = comp;
      for (int64_t j = 0; j < pairs; ++j) {
        const __m512i x0 = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, src2[2 * j] + i));
        const __m512i x1 = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, src2[2 * j + 1] + i));
        acc_lo = _mm512_add_epi32(acc_lo, _mm512_madd_epi16(_mm512_unpacklo_epi16(x0, x1), wp[j]));
        acc_hi = _mm512_add_epi32(acc_hi, _mm512_madd_epi16(_mm512_unpackhi_epi16(x0, x1), wp[j]));
      }
      // acc_lo holds outputs 0-3, 8-11, 16-19, 24-27 (a dword of bytes each), acc_hi the others.
      const __m128i b_lo = requantize(acc_lo), b_hi = requantize(acc_hi);
      const __m128i first = _mm_unpacklo_epi32(b_lo, b_hi), second = _mm_unpackhi_epi32(b_lo, b_hi);
      _mm256_mask_storeu_epi8(flat + i, m, _mm256_set_m128i(second, first));
    }
    for (int64_t oh = 0; oh < p.out_h; ++oh) std::memcpy(p.out + oh * p.out_w, flat + oh * row_step, p.out_w);
    return;
  }
  for (int64_t i = 0; i < len; i += 16) {
    const __mmask16 m = len - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (len - i)) - 1);
    __m512i acc = comp;
    for (int64_t t = 0; t < taps; ++t) {
      const __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, src[t] + i));
      acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, w[t]));
    }
    _mm_mask_storeu_epi8(flat + i, m, requantize(acc));
  }
  for (int64_t oh = 0; oh < p.out_h; ++oh) std::memcpy(p.out + oh * p.out_w, flat + oh * row_step, p.out_w);
}

}  // namespace octet::kernels
