// Internal interface between the FP32 GEMM driver (cache blocking, threading; baseline code)
// and the per-ISA micro-kernels that compute one register tile of C.
//
// Packed B layout shared by the SIMD tables: N is cut into panels of `nr` columns (the last
// one zero-padded); each panel stores all K rows, `nr` contiguous floats per k:
//   packed[(panel * K + k) * nr + j] = B[k, panel * nr + j]
// The driver reads the k range [k0, k0 + kc) of a panel as one contiguous run.
#pragma once

#include <cstdint>

#include "octet/kernels/gemm_f32.h"

namespace octet::kernels::detail {

// How a tile's accumulators start, for the first K block. Bias and residual are folded into
// the starting value (acc = bias + residual, then the FMA chain over k): reading the residual
// before any store keeps residual == C aliasing safe, and later K blocks resume from C.
enum class TileInit : int { zero = 0, bias = 1, residual = 2, bias_residual = 3, load_c = 4 };
// What happens before the store: nothing (inner K blocks, or no activation), ReLU, clip or
// HardSwish.
enum class TileFinish : int { store = 0, relu = 1, clip = 2, hardswish = 3 };

// Arguments of one micro-kernel call; every pointer is already offset to the tile.
struct F32TileArgs {
  const float* a = nullptr;  // A[m0, k0]; row r of the tile at a + r * lda
  int64_t lda_bytes = 0;
  const float* b = nullptr;  // packed panel at k0: kc rows of nr floats
  float* c = nullptr;        // C[m0, n0]
  int64_t ldc_bytes = 0;
  int64_t kc = 0;            // K steps in this block
  // A in seg_count segments of seg_k steps (seg_count * seg_k = kc): segment s of row r at
  // a + r * lda + s * seg_stride. A plain block is one segment of kc steps.
  int64_t seg_count = 1, seg_k = 0, seg_stride_bytes = 0;
  const float* bias = nullptr;      // bias + n0 (init bias / bias_residual)
  const float* residual = nullptr;  // residual + m0 * ldr + n0 (init residual / bias_residual)
  int64_t ldr_bytes = 0;
  float clip_lo = 0, clip_hi = 0;
  int32_t n_valid = 0;       // valid columns in the tile (1..nr); the rest are not touched
  TileInit init = TileInit::zero;
  TileFinish finish = TileFinish::store;
};

using F32TileKernel = void (*)(const F32TileArgs* args);

// What a kernel is specialised for. A kernel may ignore fields it handles at run time.
struct F32TileKey {
  int rows = 0;          // 1..mr
  int vecs = 0;          // SIMD vectors of columns actually computed (1..nr / lanes)
  bool masked = false;   // the last vector holds fewer than `lanes` valid columns
  TileInit init = TileInit::zero;
  TileFinish finish = TileFinish::store;
  int k_rem = 0;         // seg_k % k_unroll
  bool segmented = false;  // A in several segments (seg_count > 1 possible)
};

// One ISA's micro-kernel family, as the driver sees it.
struct F32KernelFamily {
  const char* name;
  Isa isa;
  int mr, nr, lanes;  // tile rows, tile columns (packed panel width), floats per vector
  int k_unroll;       // the kernels' K unroll (F32TileKey::k_rem = seg_k % k_unroll)
  int kc_max;         // K block size bound (K is cut into balanced blocks <= kc_max)
  int64_t l2_b_bytes; // budget for the B block (kc x nc) kept in L2
  F32TileKernel (*get)(const F32TileKey& key);  // never null; may generate code (thread-safe)
};

// Packs B for `family` (layout above). Throws octet::Error on bad sizes.
void pack_b_f32_panels(const F32KernelFamily& family, const float* b, int64_t K, int64_t N,
                       int64_t ldb, bool trans_b, PackedBF32* out);

// Runs C = epilogue(A * B) with the family's micro-kernels, A in segments when `seg` is not
// null (gemm_a_segments.h; then K must fit one K block). Checks that `b` was packed by this
// family. Results do not depend on the number of threads in `pool`, nor on `seg` (the same
// A gathered into rows gives the same bits).
void gemm_f32_blocked(const F32KernelFamily& family, int64_t M, const float* a, int64_t lda,
                      const PackedBF32& b, float* c, int64_t ldc, const EpilogueF32& ep,
                      ThreadPool* pool, const ASegments* seg = nullptr);

// The K block size used for a given K (a function of K alone, so that every call on the
// same packed B, whatever the thread count, sums in the same order).
int64_t f32_k_block(const F32KernelFamily& family, int64_t K);

// The AVX-512 micro-kernel family (Xbyak JIT; generated in baseline code, runs only where
// the dispatcher has checked AVX-512).
const F32KernelFamily& f32_family_avx512_jit();

}  // namespace octet::kernels::detail
