// The quant family's entry point, and the ops that convert between float and 8-bit integers:
// QuantizeLinear, DequantizeLinear (per tensor and per axis), DynamicQuantizeLinear.
#include <algorithm>

#include "octet/kernels/registry.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

// outer x channels x inner view of a tensor for per-axis parameters (channels = 1 per tensor).
struct AxisLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

AxisLayout axis_layout(const Shape& s, int64_t axis, bool per_axis) {
  AxisLayout l;
  if (!per_axis) {
    l.inner = shape_numel(s);
    return l;
  }
  for (int64_t d = 0; d < axis; ++d) l.outer *= s[d];
  l.channels = s[axis];
  for (size_t d = size_t(axis) + 1; d < s.size(); ++d) l.inner *= s[d];
  return l;
}

// Per-axis when the scale has more than one element. Returns the normalised axis (0 when
// per tensor) and validates the parameter pair at inputs (1, 2).
int64_t quant_axis(const NodeContext& ctx, bool* per_axis) {
  const Shape& x = ctx.input_shape(0);
  *per_axis = shape_numel(ctx.input_shape(1)) > 1;
  int64_t axis = 0, channels = -1;
  if (*per_axis) {
    axis = normalize_axis(ctx, ctx.node().attr_i("axis", 1), static_cast<int64_t>(x.size()));
    channels = x[axis];
  }
  check_quant_param(ctx, 1, 2, channels, "y");
  return axis;
}

// QuantizeLinear / DequantizeLinear between f32 and u8 / s8 with constant per-tensor
// parameters, on AVX2 and up (quantize_q8.h: the reference's operations, so its bits).
class QuantizeFastKernel : public OpKernel {
 public:
  QuantizeFastKernel(const kernels::IsaChoice& isa, float scale, int32_t zero, bool s8)
      : kernel_(kernels::kernel_registry(isa).quantize_f32_q8), scale_(scale), zero_(zero), s8_(s8) {}
  std::string name() const override { return kernel_.name; }
  void run(KernelContext& ctx) const override {
    const float* x = ctx.input(0).data_as<float>();
    auto* y = static_cast<uint8_t*>(ctx.output(0).data());
    for_chunks(ctx, ctx.output(0).numel(), 1 << 15, [&](int64_t i0, int64_t i1) {
      kernel_.run(x + i0, y + i0, i1 - i0, scale_, zero_, s8_);
    });
  }

 private:
  kernels::KernelEntry<kernels::QuantizeF32Q8Fn> kernel_;
  float scale_;
  int32_t zero_;
  bool s8_;
};

class DequantizeFastKernel : public OpKernel {
 public:
  DequantizeFastKernel(const kernels::IsaChoice& isa, float scale, int32_t zero, bool s8)
      : kernel_(kernels::kernel_registry(isa).dequantize_q8_f32), scale_(scale), zero_(zero), s8_(s8) {}
  std::string name() const override { return kernel_.name; }
  void run(KernelContext& ctx) const override {
    const auto* q = static_cast<const uint8_t*>(ctx.input(0).data());
    float* y = ctx.output(0).data_as<float>();
    for_chunks(ctx, ctx.output(0).numel(), 1 << 15, [&](int64_t i0, int64_t i1) {
      kernel_.run(q + i0, y + i0, i1 - i0, scale_, zero_, s8_);
    });
  }

 private:
  kernels::KernelEntry<kernels::DequantizeQ8F32Fn> kernel_;
  float scale_;
  int32_t zero_;
  bool s8_;
};

// --- QuantizeLinear -------------------------------------------------------------------------

void infer_quantize(NodeContext& ctx) {
  DType xt = ctx.input_dtype(0);
  if (xt != DType::f32 && xt != DType::s32 && xt != DType::f16)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(xt) + " for input 0");
  bool per_axis;
  quant_axis(ctx, &per_axis);
  DType yt = DType::u8;
  if (ctx.has_input(2)) {
    yt = ctx.input_dtype(2);
    if (!is_q8(yt)) ctx.fail(std::string("unsupported dtype ") + dtype_name(yt) + " for input 2");
  }
  ctx.set_output(0, yt, ctx.input_shape(0));
}

class QuantizeKernel : public OpKernel {
 public:
  QuantizeKernel(int64_t axis, bool per_axis) : axis_(axis), per_axis_(per_axis) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    QuantParam q = read_quant_param(ctx, 1, 2);
    AxisLayout l = axis_layout(x.shape(), axis_, per_axis_);
    std::vector<float> converted;
    const float* xf = x.data_as<float>();
    if (x.dtype() != DType::f32) {
      converted = tensor_to_floats(x);
      xf = converted.data();
    }
    int32_t lo, hi;
    q8_range(y.dtype(), &lo, &hi);
    auto quantize_all = [&](auto* out) {
      using Q = std::remove_pointer_t<decltype(out)>;
      for (int64_t o = 0; o < l.outer; ++o)
        for (int64_t c = 0; c < l.channels; ++c) {
          const float scale = q.scale_at(c);
          const int32_t zp = q.zero_at(c);
          const int64_t base = (o * l.channels + c) * l.inner;
          for (int64_t i = 0; i < l.inner; ++i)
            out[base + i] = static_cast<Q>(quantize_value(xf[base + i] / scale, zp, lo, hi));
        }
    };
    if (y.dtype() == DType::u8) quantize_all(y.data_as<uint8_t>());
    else quantize_all(y.data_as<int8_t>());
  }

 private:
  int64_t axis_;
  bool per_axis_;
};

