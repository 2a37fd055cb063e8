// octet.MaxPoolNhwc / octet.AveragePoolNhwc (FP32, below): max pooling of a channels-last tensor [N, H, W, C] (2-D; kernel_shape,
// strides, pads, dilations, ceil_mode as MaxPool; no Indices), placed by the layout pass
// (passes/layout_nhwc.cc) for u8 / s8 (octet.MaxPool) and f32 (MaxPool). Each output pixel is
// the max over the C-long rows of its window's pixels inside the image (kernels/maxpool_nhwc.h,
// one build per ISA), with the NCHW kernels' semantics: bytes as in octet.MaxPool (every ONNX
// window holds a real value); f32 as in MaxPool (NaN never replaces a value, a window wholly
// in the padding gives the lowest float).
#include <algorithm>

#include "octet/kernels/registry.h"
#include "ops/window_geometry.h"
#include "ops/octet_ops.h"
#include "ops/op_util.h"

namespace octet::detail {
namespace {

WindowGeometry maxpool_nhwc_geometry(const NodeContext& ctx, Shape* x_nchw) {
  *x_nchw = nchw_of_nhwc_input(ctx, "octet.MaxPoolNhwc");
  const DType t = ctx.input_dtype(0);
  ctx.check(t == DType::u8 || t == DType::s8 || t == DType::f32,
            std::string("unsupported dtype ") + dtype_name(t) + " for input 0");
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  ctx.check(ctx.node().attr_i("storage_order", 0) == 0, "storage_order must be 0");
  ctx.check(ctx.num_outputs() == 1 || !ctx.has_output(1), "octet.MaxPoolNhwc has no Indices output");
  return window_geometry(ctx, *x_nchw, ctx.node().attr_ints("kernel_shape"), ctx.node().attr_i("ceil_mode", 0) != 0);
}

void infer_maxpool_nhwc(NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = maxpool_nhwc_geometry(ctx, &x);
  Shape y{x[0], g.out[1], g.out[2], x[1]};
  shape_numel(y);
  ctx.set_output(0, ctx.input_dtype(0), y);
}

class MaxPoolNhwcKernel : public OpKernel {
 public:
  MaxPoolNhwcKernel(const WindowGeometry& g, int64_t batch, int64_t channels, DType t, const kernels::IsaChoice& isa)
      : batch_(batch), fn_(kernels::kernel_registry(isa).maxpool_nhwc.run), name_(kernels::kernel_registry(isa).maxpool_nhwc.name) {
    static_cast<kernels::NhwcWindow&>(p_) = nhwc_window(g, channels);
    p_.elem = t == DType::f32 ? kernels::MaxPoolElem::f32 : t == DType::s8 ? kernels::MaxPoolElem::s8 : kernels::MaxPoolElem::u8;
    elem_bytes_ = t == DType::f32 ? 4 : 1;
  }
  std::string name() const override { return name_; }

  void run(KernelContext& ctx) const override {
    const int64_t in_bytes = p_.in_h * p_.in_w * p_.channels * elem_bytes_;
    const int64_t out_bytes = p_.out_h * p_.out_w * p_.channels * elem_bytes_;
    const uint8_t* x = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data());
    for_output_rows(ctx.pool, batch_, p_.out_h, batch_ * out_bytes, [&](int64_t n, int64_t oh0, int64_t oh1) {
      kernels::MaxPoolNhwc p = p_;
      p.in = x + n * in_bytes;
      p.out = y + n * out_bytes;
      fn_(p, oh0, oh1);
    });
  }

 private:
  kernels::MaxPoolNhwc p_;
  int64_t batch_, elem_bytes_ = 1;
  kernels::MaxPoolNhwcFn fn_;
  const char* name_;
};

std::unique_ptr<OpKernel> create_maxpool_nhwc(const NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = maxpool_nhwc_geometry(ctx, &x);
  const DType t = ctx.input_dtype(0);
  return std::make_unique<MaxPoolNhwcKernel>(g, x[0], x[1], t, ctx.isa());
}

// --- octet.AveragePoolNhwc: FP32 AveragePool (and GlobalAveragePool as a whole-image window) on
// [N, H, W, C], with AveragePool's counts: the taps inside the image, or with
// count_include_pad those inside the padded extent; a window with none gives 0.

WindowGeometry avgpool_nhwc_geometry(const NodeContext& ctx, Shape* x_nchw) {
  *x_nchw = nchw_of_nhwc_input(ctx, "octet.AveragePoolNhwc");
  ctx.check(ctx.input_dtype(0) == DType::f32, "octet.AveragePoolNhwc is FP32 only");
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  return window_geometry(ctx, *x_nchw, ctx.node().attr_ints("kernel_shape"), ctx.node().attr_i("ceil_mode", 0) != 0);
}

void infer_avgpool_nhwc(NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = avgpool_nhwc_geometry(ctx, &x);
  Shape y{x[0], g.out[1], g.out[2], x[1]};
  shape_numel(y);
  ctx.set_output(0, DType::f32, y);
}

class AvgPoolNhwcF32Kernel : public OpKernel {
 public:
  AvgPoolNhwcF32Kernel(const WindowGeometry& g, int64_t batch, int64_t channels, bool count_include_pad, const kernels::IsaChoice& isa)
      : batch_(batch), fn_(kernels::kernel_registry(isa).avgpool_nhwc_f32.run), name_(kernels::kernel_registry(isa).avgpool_nhwc_f32.name) {
    static_cast<kernels::NhwcWindow&>(p_) = nhwc_window(g, channels);
    p_.pad_bottom = g.pad_end[1];
    p_.pad_right = g.pad_end[2];
    p_.count_include_pad = count_include_pad;
  }
  std::string name() const override { return name_; }

  void run(KernelContext& ctx) const override {
    const int64_t in_size = p_.in_h * p_.in_w * p_.channels, out_size = p_.out_h * p_.out_w * p_.channels;
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    for_output_rows(ctx.pool, batch_, p_.out_h, batch_ * out_size * p_.kernel_h * p_.kernel_w,
                    [&](int64_t n, int64_t oh0, int64_t oh1) {
                      kernels::AvgPoolNhwcF32 p = p_;
                      p.in = x + n * in_size;
                      p.out = y + n * out_size;
                      fn_(p, oh0, oh1);
                    });
  }

 private:
  kernels::AvgPoolNhwcF32 p_;
  int64_t batch_;
  kernels::AvgPoolNhwcF32Fn fn_;
  const char* name_;
};

std::unique_ptr<OpKernel> create_avgpool_nhwc(const NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = avgpool_nhwc_geometry(ctx, &x);
  return std::make_unique<AvgPoolNhwcF32Kernel>(g, x[0], x[1], ctx.node().attr_i("count_include_pad", 0) != 0,
                                                ctx.isa());
}

}  // namespace

void register_pool_nhwc_ops(OpRegistry& r) {
  r.add(OpDef{kOctetDomain, kOpMaxPoolNhwc, infer_maxpool_nhwc, create_maxpool_nhwc});
  r.add(OpDef{kOctetDomain, kOpAveragePoolNhwc, infer_avgpool_nhwc, create_avgpool_nhwc});
}

}  // namespace octet::detail
