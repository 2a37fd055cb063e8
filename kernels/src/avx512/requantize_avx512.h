// The u8s8 GEMM epilogue (gemm_u8s8.h) on 16 int32 accumulators, for the AVX-512 depthwise
// kernels: y = float(acc) * scale, clamped to [q_lo - zp, q_hi - zp], rounded half to even
// (vrndscaleps), + zp, clamped to [q_lo, q_hi], packed to 16 bytes (vpmovdb). Only included
// by translation units built with AVX-512 flags.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace octet::kernels::detail {

struct RequantizeAvx512 {
  __m512 lo, hi;
  __m512i zp, qlo, qhi;
  RequantizeAvx512(int32_t zero_point, int32_t q_lo, int32_t q_hi)
      : lo(_mm512_set1_ps(static_cast<float>(q_lo - zero_point))),
        hi(_mm512_set1_ps(static_cast<float>(q_hi - zero_point))),
        zp(_mm512_set1_epi32(zero_point)),
        qlo(_mm512_set1_epi32(q_lo)),
        qhi(_mm512_set1_epi32(q_hi)) {}
  __m128i operator()(__m512i acc, __m512 scale) const {
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
    y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
    y = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(y), zp);
    q = _mm512_min_epi32(_mm512_max_epi32(q, qlo), qhi);
    return _mm512_cvtepi32_epi8(q);
  }
};

}  // namespace octet::kernels::detail
