// FP32 GEMM: C[M,N] = epilogue(A[M,K] * B[K,N]). B (weights) is packed once ahead of time
// by the table that will run it; A is read in place (row-major with leading dimension lda)
// and packed on the fly inside the kernel's cache blocking.
#pragma once

#include <cstdint>
#include <string>

#include "octet/kernels/gemm_a_segments.h"
#include "octet/kernels/aligned_buffer.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/kernel_types.h"
#include "octet/kernels/thread_pool.h"

namespace octet::kernels {

// Applied per output element in this order: + bias[n], + residual[m,n], activation.
// (The reference kernel rounds in exactly that order. The SIMD tables start their FMA chain
// at bias[n] + residual[m,n], which reads the residual before C is written and saves a pass;
// the sum is the same up to FP32 rounding, within the tolerance their tests check.)
struct EpilogueF32 {
  const float* bias = nullptr;      // [N] or null
  const float* residual = nullptr;  // [M, ldr] or null (may alias C: read before write)
  int64_t ldr = 0;
  Activation act = Activation::none;
  float clip_lo = 0, clip_hi = 0;   // for Activation::clip
};

// B packed for one table's kernel. Opaque outside the kernel family that made it, except
// for this contract of the SIMD tables (nr > 1), which lets a caller pack a B it computes
// (a convolution's im2col tile) straight into place: N is cut into panels of nr columns,
// each panel holding all K rows of nr contiguous floats,
//   data[(panel * K + k) * nr + j] = B[k, panel * nr + j],
// the columns past N in the last panel ignored; kc is a function of K alone. Such a caller
// takes isa, nr and kc from pack_b of a K x 1 matrix and fills K, N and data itself.
struct PackedBF32 {
  Isa isa = Isa::ref;  // the table that packed it; only that table's gemm may read it
  int64_t K = 0, N = 0;
  int64_t nr = 0, kc = 0;  // layout parameters chosen by the packing routine
  AlignedBuffer data;
};

// One ISA's FP32 GEMM, bound to its packing routine and tile shape.
struct GemmF32Ops {
  const char* name = nullptr;  // "gemm_f32_avx512_jit_16x32", ...
  int mr = 0, nr = 0;          // micro-tile
  // B is K x N with element (k, n) at b[k * ldb + n], or at b[n * ldb + k] when trans_b.
  void (*pack_b)(const float* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
                 PackedBF32* out) = nullptr;
  // C = epilogue(A * B). M may be 0. pool may be null (single thread). Results do not depend
  // on the number of threads.
  void (*gemm)(int64_t M, const float* a, int64_t lda, const PackedBF32& b, float* c,
               int64_t ldc, const EpilogueF32& ep, ThreadPool* pool) = nullptr;
  // The same with A in segments (gemm_a_segments.h; K within one K block: B.K <= B.kc). Every
  // element is the same FMA chain as `gemm` on the gathered rows, so the two agree bit for bit.
  void (*gemm_segmented)(int64_t M, const float* a, int64_t lda, const ASegments& seg,
                         const PackedBF32& b, float* c, int64_t ldc, const EpilogueF32& ep,
                         ThreadPool* pool) = nullptr;
};

// Packing a 2-D convolution's im2col matrix straight into the SIMD tables' panel layout
// (see PackedBF32), one panel of output positions at a time. Row k of the matrix is
// (c, kh, kw) of one group, described by Im2colRowF32; NCHW input.
struct Im2colRowF32 {
  int64_t x_off;         // c * in_h * in_w
  int64_t h_off, w_off;  // kh * dilation_h - pad_top, kw * dilation_w - pad_left
  int64_t ow_lo, ow_hi;  // output columns whose input column ow * stride_w + w_off is inside
};
struct Im2colF32 {
  int64_t in_h = 1, in_w = 1, out_w = 1, stride_h = 1, stride_w = 1;
  bool pointwise = false;  // 1x1, stride 1, no padding: row k is input channel k
};
// Writes dst[k * nr + j] = col[k, p + j] for k < K, j < cols (cols <= nr), zero for the
// padding and for j in [cols, nr).
using PackIm2colF32 = void (*)(const Im2colF32& g, const Im2colRowF32* rows, int64_t K,
                               const float* x, int64_t p, int64_t cols, int64_t nr, float* dst);
// Per level (null when the CPU lacks it); the reference is plain C++.
PackIm2colF32 pack_im2col_f32_ref();
PackIm2colF32 pack_im2col_f32_avx2();
PackIm2colF32 pack_im2col_f32_avx512();

// Implemented by the FP32 family (kernels/src/*/gemm_f32_*.cc); null when the level has no
// FP32 kernel of its own (the dispatch table then takes the level below).
const GemmF32Ops* gemm_f32_ops_ref();
const GemmF32Ops* gemm_f32_ops_avx2();
const GemmF32Ops* gemm_f32_ops_avx512();

}  // namespace octet::kernels
