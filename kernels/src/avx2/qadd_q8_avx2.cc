// QLinearAdd on AVX2, 16 elements per step (qadd_q8.h): the reference's float operations
// one by one (vcvtdq2ps, vmulps, vaddps, vdivps, vroundps to nearest even), then the clamp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "octet/kernels/qadd_q8.h"

namespace octet::kernels {
namespace {

// The empty asm makes the product a finished value: the compiler cannot contract the
// multiply with the following add into an FMA (GCC does so for intrinsics under -mfma).
inline __m256 dequant8(__m128i bytes8, bool s8, __m256i zero, __m256 scale) {
  const __m256i v = s8 ? _mm256_cvtepi8_epi32(bytes8) : _mm256_cvtepu8_epi32(bytes8);
  __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zero)), scale);
  asm("" : "+x"(r));
  return r;
}

int32_t scalar(uint8_t a, uint8_t b, const QAddQ8Params& p, int32_t lo, int32_t hi) {
  const int32_t av = p.s8 ? static_cast<int8_t>(a) : a, bv = p.s8 ? static_cast<int8_t>(b) : b;
  float va = static_cast<float>(av - p.a_zero) * p.a_scale, vb = static_cast<float>(bv - p.b_zero) * p.b_scale;
  asm("" : "+x"(va), "+x"(vb));  // no contraction into an FMA
  const float v = (va + vb) / p.c_scale;
  const float r = std::nearbyint(v) + static_cast<float>(p.c_zero);
  if (r <= static_cast<float>(lo)) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int32_t>(r);
}

}  // namespace

void qadd_q8_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p) {
  const int32_t lo = p.s8 ? -128 : 0, hi = p.s8 ? 127 : 255;
  const __m256i za = _mm256_set1_epi32(p.a_zero), zb = _mm256_set1_epi32(p.b_zero);
  const __m256 sa = _mm256_set1_ps(p.a_scale), sb = _mm256_set1_ps(p.b_scale), sc = _mm256_set1_ps(p.c_scale);
  const __m256 zc = _mm256_set1_ps(static_cast<float>(p.c_zero));
  const __m256 flo = _mm256_set1_ps(static_cast<float>(lo)), fhi = _mm256_set1_ps(static_cast<float>(hi));
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i b16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    __m256i q[2];
    for (int h = 0; h < 2; ++h) {
      const __m128i a8 = h ? _mm_srli_si128(a16, 8) : a16, b8 = h ? _mm_srli_si128(b16, 8) : b16;
      const __m256 v = _mm256_div_ps(_mm256_add_ps(dequant8(a8, p.s8, za, sa), dequant8(b8, p.s8, zb, sb)), sc);
      __m256 r = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zc);
      r = _mm256_min_ps(_mm256_max_ps(r, flo), fhi);
      q[h] = _mm256_cvtps_epi32(r);  // integral and in range: exact
    }
    // int32 x 16 -> int16 (lanes interleaved by packs) -> order restored -> bytes.
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8);
    const __m128i lo8 = _mm256_castsi256_si128(w), hi8 = _mm256_extracti128_si256(w, 1);
    const __m128i bytes = p.s8 ? _mm_packs_epi16(lo8, hi8) : _mm_packus_epi16(lo8, hi8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), bytes);
  }
  for (; i < n; ++i) y[i] = static_cast<uint8_t>(scalar(a[i], b[i], p, lo, hi));
}

}  // namespace octet::kernels
