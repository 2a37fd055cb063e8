// FP32 depthwise Conv (group == C == M) on the table's dwconv kernel, NCHW: one channel
// plane per call, planes shared out over the threads (each plane computed by one thread, so
// results do not depend on the thread count). Bias, residual and activation are fused.
#include <vector>

#include "octet/kernels/registry.h"
#include "ops/conv/conv_fast.h"

namespace octet::detail {
namespace {

class ConvDepthwiseKernel : public OpKernel {
 public:
  ConvDepthwiseKernel(const kernels::DwConvF32Ops* ops, kernels::DwConvF32Shape shape, int64_t C,
                      Tensor w, Tensor bias, ConvFusion fusion)
      : ops_(ops), s_(shape), C_(C), w_(std::move(w)), bias_(std::move(bias)), fusion_(fusion) {}

  std::string name() const override { return ops_->name; }

  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const float* x = xt.data_as<float>();
    const float* z = fusion_.residual ? ctx.input(FusedConvIn::kZ).data_as<float>() : nullptr;
    float* y = ctx.output(0).data_as<float>();
    const float* w = w_.data_as<float>();
    const float* bias = bias_.empty() ? nullptr : bias_.data_as<float>();
    const int64_t planes = xt.shape()[0] * C_;
    const int64_t in_plane = s_.in_h * s_.in_w, out_plane = s_.out_h * s_.out_w;
    const int64_t taps = s_.kernel_h * s_.kernel_w;
    auto run_planes = [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t c = p % C_;
        ops_->plane(s_, x + p * in_plane, w + c * taps, bias ? bias[c] : 0.0f,
                    z ? z + p * out_plane : nullptr, fusion_.act, fusion_.clip_lo,
                    fusion_.clip_hi, y + p * out_plane);
      }
    };
    kernels::ThreadPool* pool = ctx.pool;
    if (pool && pool->size() > 1 && planes > 1 && planes * out_plane * taps >= 8192)
      pool->parallel_for(planes, run_planes);
    else
      run_planes(0, planes);
  }

 private:
  const kernels::DwConvF32Ops* ops_;
  kernels::DwConvF32Shape s_;
  int64_t C_;
  Tensor w_, bias_;
  ConvFusion fusion_;
};

}  // namespace

namespace {

kernels::DwConvF32Shape plane_shape(const WindowGeometry& g) {
  kernels::DwConvF32Shape s;
  s.in_h = g.in[1];
  s.in_w = g.in[2];
  s.out_h = g.out[1];
  s.out_w = g.out[2];
  s.kernel_h = g.kernel[1];
  s.kernel_w = g.kernel[2];
  s.stride_h = g.stride[1];
  s.stride_w = g.stride[2];
  s.dilation_h = g.dilation[1];
  s.dilation_w = g.dilation[2];
  s.pad_top = g.pad_begin[1];
  s.pad_left = g.pad_begin[2];
  return s;
}

}  // namespace

std::string conv_depthwise_conditions(const ConvDesc& d) {
  if (std::string why = conv_fast_problem(d); !why.empty()) return why;
  if (!d.shape.depthwise()) return std::to_string(d.shape.in_per_group()) + " input channels per group, not depthwise";
  if (!d.shape.depthwise_one_to_one())
    return std::to_string(d.shape.out_channels / d.shape.channels) + " output channels per input channel (the kernel has one)";
  const kernels::DwConvF32Ops* ops = kernels::kernel_registry(d.ctx->isa()).dwconv_f32;
  const WindowGeometry& g = d.shape.win;
  if (!ops->accepts(plane_shape(g)))
    return std::string(ops->name) + " has no kernel for a " + std::to_string(g.kernel[1]) + "x" +
           std::to_string(g.kernel[2]) + " window with stride " + std::to_string(g.stride[1]) + "x" +
           std::to_string(g.stride[2]) + " and dilation " + std::to_string(g.dilation[1]) + "x" +
           std::to_string(g.dilation[2]);
  return {};
}

std::unique_ptr<OpKernel> create_conv_depthwise(const ConvDesc& d, const NodeContext& ctx) {
  const Tensor* b = ctx.has_input(2) ? ctx.input_const(2) : nullptr;
  return std::make_unique<ConvDepthwiseKernel>(kernels::kernel_registry(ctx.isa()).dwconv_f32,
                                               plane_shape(d.shape.win), d.shape.channels, *ctx.input_const(1),
                                               b ? *b : Tensor(), d.fusion);
}

}  // namespace octet::detail
