// AVX2+FMA FP32 GEMM: 6x16 ymm register tile (12 accumulators), A broadcast from its rows,
// B read from nr=16 packed panels; blocking and threading in gemm_f32_driver.cc.
// Compiled with -mavx2 -mfma: everything here has internal linkage and uses no inline std::
// code, so no AVX2 instruction can leak into a baseline caller through the linker.
#include <immintrin.h>

#include "gemm_f32_tile.h"

namespace octet::kernels {
namespace {

using detail::F32TileArgs;
using detail::F32TileKernel;
using detail::F32TileKey;
using detail::TileFinish;
using detail::TileInit;

constexpr int kMr = 6, kNr = 16, kLanes = 8;

// Vector v (0 or 1) of a row; the last vector is masked when MASK.
template <int V, bool MASK>
__attribute__((always_inline)) inline __m256 load_vec(const float* row, int v, __m256i mask) {
  if (MASK && v == V - 1) return _mm256_maskload_ps(row + v * kLanes, mask);
  return _mm256_loadu_ps(row + v * kLanes);
}
template <int V, bool MASK>
__attribute__((always_inline)) inline void store_vec(float* row, int v, __m256i mask, __m256 x) {
  if (MASK && v == V - 1)
    _mm256_maskstore_ps(row + v * kLanes, mask, x);
  else
    _mm256_storeu_ps(row + v * kLanes, x);
}

// Applies OP(r, v) to each accumulator c<r><v> of the R x V tile. The accumulators are named
// variables rather than an array: GCC keeps arrays of this size in memory (spilling them on
// every FMA), named vectors stay in registers.
#define OCTET_TILE_EACH(OP) \
  OP(0, 0) OP(0, 1) OP(1, 0) OP(1, 1) OP(2, 0) OP(2, 1) OP(3, 0) OP(3, 1) OP(4, 0) OP(4, 1) OP(5, 0) OP(5, 1)
#define OCTET_ROW_EACH(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5)

// R rows x V vectors of 8 columns; MASK: the last vector has fewer than 8 valid columns.
template <int R, int V, bool MASK>
void tile_kernel(const F32TileArgs* p) {
  const int64_t lda = p->lda_bytes / 4, ldc = p->ldc_bytes / 4, ldr = p->ldr_bytes / 4;
  __m256i mask = _mm256_set1_epi32(-1);
  if (MASK) {
    const int tail = p->n_valid - kLanes * (V - 1);
    mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
#define OCTET_DECL(r, v) __m256 c##r##v = _mm256_setzero_ps();
  OCTET_TILE_EACH(OCTET_DECL)
#undef OCTET_DECL
#define OCTET_IN_TILE(r, v) if constexpr ((r) < R && (v) < V)

  // A tile that does not start from C only writes it, at the end: fetch the lines now.
  if (p->init != TileInit::load_c) {
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) __builtin_prefetch(p->c + r * ldc + v * kLanes, 1, 3);
  }
  switch (p->init) {
    default:  // TileInit::zero: already zero
      break;
    case TileInit::bias: {
      const __m256 b0 = load_vec<V, MASK>(p->bias, 0, mask);
      const __m256 b1 = V > 1 ? load_vec<V, MASK>(p->bias, 1, mask) : b0;
#define OCTET_INIT(r, v) OCTET_IN_TILE(r, v) c##r##v = (v) == 0 ? b0 : b1;
      OCTET_TILE_EACH(OCTET_INIT)
#undef OCTET_INIT
      break;
    }
    case TileInit::residual:
#define OCTET_INIT(r, v) OCTET_IN_TILE(r, v) c##r##v = load_vec<V, MASK>(p->residual + (r) * ldr, v, mask);
      OCTET_TILE_EACH(OCTET_INIT)
#undef OCTET_INIT
      break;
    case TileInit::bias_residual: {
      const __m256 b0 = load_vec<V, MASK>(p->bias, 0, mask);
      const __m256 b1 = V > 1 ? load_vec<V, MASK>(p->bias, 1, mask) : b0;
#define OCTET_INIT(r, v)                                                                 \
  OCTET_IN_TILE(r, v)                                                                     \
  c##r##v = _mm256_add_ps((v) == 0 ? b0 : b1, load_vec<V, MASK>(p->residual + (r) * ldr, v, mask));
      OCTET_TILE_EACH(OCTET_INIT)
#undef OCTET_INIT
      break;
    }
    case TileInit::load_c:
#define OCTET_INIT(r, v) OCTET_IN_TILE(r, v) c##r##v = load_vec<V, MASK>(p->c + (r) * ldc, v, mask);
      OCTET_TILE_EACH(OCTET_INIT)
#undef OCTET_INIT
      break;
  }

  // K steps segment by segment (one segment for plain A), B running on.
  const float* b = p->b;
  const int64_t seg_k = p->seg_k, seg_stride = p->seg_stride_bytes / 4;
  for (int64_t s = 0; s < p->seg_count; ++s, b += seg_k * kNr) {
#define OCTET_AROW(r) const float* a##r = p->a + ((r) < R ? (r) : 0) * lda + s * seg_stride;
    OCTET_ROW_EACH(OCTET_AROW)
#undef OCTET_AROW
#pragma GCC unroll 4
    for (int64_t k = 0; k < seg_k; ++k) {
      const __m256 b0 = _mm256_loadu_ps(b + k * kNr);
      const __m256 b1 = V > 1 ? _mm256_loadu_ps(b + k * kNr + kLanes) : b0;
#define OCTET_FMA_ROW(r)                                                  \
  if constexpr ((r) < R) {                                                \
    const __m256 av = _mm256_broadcast_ss(a##r + k);                      \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                           \
    if constexpr (V > 1) c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);      \
  }
      OCTET_ROW_EACH(OCTET_FMA_ROW)
#undef OCTET_FMA_ROW
    }
  }

  if (p->finish == TileFinish::relu) {
    const __m256 zero = _mm256_setzero_ps();
#define OCTET_FIN(r, v) OCTET_IN_TILE(r, v) c##r##v = _mm256_max_ps(zero, c##r##v);  // NaN stays
    OCTET_TILE_EACH(OCTET_FIN)
#undef OCTET_FIN
  } else if (p->finish == TileFinish::clip) {
    const __m256 lo = _mm256_set1_ps(p->clip_lo), hi = _mm256_set1_ps(p->clip_hi);
#define OCTET_FIN(r, v) OCTET_IN_TILE(r, v) c##r##v = _mm256_min_ps(hi, _mm256_max_ps(lo, c##r##v));
    OCTET_TILE_EACH(OCTET_FIN)
#undef OCTET_FIN
  } else if (p->finish == TileFinish::hardswish) {
    const __m256 sixth = _mm256_set1_ps(1.0f / 6.0f), half = _mm256_set1_ps(0.5f);
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
#define OCTET_FIN(r, v)                                                                          \
  OCTET_IN_TILE(r, v) c##r##v = _mm256_mul_ps(                                                   \
      c##r##v, _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(c##r##v, sixth, half), zero), one));
    OCTET_TILE_EACH(OCTET_FIN)
#undef OCTET_FIN
  }
#define OCTET_STORE(r, v) OCTET_IN_TILE(r, v) store_vec<V, MASK>(p->c + (r) * ldc, v, mask, c##r##v);
  OCTET_TILE_EACH(OCTET_STORE)
#undef OCTET_STORE
#undef OCTET_IN_TILE
}

#undef OCTET_TILE_EACH
#undef OCTET_ROW_EACH

template <int R>
struct RowKernels {
  static constexpr F32TileKernel k[2][2] = {
      {tile_kernel<R, 1, false>, tile_kernel<R, 1, true>},
      {tile_kernel<R, 2, false>, tile_kernel<R, 2, true>}};
};

// [rows - 1][vecs - 1][masked]
constexpr F32TileKernel kKernels[kMr][2][2] = {
    {{RowKernels<1>::k[0][0], RowKernels<1>::k[0][1]}, {RowKernels<1>::k[1][0], RowKernels<1>::k[1][1]}},
    {{RowKernels<2>::k[0][0], RowKernels<2>::k[0][1]}, {RowKernels<2>::k[1][0], RowKernels<2>::k[1][1]}},
    {{RowKernels<3>::k[0][0], RowKernels<3>::k[0][1]}, {RowKernels<3>::k[1][0], RowKernels<3>::k[1][1]}},
    {{RowKernels<4>::k[0][0], RowKernels<4>::k[0][1]}, {RowKernels<4>::k[1][0], RowKernels<4>::k[1][1]}},
    {{RowKernels<5>::k[0][0], RowKernels<5>::k[0][1]}, {RowKernels<5>::k[1][0], RowKernels<5>::k[1][1]}},
    {{RowKernels<6>::k[0][0], RowKernels<6>::k[0][1]}, {RowKernels<6>::k[1][0], RowKernels<6>::k[1][1]}},
};

// Init, finish, kc and segments are run-time arguments here, so the key reduces to the tile
// shape.
F32TileKernel get_kernel(const F32TileKey& key) {
  return kKernels[key.rows - 1][key.vecs - 1][key.masked ? 1 : 0];
}

const detail::F32KernelFamily kFamily = {
    "gemm_f32_avx2_6x16", Isa::avx2, kMr, kNr, kLanes,
    /*k_unroll=*/1, /*kc_max=*/8192, /*l2_b_bytes=*/512 * 1024, get_kernel};

void pack_b_avx2(const float* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
                 PackedBF32* out) {
  detail::pack_b_f32_panels(kFamily, b, K, N, ldb, trans_b, out);
}

void gemm_avx2(int64_t M, const float* a, int64_t lda, const PackedBF32& b, float* c,
               int64_t ldc, const EpilogueF32& ep, ThreadPool* pool) {
  detail::gemm_f32_blocked(kFamily, M, a, lda, b, c, ldc, ep, pool);
}

void gemm_segmented_avx2(int64_t M, const float* a, int64_t lda, const ASegments& seg, const PackedBF32& b,
                         float* c, int64_t ldc, const EpilogueF32& ep, ThreadPool* pool) {
  detail::gemm_f32_blocked(kFamily, M, a, lda, b, c, ldc, ep, pool, &seg);
}

const GemmF32Ops kOps = {"gemm_f32_avx2_6x16", kMr, kNr, pack_b_avx2, gemm_avx2, gemm_segmented_avx2};

}  // namespace

// Null on a CPU without AVX2+FMA, so these kernels can never be bound there.
const GemmF32Ops* gemm_f32_ops_avx2() { return cpu_supports(Isa::avx2) ? &kOps : nullptr; }

}  // namespace octet::kernels
