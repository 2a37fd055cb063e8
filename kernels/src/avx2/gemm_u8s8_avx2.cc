// AVX2 INT8 GEMM, exact and fast. The compute cores are JIT (gemm_u8s8_core_jit.cc, ymm):
//   exact: u8 activations and s8 weights both widened to s16 and multiplied with vpmaddwd
//          (s16 x s16 pairs summed into s32, which cannot overflow for 8-bit inputs):
//          bit-identical to the reference. Tile 6 x 16 (12 ymm accumulators); B packed as
//          s8 pairs (kg = 2) in 16-column panels, half the memory of s16, and widened as it
//          is loaded (vpmovsxbw: within noise of s16 loads on Zen 3 where the multiplies
//          bound it, ~1.4x faster where B streams from memory); A widened into 6-row panels.
//   fast:  vpmaddubsw (u8 x s8 pairs into SATURATING s16) then vpmaddwd with ones. Exact only
//          when no pair leaves the int16 range (u8s8_fast_is_exact). Tile 4 x 16; B packed in
//          groups of 4 k (s8); A read in place.
// This file holds what needs the ISA's flags: the vectorised epilogue and the A packing.
#include <immintrin.h>

#include <cstdint>

#include "gemm_u8s8_common.h"
#include "octet/kernels/qadd_q8.h"

namespace octet::kernels::detail {
namespace {

constexpr int kMR = 6;       // exact
constexpr int kMRFast = 4;   // fast (needs a register for the ones)
constexpr int kNR = 16;

// Materialises a rounded product so the compiler cannot fuse it with the following add
// (the files are built with -mfma and GCC contracts intrinsics by default).
inline __m256 avx2_rounded(__m256 v) {
  asm("" : "+x"(v));
  return v;
}

// The epilogue of gemm_u8s8.h over `count` accumulators of one row.
void avx2_epilogue_row(const int32_t* acc, int count, const float* scale,
                       const uint8_t* residual, const U8S8Epilogue& e, void* out) {
  if (e.has_add) {
    u8s8_epilogue_row_with_add(acc, count, scale, residual, e, out, avx2_epilogue_row, qadd_q8_avx2);
    return;
  }
  const auto type = static_cast<QOutType>(e.out_type);
  const int full = count / 8 * 8;
  if (type == QOutType::s32) {
    for (int j = 0; j < full; j += 8)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<int32_t*>(out) + j),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j)));
  } else {
    const __m256 lo = _mm256_set1_ps(e.lo), hi = _mm256_set1_ps(e.hi);
    const __m256 r_scale = _mm256_set1_ps(e.r_scale);
    const __m256i r_zp = _mm256_set1_epi32(e.r_zp), zp = _mm256_set1_epi32(e.zp);
    // Byte 0 of each dword, per 128-bit lane.
    const __m256i low_bytes =
        _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                         0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    for (int j = 0; j < full; j += 8) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j));
      __m256 y = avx2_rounded(_mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_loadu_ps(scale + j)));
      if (residual) {
        const __m256i r = _mm256_cvtepu8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(residual + j)));
        const __m256 rf = avx2_rounded(
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(r, r_zp)), r_scale));
        y = _mm256_add_ps(y, rf);
      }
      if (type == QOutType::f32) {
        // max(lo, y) / min(hi, y) in this operand order return y on ties, as std::max(y, lo)
        // and std::min(y, hi) do in the reference.
        if (e.act == static_cast<int32_t>(Activation::relu)) y = _mm256_max_ps(lo, y);
        if (e.act == static_cast<int32_t>(Activation::clip))
          y = _mm256_min_ps(hi, _mm256_max_ps(lo, y));
        _mm256_storeu_ps(static_cast<float*>(out) + j, y);
        continue;
      }
      y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);  // NaN -> lo, as the reference
      // Nearest-even in the default MXCSR; y was clamped to integers, so q is in [q_lo, q_hi]
      // and its low byte is the u8 / s8 value.
      const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), zp);
      const __m256i b = _mm256_shuffle_epi8(q, low_bytes);
      const __m128i packed =
          _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(out) + j), packed);
    }
  }
  if (full < count) {
    const int ob = u8s8_out_bytes(type);
    u8s8_epilogue_row_ref(acc + full, count - full, scale ? scale + full : nullptr,
                          residual ? residual + full : nullptr, e,
                          static_cast<uint8_t*>(out) + full * ob);
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
    for (; p + 8 <= full; p += 8) {
      // 16 bytes -> 16 s16 -> 8 dwords, written kMR apart.
      alignas(32) int32_t w[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(w),
                         _mm256_cvtepu8_epi16(
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * p))));
      for (int q = 0; q < 8; ++q) d[(p + q) * kMR] = w[q];
    }
    for (; p < full; ++p) d[p * kMR] = row[2 * p] | (int32_t(row[2 * p + 1]) << 16);
    if (pairs > full) d[full * kMR] = row[kcount - 1];
  }
}

}  // namespace

extern const U8S8Impl u8s8_impl_avx2 = {
    "gemm_u8s8_avx2_exact_jit_6x16", Isa::avx2, false, U8S8Layout{kNR, 2, 1}, kMR, 8,
    /*a_block_bytes=*/384 << 10, /*kc=*/2048, /*multi_tile=*/true, pack_a_pairs,
    /*tile=*/nullptr, U8S8Core::avx2_exact, avx2_epilogue_row};

extern const U8S8Impl u8s8_impl_avx2_fast = {
    "gemm_u8s8_avx2_fast_jit_4x16", Isa::avx2, true, U8S8Layout{kNR, 4, 1}, kMRFast, 8,
    /*a_block_bytes=*/384 << 10, /*kc=*/4096, /*multi_tile=*/true, /*pack_a=*/nullptr,
    /*tile=*/nullptr, U8S8Core::avx2_fast, avx2_epilogue_row};

}  // namespace octet::kernels::detail
