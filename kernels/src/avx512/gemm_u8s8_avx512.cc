// AVX-512 INT8 GEMM, exact and fast. The compute cores are JIT (gemm_u8s8_core_jit.cc, zmm):
//   exact: u8 activations and s8 weights both widened to s16 and multiplied with vpmaddwd
//          (s16 x s16 pairs summed into s32, which cannot overflow for 8-bit inputs):
//          bit-identical to the reference. Tile 6 x 64 (24 zmm accumulators); B packed as
//          s16 pairs (kg = 2) in 64-column panels; A widened into 6-row panels per block.
//   fast:  vpmaddubsw (u8 x s8 pairs into SATURATING s16) then vpmaddwd with ones. Exact only
//          when no pair leaves the int16 range (u8s8_fast_is_exact). Tile 6 x 64; B packed
//          like VNNI (groups of 4 k, s8); A read in place.
// This file holds what needs the ISA's flags: the vectorised epilogue and the A packing.

// GCC 12 reports the _mm512_undefined_*() placeholder inside unmasked intrinsics
// (vpmovzxbd, vcvtdq2ps, ...) as "may be used uninitialized" once they are inlined; the
// warning is located in avx512fintrin.h, so it is silenced before that header is read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "gemm_u8s8_common.h"
#include "octet/kernels/qadd_q8.h"

namespace octet::kernels::detail {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 64;

// Materialises a rounded product so the compiler cannot fuse it with the following add
// (the files are built with -mfma and GCC contracts intrinsics by default).
inline __m512 avx512_rounded(__m512 v) {
  asm("" : "+v"(v));
  return v;
}

inline __mmask16 avx512_mask(int count) {
  return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1);
}

// The epilogue of gemm_u8s8.h over `count` accumulators of one row.
void avx512_epilogue_row(const int32_t* acc, int count, const float* scale,
                         const uint8_t* residual, const U8S8Epilogue& e, void* out) {
  if (e.has_add) {
    u8s8_epilogue_row_with_add(acc, count, scale, residual, e, out, avx512_epilogue_row, qadd_q8_avx512);
    return;
  }
  const auto type = static_cast<QOutType>(e.out_type);
  const __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
  const __m512 r_scale = _mm512_set1_ps(e.r_scale);
  const __m512i r_zp = _mm512_set1_epi32(e.r_zp), zp = _mm512_set1_epi32(e.zp);
  for (int j = 0; j < count; j += 16) {
    const __mmask16 m = avx512_mask(count - j);
    const __m512i a = _mm512_maskz_loadu_epi32(m, acc + j);
    if (type == QOutType::s32) {
      _mm512_mask_storeu_epi32(static_cast<int32_t*>(out) + j, m, a);
      continue;
    }
    __m512 y = avx512_rounded(
        _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_maskz_loadu_ps(m, scale + j)));
    if (residual) {
      const __m512i r = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, residual + j));
      const __m512 rf =
          avx512_rounded(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(r, r_zp)), r_scale));
      y = _mm512_add_ps(y, rf);
    }
    if (type == QOutType::f32) {
      // max(lo, y) / min(hi, y) in this operand order return y on ties, as std::max(y, lo)
      // and std::min(y, hi) do in the reference.
      if (e.act == static_cast<int32_t>(Activation::relu)) y = _mm512_max_ps(lo, y);
      if (e.act == static_cast<int32_t>(Activation::clip))
        y = _mm512_min_ps(hi, _mm512_max_ps(lo, y));
      _mm512_mask_storeu_ps(static_cast<float*>(out) + j, m, y);
      continue;
    }
    y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);  // NaN -> lo, as the reference
    // Nearest-even in the default MXCSR; in [q_lo, q_hi] since y was clamped to integers.
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(y), zp);
    if (type == QOutType::u8)
      _mm512_mask_cvtusepi32_storeu_epi8(static_cast<uint8_t*>(out) + j, m, q);
    else
      _mm512_mask_cvtsepi32_storeu_epi8(static_cast<int8_t*>(out) + j, m, q);
  }
}

// Pair p of row i at dst[p * kMR + i]: (A[i, 2p], A[i, 2p + 1]) as two s16.
void pack_a_pairs(const uint8_t* a, int64_t lda, int rows, int64_t kcount, int32_t* dst) {
  const int64_t full = kcount / 2, pairs = (kcount + 1) / 2;
  for (int i = 0; i < kMR; ++i) {
    int32_t* d = dst + i;
    if (i >= rows) {
      for (int64_t p = 0; p < pairs; ++p) d[p * kMR] = 0;
      continue;
    }
    const uint8_t* row = a + i * lda;
    int64_t p = 0;
    for (; p + 16 <= full; p += 16) {
      // 32 bytes -> 32 s16 -> 16 dwords, written kMR apart.
      alignas(64) int32_t w[16];
      _mm512_store_si512(w, _mm512_cvtepu8_epi16(_mm256_loadu_si256(
                                reinterpret_cast<const __m256i*>(row + 2 * p))));
      for (int q = 0; q < 16; ++q) d[(p + q) * kMR] = w[q];
    }
    for (; p < full; ++p) d[p * kMR] = row[2 * p] | (int32_t(row[2 * p + 1]) << 16);
    if (pairs > full) d[full * kMR] = row[kcount - 1];
  }
}

}  // namespace

extern const U8S8Impl u8s8_impl_avx512 = {
    "gemm_u8s8_avx512_exact_jit_6x64", Isa::avx512, false, U8S8Layout{kNR, 2, 2}, kMR, 16,
    /*a_block_bytes=*/384 << 10, /*kc=*/2048, /*multi_tile=*/true, pack_a_pairs,
    /*tile=*/nullptr, U8S8Core::avx512_exact, avx512_epilogue_row};

extern const U8S8Impl u8s8_impl_avx512_fast = {
    "gemm_u8s8_avx512_fast_jit_6x64", Isa::avx512, true, U8S8Layout{kNR, 4, 1}, kMR, 16,
    /*a_block_bytes=*/384 << 10, /*kc=*/4096, /*multi_tile=*/true, /*pack_a=*/nullptr,
    /*tile=*/nullptr, U8S8Core::avx512_fast, avx512_epilogue_row};

}  // namespace octet::kernels::detail
