// Shared machinery of the INT8 GEMM family (baseline code, no ISA flags): the packed-B layout,
// the normative scalar epilogue, and the blocked, threaded driver that every SIMD
// implementation plugs a micro-kernel ("tile") into.
#pragma once

#include <cstddef>
#include <cstdint>

#include "octet/kernels/gemm_u8s8.h"
#include "octet/kernels/qadd_q8.h"

namespace octet::kernels::detail {

// How a table lays out packed B. Columns are cut into panels of `nr`; K is padded to a
// multiple of `kg` and cut into groups of `kg` consecutive k. Inside a panel, group g holds
// nr * kg elements, the kg values of column c contiguous at c * kg: one 32-bit lane per
// column, which is what vpdpbusd / vpmaddubsw (kg = 4, s8) and vpmaddwd (kg = 2, s16) read.
// Element (k, n) is at  (n / nr) * Kp * nr + (k / kg) * nr * kg + (n % nr) * kg + k % kg.
struct U8S8Layout {
  int nr = 0;          // panel width in columns (0: one panel as wide as N, the ref layout)
  int kg = 1;          // k group
  int elem_bytes = 1;  // 1: s8, 2: s8 widened to s16
};

// Per-call epilogue constants, in the form the micro-kernels use (read by JIT code through
// offsetof, so keep it standard-layout).
struct U8S8Epilogue {
  int32_t out_type = 0;      // QOutType
  int32_t act = 0;           // Activation, f32 output only
  int32_t has_residual = 0;
  float lo = 0, hi = 0;      // f32: activation bounds; u8/s8: q_lo - zp, q_hi - zp
  int32_t zp = 0, q_lo = 0, q_hi = 0;
  int32_t r_zp = 0;
  float r_scale = 0;
  int32_t has_add = 0;       // the fused QLinearAdd (EpilogueQ::add_input), read from `residual`
  int32_t add_shift = 0;     // zp - add.a_zero: (out - a_zero) from the clamped, rounded y
  QAddQ8Params add;
};

// Everything one micro-kernel call needs: one MR x NR tile of C over one K block. Read by
// the JIT kernels through offsetof.
struct U8S8TileArgs {
  const uint8_t* a;          // direct A: &A[m0, k0] (rows lda apart); packed A: the panel
  int64_t lda;
  const void* b;             // packed B panel, at the first group of this K block
  int64_t groups;            // whole k groups in this block
  const int32_t* comp;       // &comp[n0]: the accumulators' start value in the first block
  int32_t* partial;          // &P[m0, n0] s32: read unless first, written unless epilogue
  int64_t ldp;
  void* out;                 // &C[m0, n0] in output elements
  int64_t ldc;
  const float* scale;        // &scale[n0]
  const uint8_t* residual;   // &R[m0, n0] (or &A2[m0, n0] of the fused add) or null
  int64_t ldr;
  const U8S8Epilogue* ep;
  int32_t mr;                // valid rows, 1..MR
  int32_t n_valid;           // valid columns, 1..NR
  int32_t k_rem;             // k values in a trailing partial group (last block only), 0..kg-1
  int32_t first;             // start from comp (else from partial)
  int32_t epilogue;          // finish with the epilogue into out (else store to partial)
  int32_t tiles;             // tiles to run, each MR rows below the previous (multi_tile
                             // kernels; mr == MR when tiles > 1)
  int32_t* acc;              // core kernels: s32 tile, row i at acc + i * acc_ld; read
  int64_t acc_ld;            // unless first, always written
  int64_t a_segments;        // VNNI: A is this many segments of `groups` groups each, the
  int64_t a_seg_stride;      // next a_seg_stride bytes after the previous one starts (<= 1: one)
};

using U8S8TileFn = void (*)(const U8S8TileArgs*);

// What a tile is specialised on (the JIT generates one kernel per distinct key).
struct U8S8TileKey {
  int mr, nv;       // rows; vectors of columns computed (ceil(n_valid / lanes))
  int n_tail;       // the last vector is partially valid
  int k_rem;
  int first, epilogue;
  int out_type, act, residual, add;  // epilogue only
  int b_bytes;      // exact JIT cores: the layout's elem_bytes, 2 (s16) or 1 (s8, widened on load)
};

// JIT compute cores (gemm_u8s8_core_jit.cc): accumulators start from comp (first) or from
// the s32 tile args->acc, run over the K block, and are stored to args->acc. The driver
// points acc at the partial sums / s32 output when a whole panel goes there, else at a
// dense scratch tile that it copies out or runs the ISA's vectorised epilogue over.
enum class U8S8Core {
  none,
  avx2_exact,    // ymm, vpmaddwd on s16 pairs (packed A, kg = 2; B s8, widened on load)
  avx2_fast,     // ymm, vpmaddubsw + vpmaddwd(ones) (A in place, kg = 4)
  avx512_exact,  // zmm, as avx2_exact but B stored as s16
  avx512_fast,   // zmm, as avx2_fast
};
U8S8TileFn u8s8_core_kernel(U8S8Core core, int mr, int nr, const U8S8TileKey& key);

using U8S8EpilogueRowFn = void (*)(const int32_t* acc, int count, const float* scale,
                                   const uint8_t* residual, const U8S8Epilogue& e, void* out);

// One SIMD implementation: its layout, tile, blocking and micro-kernels.
struct U8S8Impl {
  const char* name;
  Isa isa;
  bool fast;
  U8S8Layout layout;
  int mr;              // rows per tile
  int lanes;           // s32 lanes per vector (8 ymm, 16 zmm)
  int64_t a_block_bytes;  // row block: as many rows as fit this many bytes of (packed) A
  int64_t kc;          // K block (a multiple of layout.kg)
  bool multi_tile;     // tiles run several row tiles per call (U8S8TileArgs::tiles)
  // Exact paths: widens rows [0, rows) x k [0, kcount) of A to s16 pairs in one MR-row
  // panel, dword (p, i) at dst[p * MR + i]; odd K and rows >= `rows` are zero-filled.
  void (*pack_a)(const uint8_t* a, int64_t lda, int rows, int64_t kcount, int32_t* dst);
  // Either complete tile kernels (epilogue included; VNNI)...
  U8S8TileFn (*tile)(const U8S8TileKey& key);
  // ...or a JIT compute core plus the ISA's vectorised epilogue for one row.
  U8S8Core core;
  U8S8EpilogueRowFn epilogue_row;
};

// The SIMD implementations, defined in their ISA's files (data only: nothing in those files
// runs before the dispatch has checked the CPU).
extern const U8S8Impl u8s8_impl_avx2;
extern const U8S8Impl u8s8_impl_avx2_fast;
extern const U8S8Impl u8s8_impl_avx512;
extern const U8S8Impl u8s8_impl_avx512_fast;
// The VNNI implementation (JIT kernels, generated on first use; baseline code).
extern const U8S8Impl u8s8_impl_vnni;

// Packs B for `layout` and folds comp = bias_q - a_zero_point * colsum(B) (modulo 2^32).
void u8s8_pack_b(const int8_t* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
                 const int32_t* bias_q, int32_t a_zero_point, Isa isa, bool fast,
                 const U8S8Layout& layout, int64_t kc, PackedBU8S8* out);

// Checks the call and turns EpilogueQ into kernel constants. Throws octet::Error. With seg,
// A is in segments (lda is then the row step, which may be below K).
U8S8Epilogue u8s8_check_call(const char* who, Isa isa, bool fast, int64_t M, int64_t lda,
                             const PackedBU8S8& b, const void* out, int64_t ldc,
                             const EpilogueQ& ep, const ASegments* seg = nullptr);

// The normative epilogue for `count` consecutive outputs of one row (`residual` is the row of
// A2 when e.has_add).
void u8s8_epilogue_row_ref(const int32_t* acc, int64_t count, const float* scale,
                           const uint8_t* residual, const U8S8Epilogue& e, void* out);

// Blocked, threaded GEMM over impl's micro-kernels. Call after u8s8_check_call.
void u8s8_run(const U8S8Impl& impl, int64_t M, const uint8_t* a, int64_t lda,
              const PackedBU8S8& b, void* out, int64_t ldc, const EpilogueQ& ep,
              const U8S8Epilogue& e, ThreadPool* pool, const ASegments* seg = nullptr);

// OCTET_VERBOSE: one line naming the kernel chosen for a packed weight.
void u8s8_report_pack(const char* name, int64_t K, int64_t N);

// A SIMD epilogue_row with the fused add: the ISA's plain epilogue into 8-bit q, 64 outputs
// at a time, then its QLinearAdd kernel (qadd_q8.h) of q and the A2 row into out, which may
// alias A2 (each element of A2 is read before it is written).
template <class Plain, class QAdd>
void u8s8_epilogue_row_with_add(const int32_t* acc, int count, const float* scale, const uint8_t* a2,
                                const U8S8Epilogue& e, void* out, Plain plain, QAdd qadd) {
  U8S8Epilogue no_add = e;
  no_add.has_add = 0;
  uint8_t q[64];
  for (int j = 0; j < count; j += 64) {
    const int c = count - j < 64 ? count - j : 64;
    plain(acc + j, c, scale + j, nullptr, no_add, q);
    qadd(q, a2 + j, static_cast<uint8_t*>(out) + j, c, e.add);
  }
}

// Bytes per output element.
inline int u8s8_out_bytes(QOutType t) {
  return t == QOutType::u8 || t == QOutType::s8 ? 1 : 4;
}

}  // namespace octet::kernels::detail
