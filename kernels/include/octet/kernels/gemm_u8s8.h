// INT8 GEMM: u8 activations A[M,K] x s8 weights B[K,N] -> s32 accumulators -> epilogue.
//
// The contract every implementation must meet bit for bit (the reference defines it):
//   acc[m,n]  = sum_k int32(A[m,k]) * int32(B[k,n])                        (exact int32)
//             + comp[n]       where comp[n] = bias_q[n] - a_zero_point * sum_k B[k,n]
//                             (folded in when B is packed; bias_q is the int32 bias)
//   y         = float(acc) * scale[n]                                        (float mul)
//   if residual:  y = y + float(int32(R[m,n]) - r_zero_point) * r_scale      (mul, then add)
//   output f32:   out = y, then activation in float (relu: max(y,0); clip: min(max(y,lo),hi))
//   output s32:   out = acc (scale, residual and activation ignored)
//   output u8/s8: out = round_half_even(clamp(y, q_lo - zp, q_hi - zp)) + zp
//                 where zp = out_zero_point and [q_lo, q_hi] is the type's range narrowed by
//                 the caller to express ReLU / clip; the clamp maps a NaN y (a NaN or
//                 infinite scale) to q_lo - zp, so out is always in [q_lo, q_hi].
//   if add_input (u8/s8 output, no residual): the 8-bit out above is then added to
//                 A2[m,n] by QLinearAdd as kernels/qadd_q8.h computes it (a = out with add.a_*,
//                 b = A2 with add.b_*, result in add.c_* saturated to the type), and that
//                 sum is what is stored: a conv's residual add, fused.
// No fused multiply-add anywhere in the epilogue: every implementation rounds the same way.
//
// The "exact" kernels (avx2, avx512: 16-bit vpmaddwd) and vnni (vpdpbusd) match the reference
// bit for bit. The "fast" kernels (vpmaddubsw) add u8*s8 pairs in saturating int16 and
// differ when a pair exceeds the int16 range.
#pragma once

#include <cstdint>

#include "octet/kernels/gemm_a_segments.h"
#include "octet/kernels/aligned_buffer.h"
#include "octet/kernels/gemm_f32.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/qadd_q8.h"
#include "octet/kernels/thread_pool.h"

namespace octet::kernels {

enum class QOutType { u8, s8, s32, f32 };

struct EpilogueQ {
  const float* scale = nullptr;  // [N], required unless out_type == s32
  QOutType out_type = QOutType::u8;
  int32_t out_zero_point = 0;
  int32_t q_lo = 0, q_hi = 255;        // for u8 / s8 output
  Activation act = Activation::none;   // for f32 output only
  float clip_lo = 0, clip_hi = 0;
  const uint8_t* residual = nullptr;   // [M, ldr] u8, or null; may alias a u8 output with
                                       // ldr == ldc (each element is read before it is written)
  int64_t ldr = 0;
  int32_t r_zero_point = 0;
  float r_scale = 0;
  const uint8_t* add_input = nullptr;  // [M, ld_add] of the output's type, or null; may alias
  int64_t ld_add = 0;                  // the output like residual. add needs
  QAddQ8Params add;                    // qadd_q8_params_ok(add).
};

struct PackedBU8S8 {
  Isa isa = Isa::ref;
  bool fast = false;
  int64_t K = 0, N = 0;
  int64_t nr = 0, kc = 0;       // layout parameters chosen by the packing routine
  AlignedBuffer data;           // packed s8 weights
  AlignedBuffer comp;           // [N] int32: bias_q - a_zero_point * colsum(B)
};

struct GemmU8S8Ops {
  const char* name = nullptr;  // "gemm_u8s8_vnni_jit_...", "gemm_u8s8_avx2_exact", ...
  int mr = 0, nr = 0;
  // B is K x N s8 with element (k, n) at b[k * ldb + n], or at b[n * ldb + k] when trans_b.
  // bias_q may be null (zero).
  void (*pack_b)(const int8_t* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
                 const int32_t* bias_q, int32_t a_zero_point, PackedBU8S8* out) = nullptr;
  // out has leading dimension ldc in elements of the output type.
  void (*gemm)(int64_t M, const uint8_t* a, int64_t lda, const PackedBU8S8& b, void* out,
               int64_t ldc, const EpilogueQ& ep, ThreadPool* pool) = nullptr;
  // The same with A in segments (seg_k a multiple of 4, K within one K block: B.K <= kc), or
  // null where the implementation lacks it (the caller gathers A instead).
  void (*gemm_segmented)(int64_t M, const uint8_t* a, int64_t lda, const ASegments& seg,
                         const PackedBU8S8& b, void* out, int64_t ldc, const EpilogueQ& ep,
                         ThreadPool* pool) = nullptr;
};

// True when the "fast" kernels (vpmaddubsw) compute this B exactly for EVERY u8 activation:
// each pair they add in int16, b[k][n] and b[k+1][n] for even k (b[K][n] = 0), has
// 255 * (positive part sum) <= 32767 and 255 * (negative part sum) <= 32768. Weights in
// [-64, 64] always qualify (255 * 128 = 32640). The engine may pick a _fast table for a
// weight only where this holds.
bool u8s8_fast_is_exact(const int8_t* b, int64_t K, int64_t N, int64_t ldb, bool trans_b);

const GemmU8S8Ops* gemm_u8s8_ops_ref();
const GemmU8S8Ops* gemm_u8s8_ops_avx2();          // exact
const GemmU8S8Ops* gemm_u8s8_ops_avx2_fast();
const GemmU8S8Ops* gemm_u8s8_ops_avx512();        // exact
const GemmU8S8Ops* gemm_u8s8_ops_avx512_fast();
const GemmU8S8Ops* gemm_u8s8_ops_vnni();

}  // namespace octet::kernels
