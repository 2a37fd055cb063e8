// QuantizeLinear / DequantizeLinear on AVX2 (quantize_q8.h), 32 elements per step: vdivps,
// NaN to 0, vroundps to nearest even, + zero point in float, clamp, then packs to bytes.
#include <immintrin.h>

#include <cmath>

#include "octet/kernels/quantize_q8.h"

namespace octet::kernels {
namespace {

// The reference rule for the tail, operation by operation.
int32_t quantize_scalar(float x, float scale, int32_t zero, int32_t lo, int32_t hi) {
  float v = x / scale;
  if (std::isnan(v)) v = 0.0f;
  const float r = std::nearbyint(v) + static_cast<float>(zero);
  if (r <= static_cast<float>(lo)) return lo;
  if (r >= static_cast<float>(hi)) return hi;
  return static_cast<int32_t>(r);
}

}  // namespace

void quantize_f32_q8_avx2(const float* x, uint8_t* y, int64_t n, float scale, int32_t zero, bool s8) {
  const int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
  const __m256 vscale = _mm256_set1_ps(scale), vzero = _mm256_set1_ps(static_cast<float>(zero));
  const __m256 flo = _mm256_set1_ps(static_cast<float>(lo)), fhi = _mm256_set1_ps(static_cast<float>(hi));
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i q[4];
    for (int h = 0; h < 4; ++h) {
      __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i + 8 * h), vscale);
      v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));  // NaN -> +0
      __m256 r = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vzero);
      r = _mm256_min_ps(_mm256_max_ps(r, flo), fhi);
      q[h] = _mm256_cvtps_epi32(r);  // integral and in range: exact
    }
    // int32 -> int16 -> bytes; packs interleave 128-bit lanes, the permute restores the order.
    const __m256i w01 = _mm256_packs_epi32(q[0], q[1]), w23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i b = s8 ? _mm256_packs_epi16(w01, w23) : _mm256_packus_epi16(w01, w23);
    const __m256i ordered = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), ordered);
  }
  for (; i < n; ++i) y[i] = static_cast<uint8_t>(quantize_scalar(x[i], scale, zero, lo, hi));
}

void dequantize_q8_f32_avx2(const uint8_t* q, float* y, int64_t n, float scale, int32_t zero, bool s8) {
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m256i vzero = _mm256_set1_epi32(zero);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i));
    const __m256i v = s8 ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, vzero)), vscale));
  }
  for (; i < n; ++i) {
    const int32_t v = s8 ? static_cast<int8_t>(q[i]) : q[i];
    y[i] = static_cast<float>(v - zero) * scale;
  }
}

}  // namespace octet::kernels
