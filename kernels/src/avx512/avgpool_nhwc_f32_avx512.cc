// The channels-last FP32 average pool on AVX-512 (avgpool_f32.h): per output pixel, blocks of
// up to 64 channels keep their sums in four named zmm registers across the taps (vaddps in
// tap order), then one vdivps by the count; the last block is masked. Same bits as the
// portable build.
#include <immintrin.h>

#include <algorithm>

#include "octet/kernels/avgpool_f32.h"

namespace octet::kernels {
namespace {

// Channels [c0, c0 + 16 * NV) of one output pixel (the last vector masked by `tail`).
template <int NV>
inline void block(const AvgPoolNhwcF32& p, int64_t ih0, int64_t iw0, int64_t c0, __mmask16 tail, __m512 div,
                  float* out) {
  const __mmask16 full = 0xFFFF;
  const __mmask16 m0 = NV == 1 ? tail : full, m1 = NV == 2 ? tail : full, m2 = NV == 3 ? tail : full, m3 = tail;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for_each_tap_inside(p, ih0, iw0, [&](int64_t pixel) {
    const float* x = p.in + pixel * p.channels + c0;
    a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m0, x));
    if constexpr (NV > 1) a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m1, x + 16));
    if constexpr (NV > 2) a2 = _mm512_add_ps(a2, _mm512_maskz_loadu_ps(m2, x + 32));
    if constexpr (NV > 3) a3 = _mm512_add_ps(a3, _mm512_maskz_loadu_ps(m3, x + 48));
  });
  _mm512_mask_storeu_ps(out + c0, m0, _mm512_div_ps(a0, div));
  if constexpr (NV > 1) _mm512_mask_storeu_ps(out + c0 + 16, m1, _mm512_div_ps(a1, div));
  if constexpr (NV > 2) _mm512_mask_storeu_ps(out + c0 + 32, m2, _mm512_div_ps(a2, div));
  if constexpr (NV > 3) _mm512_mask_storeu_ps(out + c0 + 48, m3, _mm512_div_ps(a3, div));
}

}  // namespace

void avgpool_nhwc_f32_avx512(const AvgPoolNhwcF32& p, int64_t oh0, int64_t oh1) {
  const int64_t C = p.channels, full = C / 64, rem = C % 64;
  const int rem_vecs = static_cast<int>((rem + 15) / 16);
  const __mmask16 rem_tail = rem % 16 ? __mmask16((1u << (rem % 16)) - 1) : __mmask16(0xFFFF);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t ih0 = oh * p.stride_h - p.pad_top;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t iw0 = ow * p.stride_w - p.pad_left;
      float* o = p.out + (oh * p.out_w + ow) * C;
      const int64_t count = avgpool_nhwc_count(p, ih0, iw0);
      if (count <= 0) {
        std::fill(o, o + C, 0.0f);
        continue;
      }
      const __m512 div = _mm512_set1_ps(static_cast<float>(count));
      for (int64_t b = 0; b < full; ++b) block<4>(p, ih0, iw0, b * 64, 0xFFFF, div, o);
      const int64_t c0 = full * 64;
      switch (rem_vecs) {
        case 1: block<1>(p, ih0, iw0, c0, rem_tail, div, o); break;
        case 2: block<2>(p, ih0, iw0, c0, rem_tail, div, o); break;
        case 3: block<3>(p, ih0, iw0, c0, rem_tail, div, o); break;
        case 4: block<4>(p, ih0, iw0, c0, rem_tail, div, o); break;
        default: break;
      }
    }
  }
}

}  // namespace octet::kernels
