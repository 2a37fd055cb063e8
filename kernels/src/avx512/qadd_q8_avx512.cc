// QLinearAdd on AVX-512, 64 elements per step (qadd_q8.h): the AVX2 kernel's operations on
// zmm registers (vcvtdq2ps, vmulps, vaddps one by one, rounding by vcvtps2dq, the zero
// point and clamp in saturating int16 / 8-bit packs), so the same bits as the reference.
#include <immintrin.h>

#include "octet/kernels/qadd_q8.h"

namespace octet::kernels {
namespace {

// (v - zero) * mult for 16 bytes; the empty asm keeps the product from being contracted
// into an FMA with the add that follows.
template <bool S8>
inline __m512 dequant16(__m128i bytes16, __m512i zero, __m512 mult) {
  const __m512i v = S8 ? _mm512_cvtepi8_epi32(bytes16) : _mm512_cvtepu8_epi32(bytes16);
  __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, zero)), mult);
  asm("" : "+v"(r));
  return r;
}

template <bool S8>
inline __m512i rounded16(__m128i a16, __m128i b16, __m512i za, __m512i zb, __m512 ma, __m512 mb) {
  return _mm512_cvtps_epi32(_mm512_add_ps(dequant16<S8>(a16, za, ma), dequant16<S8>(b16, zb, mb)));
}

template <bool S8>
int64_t qadd_steps(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p) {
  const __m512i za = _mm512_set1_epi32(p.a_zero), zb = _mm512_set1_epi32(p.b_zero);
  const __m512 ma = _mm512_set1_ps(p.a_mult), mb = _mm512_set1_ps(p.b_mult);
  const __m512i zc = _mm512_set1_epi16(static_cast<int16_t>(p.c_zero));
  // Packs interleave their sources per 128-bit lane: dword d of the result holds elements
  // 16 (d % 4) + 4 (d / 4) ... + 3; this puts them back in order.
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i a64 = _mm512_loadu_si512(a + i), b64 = _mm512_loadu_si512(b + i);
    const __m512i q0 = rounded16<S8>(_mm512_castsi512_si128(a64), _mm512_castsi512_si128(b64), za, zb, ma, mb);
    const __m512i q1 = rounded16<S8>(_mm512_extracti32x4_epi32(a64, 1), _mm512_extracti32x4_epi32(b64, 1), za, zb, ma, mb);
    const __m512i q2 = rounded16<S8>(_mm512_extracti32x4_epi32(a64, 2), _mm512_extracti32x4_epi32(b64, 2), za, zb, ma, mb);
    const __m512i q3 = rounded16<S8>(_mm512_extracti32x4_epi32(a64, 3), _mm512_extracti32x4_epi32(b64, 3), za, zb, ma, mb);
    const __m512i w01 = _mm512_adds_epi16(_mm512_packs_epi32(q0, q1), zc);
    const __m512i w23 = _mm512_adds_epi16(_mm512_packs_epi32(q2, q3), zc);
    const __m512i bytes = S8 ? _mm512_packs_epi16(w01, w23) : _mm512_packus_epi16(w01, w23);
    _mm512_storeu_si512(y + i, _mm512_permutexvar_epi32(order, bytes));
  }
  return i;
}

}  // namespace

void qadd_q8_avx512(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p) {
  int64_t i = 0;
  if (qadd_q8_params_ok(p)) i = p.s8 ? qadd_steps<true>(a, b, y, n, p) : qadd_steps<false>(a, b, y, n, p);
  qadd_q8_avx2(a + i, b + i, y + i, n - i, p);  // the last < 64 elements (or all, the scalar way)
}

}  // namespace octet::kernels
