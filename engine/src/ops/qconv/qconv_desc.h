// One descriptor of an INT8 convolution node (QLinearConv, or octet.QLinearConvNhwc with its
// fusions), built once at kernel creation and read by every implementation's conditions():
// the convolution's shape (checked once, window_geometry.h), whether the fast kernels can run
// it at all and why not, its constant parameters, and the weights packed for the node's
// level's INT8 GEMM (packed on first use, then taken by the kernel that runs them).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ops/window_geometry.h"
#include "ops/qgemm/packed_qgemm.h"
#include "ops/qgemm/qlinear_params.h"

namespace octet::detail {

struct QConvDesc {
  const NodeContext* ctx = nullptr;
  bool channels_last = false;  // octet.QLinearConvNhwc: input and output [N, H, W, C]
  ConvShape shape;
  // Why no fast kernel can run this node (the reference runs it), or empty: a SIMD level,
  // constant s8 weights with zero points 0, a constant int32 bias, constant per-tensor
  // activation parameters.
  std::string not_fast;
  ConstQParams params;     // read when not_fast is empty
  bool fused_add = false;  // channels-last: a QLinearAdd of the output and a residual, fused
  bool lookup = false;     // channels-last: a 256-entry lookup on the output, fused

  // The weights of every group as the INT8 GEMM's B (k ordered (kd, kh, kw, c)), packed for
  // the node's level; made on first use (not for depthwise convolutions).
  std::vector<std::unique_ptr<PackedQGemm>>& gemms() const;

 private:
  mutable std::vector<std::unique_ptr<PackedQGemm>> gemms_;
};

// x: the input's shape as [N, C, spatial...] (what a channels-last input stands for).
QConvDesc qconv_desc(const NodeContext& ctx, const Shape& x, bool channels_last);

}  // namespace octet::detail
