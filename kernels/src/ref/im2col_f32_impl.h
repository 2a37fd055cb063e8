// The im2col panel packer (gemm_f32.h, PackIm2colF32), written once and compiled by each
// ISA's translation unit: the reference (baseline), avx2/ and avx512/ with their flags, where
// the short runs (at most a panel, 16-32 floats, K of them per panel) are copied with
// (masked) vector moves of the level's width instead of calls to memcpy. Internal linkage only, no std:: inline code.
#pragma once

#include <cstdint>

#include "octet/kernels/gemm_f32.h"

#if defined(__AVX2__)
#include <immintrin.h>
#else
#include <emmintrin.h>
#endif

namespace octet::kernels {
namespace {

inline int64_t im_clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// dst[0, n) = src[0, n).
inline void im_copy(const float* src, float* dst, int64_t n) {
#if defined(__AVX512F__)
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
  }
#elif defined(__AVX2__)
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
  if (i < n) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(dst + i, m, _mm256_maskload_ps(src + i, m));
  }
#else
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(dst + i, _mm_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
#endif
}

// dst[0, n) = 0.
inline void im_zero(float* dst, int64_t n) {
#if defined(__AVX512F__)
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
  if (i < n) _mm512_mask_storeu_ps(dst + i, static_cast<__mmask16>((1u << (n - i)) - 1u), _mm512_setzero_ps());
#elif defined(__AVX2__)
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_setzero_ps());
  for (; i < n; ++i) dst[i] = 0.0f;
#else
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(dst + i, _mm_setzero_ps());
  for (; i < n; ++i) dst[i] = 0.0f;
#endif
}

void im2col_pack_panel(const Im2colF32& g, const Im2colRowF32* rows, int64_t K, const float* x,
                       int64_t p, int64_t cols, int64_t nr, float* dst) {
  if (g.pointwise) {
    const int64_t plane = g.in_h * g.in_w;
    for (int64_t k = 0; k < K; ++k) {
      float* d = dst + k * nr;
      im_copy(x + k * plane + p, d, cols);
      im_zero(d + cols, nr - cols);
    }
    return;
  }
  const int64_t OW = g.out_w, SW = g.stride_w;
  const int64_t oh0 = p / OW, ow0 = p % OW;
  for (int64_t k = 0; k < K; ++k) {
    const Im2colRowF32& r = rows[k];
    const float* xc = x + r.x_off;
    float* d = dst + k * nr;
    int64_t j = 0, oh = oh0, ow = ow0;
    while (j < cols) {
      const int64_t seg = cols - j < OW - ow ? cols - j : OW - ow;
      const int64_t ih = oh * g.stride_h + r.h_off;
      float* o = d + j;
      if (ih < 0 || ih >= g.in_h) {
        im_zero(o, seg);
      } else {
        // Columns [ow, lo) and [hi, ow + seg) read the padding.
        const int64_t lo = im_clamp(r.ow_lo, ow, ow + seg);
        const int64_t hi = im_clamp(r.ow_hi, lo, ow + seg);
        im_zero(o, lo - ow);
        const float* src = xc + ih * g.in_w + lo * SW + r.w_off;
        float* out = o + (lo - ow);
        if (SW == 1) {
          im_copy(src, out, hi - lo);
        } else {
          for (int64_t t = 0; t < hi - lo; ++t) out[t] = src[t * SW];
        }
        im_zero(o + (hi - ow), ow + seg - hi);
      }
      j += seg;
      ow = 0;
      ++oh;
    }
    im_zero(d + cols, nr - cols);
  }
}

}  // namespace
}  // namespace octet::kernels
