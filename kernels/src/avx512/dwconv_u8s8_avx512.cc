// The depthwise INT8 plane kernel on AVX-512 (dwconv_u8s8.h): the same flat run of outputs as
// the portable build (dwconv_u8s8_impl.h), but register-blocked: 16 outputs at a time take
// every tap in a zmm accumulator (vpmovzxbd, vpmulld, vpaddd) and go straight through the
// epilogue (vmulps, vmaxps / vminps, vrndscaleps to nearest even, vcvtps2dq, + zp, clamp,
// vpmovdb), with masked loads and stores on the tail. No int32 buffer round trips.
#include <immintrin.h>

#include <cstring>

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
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.q_lo - p.zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(p.q_hi - p.zero_point));
  const __m512i zp = _mm512_set1_epi32(p.zero_point), qlo = _mm512_set1_epi32(p.q_lo),
                qhi = _mm512_set1_epi32(p.q_hi);
  for (int64_t i = 0; i < len; i += 16) {
    const __mmask16 m = len - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (len - i)) - 1);
    __m512i acc = comp;
    for (int64_t t = 0; t < taps; ++t) {
      const __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, src[t] + i));
      acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, w[t]));
    }
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
    y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
    y = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(y), zp);
    q = _mm512_min_epi32(_mm512_max_epi32(q, qlo), qhi);
    _mm_mask_storeu_epi8(flat + i, m, _mm512_cvtepi32_epi8(q));
  }
  for (int64_t oh = 0; oh < p.out_h; ++oh) std::memcpy(p.out + oh * p.out_w, flat + oh * row_step, p.out_w);
}

}  // namespace octet::kernels
