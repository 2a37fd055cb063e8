// QLinearAdd on AVX2, 32 elements per step (qadd_q8.h): the reference's float operations one
// by one (vcvtdq2ps, vmulps, vaddps), rounding to nearest even by vcvtps2dq, then the zero
// point and the clamp in saturating int16 / 8-bit packs.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "octet/kernels/qadd_q8.h"

namespace octet::kernels {
namespace {

// The empty asm makes the product a finished value: the compiler cannot contract the
// multiply with the following add into an FMA (GCC does so for intrinsics under -mfma).
inline __m256 dequant8(__m128i bytes8, bool s8, __m256i zero, __m256 mult) {
  const __m256i v = s8 ? _mm256_cvtepi8_epi32(bytes8) : _mm256_cvtepu8_epi32(bytes8);
  __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zero)), mult);
  asm("" : "+x"(r));
  return r;
}

// The reference's value before the clamp: round_half_even(x) as int32 (vcvtps2dq rounds to
// nearest even in the default MXCSR), for 8 elements. Exact while |x| stays below 2^31,
// which the caller checks from the multipliers.
template <bool S8>
inline __m256i rounded8(__m128i a8, __m128i b8, __m256i za, __m256i zb, __m256 ma, __m256 mb) {
  return _mm256_cvtps_epi32(_mm256_add_ps(dequant8(a8, S8, za, ma), dequant8(b8, S8, zb, mb)));
}

// The whole loop per input type, so the type test is not inside it; 32 elements a step.
// The rounded values go to int16 and, plus the zero point, to bytes with saturating packs and
// adds: a value beyond the int16 range saturates to a bound that is still beyond the 8-bit
// range on the same side, so the result is the reference's clamp.
template <bool S8>
int64_t qadd_steps(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p) {
  const __m256i za = _mm256_set1_epi32(p.a_zero), zb = _mm256_set1_epi32(p.b_zero);
  const __m256 ma = _mm256_set1_ps(p.a_mult), mb = _mm256_set1_ps(p.b_mult);
  const __m256i zc = _mm256_set1_epi16(static_cast<int16_t>(p.c_zero));
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a32 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i b32 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    const __m128i a_lo = _mm256_castsi256_si128(a32), a_hi = _mm256_extracti128_si256(a32, 1);
    const __m128i b_lo = _mm256_castsi256_si128(b32), b_hi = _mm256_extracti128_si256(b32, 1);
    const __m256i q0 = rounded8<S8>(a_lo, b_lo, za, zb, ma, mb);
    const __m256i q1 = rounded8<S8>(_mm_srli_si128(a_lo, 8), _mm_srli_si128(b_lo, 8), za, zb, ma, mb);
    const __m256i q2 = rounded8<S8>(a_hi, b_hi, za, zb, ma, mb);
    const __m256i q3 = rounded8<S8>(_mm_srli_si128(a_hi, 8), _mm_srli_si128(b_hi, 8), za, zb, ma, mb);
    // Per 128-bit lane the packs interleave their sources; one permute restores the order.
    const __m256i w01 = _mm256_adds_epi16(_mm256_packs_epi32(q0, q1), zc);
    const __m256i w23 = _mm256_adds_epi16(_mm256_packs_epi32(q2, q3), zc);
    const __m256i bytes = S8 ? _mm256_packs_epi16(w01, w23) : _mm256_packus_epi16(w01, w23);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
  return i;
}

}  // namespace

void qadd_q8_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p) {
  int64_t i = 0;
  if (qadd_q8_params_ok(p)) i = p.s8 ? qadd_steps<true>(a, b, y, n, p) : qadd_steps<false>(a, b, y, n, p);
  for (; i < n; ++i)
    y[i] = static_cast<uint8_t>(qadd_q8_scalar(p.s8 ? int32_t(int8_t(a[i])) : int32_t(a[i]),
                                               p.s8 ? int32_t(int8_t(b[i])) : int32_t(b[i]), p));
}

}  // namespace octet::kernels
