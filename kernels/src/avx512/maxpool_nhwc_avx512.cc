// The channels-last max pool on AVX-512 (maxpool_nhwc.h): per output pixel, blocks of up to
// 256 bytes of channels keep their running max in up to four zmm registers across the
// window's taps (vpmaxub / vpmaxsb / vmaxps with the tap first: a NaN tap leaves the max, as
// the reference's x > acc ? x : acc); the last block is byte-masked.
#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "octet/kernels/maxpool_nhwc.h"

namespace octet::kernels {
namespace {

template <MaxPoolElem E>
inline __m512i vmax(__m512i acc, __m512i x) {
  if constexpr (E == MaxPoolElem::u8) return _mm512_max_epu8(acc, x);
  else if constexpr (E == MaxPoolElem::s8) return _mm512_max_epi8(acc, x);
  else return _mm512_castps_si512(_mm512_max_ps(_mm512_castsi512_ps(x), _mm512_castsi512_ps(acc)));
}

// Bytes [b0, b0 + 64 * NV) of one output pixel's channels (the last vector masked by `tail`).
// The running maxima are named registers, not an array, which GCC would keep on the stack.
template <MaxPoolElem E, int NV>
inline void block(const MaxPoolNhwc& p, const uint8_t* in, int64_t row_bytes, int64_t ih0, int64_t iw0,
                  int64_t b0, __mmask64 tail, __m512i init, uint8_t* out) {
  const __mmask64 full = ~__mmask64(0);
  const __mmask64 m0 = NV == 1 ? tail : full, m1 = NV == 2 ? tail : full, m2 = NV == 3 ? tail : full, m3 = tail;
  __m512i a0 = init, a1 = init, a2 = init, a3 = init;
  for_each_tap_inside(p, ih0, iw0, [&](int64_t pixel) {
    const uint8_t* x = in + pixel * row_bytes + b0;
    a0 = vmax<E>(a0, _mm512_maskz_loadu_epi8(m0, x));
    if constexpr (NV > 1) a1 = vmax<E>(a1, _mm512_maskz_loadu_epi8(m1, x + 64));
    if constexpr (NV > 2) a2 = vmax<E>(a2, _mm512_maskz_loadu_epi8(m2, x + 128));
    if constexpr (NV > 3) a3 = vmax<E>(a3, _mm512_maskz_loadu_epi8(m3, x + 192));
  });
  _mm512_mask_storeu_epi8(out + b0, m0, a0);
  if constexpr (NV > 1) _mm512_mask_storeu_epi8(out + b0 + 64, m1, a1);
  if constexpr (NV > 2) _mm512_mask_storeu_epi8(out + b0 + 128, m2, a2);
  if constexpr (NV > 3) _mm512_mask_storeu_epi8(out + b0 + 192, m3, a3);
}

template <MaxPoolElem E>
void run(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1) {
  using T = std::conditional_t<E == MaxPoolElem::f32, float, std::conditional_t<E == MaxPoolElem::s8, int8_t, uint8_t>>;
  const T init = E == MaxPoolElem::f32 ? T(-std::numeric_limits<float>::infinity()) : E == MaxPoolElem::s8 ? T(-128) : T(0);
  const T empty = E == MaxPoolElem::f32 ? T(std::numeric_limits<float>::lowest()) : init;
  __m512i init_v;
  if constexpr (E == MaxPoolElem::f32) init_v = _mm512_castps_si512(_mm512_set1_ps(init));
  else init_v = _mm512_set1_epi8(static_cast<char>(init));
  const int64_t row_bytes = p.channels * static_cast<int64_t>(sizeof(T));
  const uint8_t* in = static_cast<const uint8_t*>(p.in);
  uint8_t* out = static_cast<uint8_t*>(p.out);
  const int64_t full = row_bytes / 256, rem = row_bytes % 256;
  const int rem_vecs = static_cast<int>((rem + 63) / 64);
  const __mmask64 rem_tail = rem % 64 ? (__mmask64(1) << (rem % 64)) - 1 : ~__mmask64(0);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t ih0 = oh * p.stride_h - p.pad_top;
    int64_t rows_in = 0;
    for (int64_t kh = 0; kh < p.kernel_h; ++kh) rows_in += ih0 + kh * p.dilation_h >= 0 && ih0 + kh * p.dilation_h < p.in_h;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t iw0 = ow * p.stride_w - p.pad_left;
      uint8_t* o = out + (oh * p.out_w + ow) * row_bytes;
      int64_t cols_in = 0;
      for (int64_t kw = 0; kw < p.kernel_w; ++kw) cols_in += iw0 + kw * p.dilation_w >= 0 && iw0 + kw * p.dilation_w < p.in_w;
      if (rows_in == 0 || cols_in == 0) {
        std::fill(reinterpret_cast<T*>(o), reinterpret_cast<T*>(o) + p.channels, empty);
        continue;
      }
      for (int64_t b = 0; b < full; ++b) block<E, 4>(p, in, row_bytes, ih0, iw0, b * 256, ~__mmask64(0), init_v, o);
      const int64_t b0 = full * 256;
      switch (rem_vecs) {
        case 1: block<E, 1>(p, in, row_bytes, ih0, iw0, b0, rem_tail, init_v, o); break;
        case 2: block<E, 2>(p, in, row_bytes, ih0, iw0, b0, rem_tail, init_v, o); break;
        case 3: block<E, 3>(p, in, row_bytes, ih0, iw0, b0, rem_tail, init_v, o); break;
        case 4: block<E, 4>(p, in, row_bytes, ih0, iw0, b0, rem_tail, init_v, o); break;
        default: break;
      }
    }
  }
}

}  // namespace

void maxpool_nhwc_avx512(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1) {
  switch (p.elem) {
    case MaxPoolElem::u8: run<MaxPoolElem::u8>(p, oh0, oh1); break;
    case MaxPoolElem::s8: run<MaxPoolElem::s8>(p, oh0, oh1); break;
    case MaxPoolElem::f32: run<MaxPoolElem::f32>(p, oh0, oh1); break;
  }
}

}  // namespace octet::kernels