std::unique_ptr<OpKernel> create_quantize(const NodeContext& ctx) {
  bool per_axis;
  int64_t axis = quant_axis(ctx, &per_axis);
  QuantParam q;
  if (ctx.isa().isa != kernels::Isa::ref && !per_axis && ctx.input_dtype(0) == DType::f32 &&
      const_quant_param(ctx, 1, 2, &q))
    return std::make_unique<QuantizeFastKernel>(ctx.isa(), q.scale[0], q.zero[0], ctx.output(0).dtype == DType::s8);
  return std::make_unique<QuantizeKernel>(axis, per_axis);
}

// --- DequantizeLinear -----------------------------------------------------------------------

void infer_dequantize(NodeContext& ctx) {
  DType xt = ctx.input_dtype(0);
  if (!is_q8(xt) && xt != DType::s32) ctx.fail(std::string("unsupported dtype ") + dtype_name(xt) + " for input 0");
  if (ctx.has_input(2) && ctx.input_dtype(2) != xt) ctx.fail("x_zero_point must have the dtype of x");
  bool per_axis;
  quant_axis(ctx, &per_axis);
  ctx.set_output(0, DType::f32, ctx.input_shape(0));
}

class DequantizeKernel : public OpKernel {
 public:
  DequantizeKernel(int64_t axis, bool per_axis) : axis_(axis), per_axis_(per_axis) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    float* out = ctx.output(0).data_as<float>();
    QuantParam q = read_quant_param(ctx, 1, 2);
    AxisLayout l = axis_layout(x.shape(), axis_, per_axis_);
    auto dequantize_all = [&](const auto* in) {
      for (int64_t o = 0; o < l.outer; ++o)
        for (int64_t c = 0; c < l.channels; ++c) {
          const float scale = q.scale_at(c);
          const int32_t zp = q.zero_at(c);
          const int64_t base = (o * l.channels + c) * l.inner;
          for (int64_t i = 0; i < l.inner; ++i)
            out[base + i] = static_cast<float>(int64_t(in[base + i]) - zp) * scale;
        }
    };
    switch (x.dtype()) {
      case DType::u8: dequantize_all(x.data_as<uint8_t>()); break;
      case DType::s8: dequantize_all(x.data_as<int8_t>()); break;
      default: dequantize_all(x.data_as<int32_t>()); break;
    }
  }

 private:
  int64_t axis_;
  bool per_axis_;
};

std::unique_ptr<OpKernel> create_dequantize(const NodeContext& ctx) {
  bool per_axis;
  int64_t axis = quant_axis(ctx, &per_axis);
  QuantParam q;
  if (ctx.isa().isa != kernels::Isa::ref && !per_axis && is_q8(ctx.input_dtype(0)) &&
      const_quant_param(ctx, 1, 2, &q))
    return std::make_unique<DequantizeFastKernel>(ctx.isa(), q.scale[0], q.zero[0], ctx.input_dtype(0) == DType::s8);
  return std::make_unique<DequantizeKernel>(axis, per_axis);
}

// --- DynamicQuantizeLinear ------------------------------------------------------------------

void infer_dynamic_quantize(NodeContext& ctx) {
  if (ctx.input_dtype(0) != DType::f32)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(0)) + " for input 0");
  ctx.set_output(0, DType::u8, ctx.input_shape(0));
  ctx.set_output(1, DType::f32, {});
  ctx.set_output(2, DType::u8, {});
}

// As the ONNX reference: range widened to include 0; scale = range / 255, or 1 / 255 for an
// all-zero range; zero point = saturate(round(0 - min / scale)).
class DynamicQuantizeKernel : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const float* in = x.data_as<float>();
    const int64_t n = x.numel();
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, in[i]);
      hi = std::max(hi, in[i]);
    }
    const float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
    const int32_t zp = quantize_value(0.0f - lo / scale, 0, 0, 255);
    uint8_t* out = ctx.output(0).data_as<uint8_t>();
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(quantize_value(in[i] / scale, zp, 0, 255));
    if (ctx.has_output(1)) *ctx.output(1).data_as<float>() = scale;
    if (ctx.has_output(2)) *ctx.output(2).data_as<uint8_t>() = static_cast<uint8_t>(zp);
  }
};

std::unique_ptr<OpKernel> create_dynamic_quantize(const NodeContext&) {
  return std::make_unique<DynamicQuantizeKernel>();
}

}  // namespace

void register_quant_ops(OpRegistry& r) {
  r.add(OpDef{"", "QuantizeLinear", infer_quantize, create_quantize});
  r.add(OpDef{"", "DequantizeLinear", infer_dequantize, create_dequantize});
  r.add(OpDef{"", "DynamicQuantizeLinear", infer_dynamic_quantize, create_dynamic_quantize});
  // ONNX Runtime's contrib copies, as written by its quantization tools.
  r.add(OpDef{"com.microsoft", "QuantizeLinear", infer_quantize, create_quantize});
  r.add(OpDef{"com.microsoft", "DequantizeLinear", infer_dequantize, create_dequantize});
  register_quant_conv_ops(r);
  register_quant_matmul_ops(r);
  register_quant_binary_ops(r);
  register_quant_lookup_ops(r);
  register_quant_contrib_ops(r);
}

}  // namespace octet::detail
