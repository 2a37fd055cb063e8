// Fast FP32 convolution kernels (ISA != ref) and the fused-epilogue form of Conv.
//
// The fused form is the internal op octet.Conv (ops/octet_ops.h) written by the fuse_conv_epilogue pass:
// the inputs of Conv (X, W, optional B) plus an optional input 3, Z, of the output's shape,
// and the attributes of Conv plus
//   activation: "" (none), "Relu", "Clip" or "HardSwish";  clip_min, clip_max: the Clip bounds.
// Y = activation(conv(X, W) + B + Z). The reference conv implements the same semantics.
#pragma once

#include <memory>
#include <string>

#include "octet/kernels/gemm_f32.h"
#include "ops/window_geometry.h"
#include "ops/octet_ops.h"
#include "ops/op_registry.h"

namespace octet::detail {

struct ConvFusion {
  bool residual = false;  // input FusedConvIn::kZ is added
  kernels::Activation act = kernels::Activation::none;
  float clip_lo = 0, clip_hi = 0;
};

// Reads the fusion attributes of a node (none for a plain ONNX Conv); fails through ctx on
// an unknown activation or a residual of the wrong shape.
ConvFusion conv_fusion(const NodeContext& ctx, const Shape& y_shape);

// Applies the activation to one value (the reference epilogue).
inline float apply_activation(const ConvFusion& f, float v) {
  if (f.act == kernels::Activation::relu) return v > 0.0f ? v : 0.0f;
  if (f.act == kernels::Activation::clip) return v < f.clip_lo ? f.clip_lo : (v > f.clip_hi ? f.clip_hi : v);
  if (f.act == kernels::Activation::hardswish) return kernels::hardswish(v);
  return v;
}

// A Conv / octet.Conv node as its implementations see it (conv.cc tries them in order:
// depthwise, GEMM, reference; impl_list.h).
struct ConvDesc {
  const NodeContext* ctx = nullptr;
  ConvShape shape;
  ConvFusion fusion;
};

// Why the FP32 fast kernels cannot run the node at all (ref level, f64, 3-D, weights or bias
// not constant), or empty.
std::string conv_fast_problem(const ConvDesc& d);

// Depthwise conv (group == C == M) on the registry's dwconv_f32 kernel, NCHW.
std::string conv_depthwise_conditions(const ConvDesc& d);
std::unique_ptr<OpKernel> create_conv_depthwise(const ConvDesc& d, const NodeContext& ctx);

// Conv as GEMM on the gemm_f32 table: Y_g[Mg, P] = W_g[Mg, K] x col_g[K, P] per image and group,
// col packed straight into the GEMM's panel layout one block of output positions at a time.
std::string conv_gemm_conditions(const ConvDesc& d);
std::unique_ptr<OpKernel> create_conv_gemm(const ConvDesc& d, const NodeContext& ctx);

// Whether a Conv / octet.Conv node can run as octet.ConvNhwc (conv_nhwc.cc; the same inputs and
// attributes on [N, H, W, C] tensors): FP32 2-D with constant weights and bias, several input
// channels per group (GEMM) or depthwise without a multiplier, a SIMD ISA. The layout pass
// asks this.
bool conv_has_channels_last_kernel(const NodeContext& ctx);
void register_conv_nhwc_op(OpRegistry& r);

}  // namespace octet::detail
