// The INT8 GEMM kernels (kernels/.../gemm_u8s8.h) behind the quantized ops with constant s8
// weights: QLinearConv, QLinearMatMul and com.microsoft QGemm. At kernel creation the weights
// are packed once for the node's ISA with bias - x_zero_point * colsum folded in; at run time
// the 8-bit activations (im2col for convolutions) go through the GEMM and its requantizing
// epilogue: scale[n] = x_scale * w_scale[n] / y_scale (float, in that order), round half to
// even, clamp; the same arithmetic as the reference ops, so every exact ISA gives the
// reference's bits.
//
// s8 activations run as u8: x + 128 with zero point + 128 (the products change by
// 128 * colsum, which the folded zero point removes exactly).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "octet/kernels/gemm_u8s8.h"
#include "ops/op_registry.h"

namespace octet::detail {

class PackedQGemm {
 public:
  // b: K x N s8 (element (k, n) at b[k * ldb + n], or b[n * ldb + k] when trans_b); bias: N
  // int32 values or null; a_zero_point in the u8 domain; scale: N multipliers; out_type u8 /
  // s8 / f32 with out_zero_point for 8-bit outputs. In exact mode the saturating kernels are
  // taken only where kernels::u8s8_fast_is_exact proves them exact for these weights.
  // b() gives the weights; it is called only when they are packed (not when a compiled-model
  // file supplies them: ops/packed_weights.h), with b_input the node's input they come from.
  PackedQGemm(const NodeContext& ctx, size_t b_input, const std::function<const int8_t*()>& b, int64_t K, int64_t N,
              int64_t ldb, bool trans_b, const int32_t* bias, int32_t a_zero_point, std::vector<float> scale,
              kernels::QOutType out_type, int32_t out_zero_point);

  // out[M, N] (rows ldc elements apart) from a[M, K] (u8, rows lda apart). With add_rows
  // (8-bit output, after set_fused_add): out = QLinearAdd(the GEMM's output, add_rows[M, N]),
  // add_rows' rows ld_add apart.
  void run(int64_t M, const uint8_t* a, int64_t lda, void* out, int64_t ldc, kernels::ThreadPool* pool,
           const uint8_t* add_rows = nullptr, int64_t ld_add = 0) const;
  // The same with A in segments (kernels::ASegments: an implicit-GEMM convolution), where
  // segmented() says the kernel table has it for these weights.
  void run_segmented(int64_t M, const uint8_t* a, int64_t lda, const kernels::ASegments& seg, void* out, int64_t ldc,
                     const uint8_t* add_rows = nullptr, int64_t ld_add = 0) const;
  bool segmented() const { return ops_->gemm_segmented && packed_.K <= packed_.kc; }
  // The parameters of the QLinearAdd that run() fuses (kernels/qadd_q8.h; a = this GEMM's output).
  void set_fused_add(const kernels::QAddQ8Params& add) { ep_.add = add; }

  int64_t K() const { return packed_.K; }
  int64_t N() const { return packed_.N; }
  const char* kernel_name() const { return ops_->name; }
  int mr() const { return ops_->mr; }  // rows of the GEMM's micro-tile
  size_t bytes() const { return packed_.data.size() + packed_.comp.size() + scale_.size() * sizeof(float); }

 private:
  kernels::EpilogueQ epilogue(const uint8_t* add_rows, int64_t ld_add) const;  // ep_ with these add rows

  const kernels::GemmU8S8Ops* ops_ = nullptr;
  kernels::PackedBU8S8 packed_;
  std::vector<float> scale_;
  kernels::EpilogueQ ep_;
};

// Copies n 8-bit values to u8: unchanged for u8, x + 128 (the sign bit flipped) for s8.
void to_u8(DType t, const void* src, int64_t n, uint8_t* dst);

}  // namespace octet::detail
