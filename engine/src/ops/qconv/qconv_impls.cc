// The implementations of INT8 convolution, in the order they are tried (qconv.h), with the
// conditions under which each runs a node; and octet.QLinearConvNhwc's shape inference.
#include <string>

#include "ops/impl_list.h"
#include "ops/octet_ops.h"
#include "ops/qconv/qconv.h"
#include "ops/qconv/qconv_kernel.h"
#include "ops/qgemm/qlinear_params.h"

namespace octet::detail {
namespace {

using QConvImpl = OpImpl<QConvDesc>;

std::string channels_per_group(const ConvShape& s) {
  return std::to_string(s.in_per_group()) + " input channels per group";
}

// --- NCHW (QLinearConv) ------------------------------------------------------------------

std::string depthwise_planes_conditions(const QConvDesc& d) {
  if (!d.not_fast.empty()) return d.not_fast;
  if (!d.shape.depthwise()) return channels_per_group(d.shape) + ", not depthwise";
  return {};
}

std::string gemm_nchw_conditions(const QConvDesc& d) { return d.not_fast; }

std::unique_ptr<OpKernel> create_depthwise_planes(const QConvDesc& d, const NodeContext&) {
  return make_qconv_depthwise_planes(d);
}
std::unique_ptr<OpKernel> create_gemm_nchw(const QConvDesc& d, const NodeContext&) { return make_qconv_gemm_nchw(d); }
std::unique_ptr<OpKernel> create_reference(const QConvDesc&, const NodeContext& ctx) {
  return create_qlinear_conv_reference(ctx);
}

const QConvImpl kQLinearConvImpls[] = {
    {"qconv_depthwise", depthwise_planes_conditions, create_depthwise_planes},
    {"qconv_gemm_nchw", gemm_nchw_conditions, create_gemm_nchw},
    {"qconv_reference", accepts_every_node<QConvDesc>, create_reference},
};

// --- NHWC (octet.QLinearConvNhwc) ----------------------------------------------------------

std::string depthwise_nhwc_conditions(const QConvDesc& d) {
  if (!d.not_fast.empty()) return d.not_fast;
  const ConvShape& s = d.shape;
  if (!s.depthwise()) return channels_per_group(s) + ", not depthwise";
  if (!s.depthwise_one_to_one())
    return std::to_string(s.out_channels / s.channels) + " output channels per input channel (the kernel has one)";
  if (d.fused_add) return "a fused add (the depthwise kernels have none)";
  return {};
}

std::string gemm_nhwc_conditions(const QConvDesc& d) {
  if (!d.not_fast.empty()) return d.not_fast;
  if (d.shape.depthwise()) return "depthwise (one input channel per group)";
  return {};
}

// The GEMM reads each output row's pixels straight from a zero-point-padded copy of the image
// instead of gathered im2col blocks: one group, 2-D, kw taps contiguous, and only where it
// measured faster than the gather.
std::string implicit_nhwc_conditions(const QConvDesc& d) {
  if (std::string why = gemm_nhwc_conditions(d); !why.empty()) return why;
  const ConvShape& s = d.shape;
  const WindowGeometry& g = s.win;
  if (s.pointwise()) return "1x1, stride 1, unpadded: the GEMM reads the image in place";
  if (s.group != 1) return std::to_string(s.group) + " groups";
  if (g.kernel[0] != 1 || g.in[0] != 1) return "3-D";
  if (g.stride[1] != 1 || g.stride[2] != 1)
    return "stride " + std::to_string(g.stride[1]) + "x" + std::to_string(g.stride[2]) +
           ": the padded image is larger than the output (measured slower than the gather)";
  if (g.dilation[2] != 1) return "dilation along W: a kernel row's taps are not contiguous";
  if (g.kernel[2] * s.in_per_group() % 4 != 0) return "k_w * C = " + std::to_string(g.kernel[2] * s.in_per_group()) +
                                                       " bytes, not a multiple of 4";
  if (d.fused_add && !kernels::kernel_registry(d.ctx->isa()).qadd_in_gemm_epilogue)
    return "a fused add, which this level runs after the GEMM on whole rows";
  const PackedQGemm& gemm = *d.gemms()[0];
  if (!gemm.segmented()) return std::string(gemm.kernel_name()) + " does not read A in segments";
  if (g.out[2] < 4 * gemm.mr())
    return "output rows of " + std::to_string(g.out[2]) + " pixels, fewer than 4 tiles of " +
           std::to_string(gemm.mr()) + " (each row's GEMM streams all of B: measured slower than the gather)";
  return {};
}

std::unique_ptr<OpKernel> create_depthwise_nhwc(const QConvDesc& d, const NodeContext&) {
  return make_qconv_depthwise_nhwc(d);
}
std::unique_ptr<OpKernel> create_implicit_nhwc(const QConvDesc& d, const NodeContext&) {
  return make_qconv_implicit_nhwc(d);
}
std::unique_ptr<OpKernel> create_gemm_nhwc(const QConvDesc& d, const NodeContext&) { return make_qconv_gemm_nhwc(d); }

const QConvImpl kQLinearConvNhwcImpls[] = {
    {"qconv_depthwise_nhwc", depthwise_nhwc_conditions, create_depthwise_nhwc},
    {"qconv_implicit_nhwc", implicit_nhwc_conditions, create_implicit_nhwc},
    {"qconv_gemm_nhwc", gemm_nhwc_conditions, create_gemm_nhwc},
};

void infer_qlinear_conv_nhwc(NodeContext& ctx) {
  const Shape x = nchw_of_nhwc_input(ctx, "octet.QLinearConvNhwc");
  const QConvDesc d = qconv_desc(ctx, x, /*channels_last=*/true);
  ctx.check(d.not_fast.empty(), "octet.QLinearConvNhwc exists only where a fast kernel runs it, but " + d.not_fast);
  const ConstQParams& p = d.params;
  const int64_t m = d.shape.out_channels;
  const std::vector<int64_t> out = d.shape.win.out_dims();
  Shape y{x[0], out[0], out[1], m};
  shape_numel(y);
  ctx.check(ctx.num_inputs() <= QLinearConvNhwcIn::kCount, "octet.QLinearConvNhwc takes at most 15 inputs");
  for (size_t i = QLinearConvNhwcIn::kResidualScale; i <= QLinearConvNhwcIn::kSumZero; ++i)
    ctx.check(ctx.has_input(QLinearConvNhwcIn::kResidual) || !ctx.has_input(i),
              "octet.QLinearConvNhwc: fused add parameters without its input 9");
  if (ctx.has_input(QLinearConvNhwcIn::kLookupTable)) {
    // The fused lookup (a HardSwish, octet.LookupQ8) on the 8-bit output.
    const Tensor* table = ctx.input_const(QLinearConvNhwcIn::kLookupTable);
    ctx.check(table && table->dtype() == DType::u8 && table->numel() == 256,
              "octet.QLinearConvNhwc: the lookup table (input 14) must be a constant u8 tensor of 256 elements");
  }
  if (ctx.has_input(QLinearConvNhwcIn::kResidual)) {
    // The fused QLinearAdd: the residual (of the output's shape and type) and its and the
    // sum's constant per-tensor parameters, with positive bounded scale ratios.
    ctx.check(
        ctx.input_dtype(QLinearConvNhwcIn::kResidual) == p.y_type && ctx.input_shape(QLinearConvNhwcIn::kResidual) == y,
        "octet.QLinearConvNhwc: the residual (input 9) must have the output's type and shape " + shape_str(y));
    float r_scale = 0, s_scale = 0;
    int32_t zero = 0;
    const bool ok =
        const_pair(ctx, QLinearConvNhwcIn::kResidualScale, QLinearConvNhwcIn::kResidualZero, &r_scale, &zero) &&
        const_pair(ctx, QLinearConvNhwcIn::kSumScale, QLinearConvNhwcIn::kSumZero, &s_scale, &zero);
    ctx.check(ok && kernels::qadd_q8_params_ok(kernels::qadd_q8_params(p.y_scale, 0, r_scale, 0, s_scale, 0, false)),
              "octet.QLinearConvNhwc: the fused add needs constant per-tensor parameters whose scale ratios are "
              "positive and bounded (qadd_q8_params_ok)");
    for (size_t zi : {size_t(QLinearConvNhwcIn::kResidualZero), size_t(QLinearConvNhwcIn::kSumZero)})
      ctx.check(!ctx.has_input(zi) || ctx.input_dtype(zi) == p.y_type, "zero points must have the output's type");
  }
  ctx.set_output(0, p.y_type, y);
}

std::unique_ptr<OpKernel> create_qlinear_conv_nhwc(const NodeContext& ctx) {
  const Shape x = nchw_of_nhwc_input(ctx, "octet.QLinearConvNhwc");
  return create_first_accepting(kQLinearConvNhwcImpls, qconv_desc(ctx, x, /*channels_last=*/true), ctx);
}

}  // namespace

std::unique_ptr<OpKernel> create_qlinear_conv_kernel(const NodeContext& ctx) {
  return create_first_accepting(kQLinearConvImpls, qconv_desc(ctx, ctx.input_shape(0), /*channels_last=*/false), ctx);
}

bool qlinear_conv_has_channels_last_kernel(const NodeContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  if (x.size() != 4) return false;
  const QConvDesc d = qconv_desc(ctx, x, /*channels_last=*/true);
  // The implicit GEMM accepts a subset of what the NHWC GEMM does, so these two answer
  // without packing any weights.
  return depthwise_nhwc_conditions(d).empty() || gemm_nhwc_conditions(d).empty();
}

void register_qlinear_conv_nhwc_op(OpRegistry& r) {
  r.add(OpDef{kOctetDomain, kOpQLinearConvNhwc, infer_qlinear_conv_nhwc, create_qlinear_conv_nhwc});
}

}  // namespace octet::detail
