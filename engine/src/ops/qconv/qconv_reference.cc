// Integer convolutions: QLinearConv and ConvInteger (1-D, 2-D, 3-D; groups, strides, pads,
// dilations, auto_pad). Per (image, group): im2col of (x - x_zero_point) as int16, an exact
// int32 GEMM with (w - w_zero_point), then the epilogue: ConvInteger writes the int32 sums;
// QLinearConv adds the int32 bias and requantizes in float with round-half-even.
#include <algorithm>

#include "ops/window_geometry.h"
#include "ops/qconv/qconv.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

// Convolution geometry: the conv family's ConvShape (window_geometry.h).
using ConvGeom = ConvShape;

ConvGeom conv_geometry(const NodeContext& ctx, size_t xi, size_t wi) {
  return conv_shape(ctx, ctx.input_shape(xi), ctx.input_shape(wi));
}

// col[K, P] (int16) of one group of one image: x - x_zero_point, 0 in the padding.
void im2col_s16(const ConvGeom& cg_geom, const int16_t* x, int16_t* col, kernels::ThreadPool* pool) {
  const WindowGeometry& g = cg_geom.win;
  const int64_t cg = cg_geom.channels / cg_geom.group;
  const int64_t kvol = g.kernel_size();
  const int64_t P = g.out_size();
  auto rows = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r / kvol, kk = r % kvol;
      const int64_t kd = kk / (g.kernel[1] * g.kernel[2]), kh = kk / g.kernel[2] % g.kernel[1], kw = kk % g.kernel[2];
      const int16_t* xc = x + c * g.in_size();
      int16_t* out = col + r * P;
      // Output columns whose input column lands inside [0, W): [ow_lo, ow_hi).
      const int64_t w_off = kw * g.dilation[2] - g.pad_begin[2], sw = g.stride[2];
      int64_t ow_lo = w_off >= 0 ? 0 : (-w_off + sw - 1) / sw;
      int64_t ow_hi = g.in[2] - w_off > 0 ? (g.in[2] - w_off + sw - 1) / sw : 0;
      ow_lo = std::min(ow_lo, g.out[2]);
      ow_hi = std::clamp(ow_hi, ow_lo, g.out[2]);
      for (int64_t od = 0; od < g.out[0]; ++od) {
        const int64_t id = od * g.stride[0] + kd * g.dilation[0] - g.pad_begin[0];
        for (int64_t oh = 0; oh < g.out[1]; ++oh, out += g.out[2]) {
          const int64_t ih = oh * g.stride[1] + kh * g.dilation[1] - g.pad_begin[1];
          if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
            std::fill(out, out + g.out[2], int16_t(0));
            continue;
          }
          const int16_t* xrow = xc + (id * g.in[1] + ih) * g.in[2];
          std::fill(out, out + ow_lo, int16_t(0));
          if (sw == 1) {
            if (ow_hi > ow_lo) std::copy(xrow + ow_lo + w_off, xrow + ow_hi + w_off, out + ow_lo);
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow] = xrow[ow * sw + w_off];
          }
          std::fill(out + ow_hi, out + g.out[2], int16_t(0));
        }
      }
    }
  };
  const int64_t K = cg * kvol;
  if (pool && pool->size() > 1 && K * P >= (int64_t(1) << 16)) pool->parallel_for(K, rows);
  else rows(0, K);
}

// Inputs of the two ops, by role.
struct IntConvInputs {
  size_t x, w, x_zero, w_zero;
  size_t x_scale = 0, w_scale = 0, y_scale = 0, y_zero = 0, bias = 0;
  bool qlinear = false;
};

constexpr IntConvInputs kQLinearConv{0, 3, 2, 5, 1, 4, 6, 7, 8, true};
constexpr IntConvInputs kConvInteger{0, 1, 2, 3, 0, 0, 0, 0, 0, false};

ConvGeom check_int_conv(const NodeContext& ctx, const IntConvInputs& in) {
  for (size_t i : {in.x, in.w})
    if (!is_q8(ctx.input_dtype(i)))
      ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(i)) + " for input " + std::to_string(i));
  ConvGeom g = conv_geometry(ctx, in.x, in.w);
  auto check_zero = [&](size_t zi, size_t data, int64_t channels, const char* what) {
    if (!ctx.has_input(zi)) return;
    if (ctx.input_dtype(zi) != ctx.input_dtype(data)) ctx.fail(std::string(what) + "_zero_point must have the dtype of " + what);
    int64_t n = shape_numel(ctx.input_shape(zi));
    if (!(n == 1 || (channels > 0 && n == channels && ctx.input_shape(zi).size() == 1)))
      ctx.fail(std::string(what) + "_zero_point has shape " + shape_str(ctx.input_shape(zi)));
  };
  if (in.qlinear) {
    check_quant_param(ctx, in.x_scale, in.x_zero, -1, "x");
    check_quant_param(ctx, in.w_scale, in.w_zero, g.out_channels, "w");
    check_quant_param(ctx, in.y_scale, in.y_zero, -1, "y");
    if (ctx.has_input(in.x_zero) && ctx.input_dtype(in.x_zero) != ctx.input_dtype(in.x))
      ctx.fail("x_zero_point must have the dtype of x");
    if (ctx.has_input(in.w_zero) && ctx.input_dtype(in.w_zero) != ctx.input_dtype(in.w))
      ctx.fail("w_zero_point must have the dtype of w");
    if (ctx.has_input(in.y_zero) && !is_q8(ctx.input_dtype(in.y_zero)))
      ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(in.y_zero)) + " for y_zero_point");
    if (ctx.has_input(in.bias)) {
      if (ctx.input_dtype(in.bias) != DType::s32) ctx.fail("the bias must be int32");
      if (ctx.input_shape(in.bias) != Shape{g.out_channels}) ctx.fail("the bias must have one value per output channel");
    }
  } else {
    check_zero(in.x_zero, in.x, -1, "x");
    check_zero(in.w_zero, in.w, g.out_channels, "w");
  }
  return g;
}

class IntConvKernel : public OpKernel {
 public:
  IntConvKernel(ConvGeom g, IntConvInputs in) : g_(std::move(g)), in_(in) {}

  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(in_.x);
    const Tensor& w = ctx.input(in_.w);
    Tensor& y = ctx.output(0);
    const int64_t M = g_.out_channels, Mg = M / g_.group, cg = g_.channels / g_.group;
    const int64_t K = g_.k_size(), P = g_.win.out_size(), in_size = g_.win.in_size();

    const int32_t x_zero = ctx.has_input(in_.x_zero) ? tensor_to_int32s(ctx.input(in_.x_zero))[0] : 0;
    std::vector<int32_t> w_zero = ctx.has_input(in_.w_zero) ? tensor_to_int32s(ctx.input(in_.w_zero))
                                                            : std::vector<int32_t>{0};
    // Weights as int16 (w - w_zero_point[m]), [M, K] row-major (K = C/group * kernel volume).
    std::vector<int16_t> w16(static_cast<size_t>(M * K));
    for (int64_t m = 0; m < M; ++m)
      widen_minus_zero(w.dtype(), static_cast<const char*>(w.data()) + m * K, K,
                       w_zero.size() == 1 ? w_zero[0] : w_zero[m], w16.data() + m * K);

    // Requantization for QLinearConv: multiplier[m] = x_scale * w_scale[m] / y_scale.
    std::vector<float> multiplier;
    std::vector<int32_t> bias(static_cast<size_t>(M), 0);
    int32_t y_zero = 0, lo = 0, hi = 0;
    if (in_.qlinear) {
      QuantParam xq = read_quant_param(ctx, in_.x_scale, in_.x_zero);
      QuantParam wq = read_quant_param(ctx, in_.w_scale, in_.w_zero);
      QuantParam yq = read_quant_param(ctx, in_.y_scale, in_.y_zero);
      multiplier.resize(static_cast<size_t>(M));
      for (int64_t m = 0; m < M; ++m) multiplier[m] = xq.scale[0] * wq.scale_at(m) / yq.scale[0];
      y_zero = yq.zero[0];
      q8_range(y.dtype(), &lo, &hi);
      if (ctx.has_input(in_.bias)) bias = tensor_to_int32s(ctx.input(in_.bias));
    }

    // 1x1 kernel, stride 1, no padding: x itself is the column matrix.
    const bool direct = K == cg && P == in_size && g_.win.stride == std::array<int64_t, 3>{1, 1, 1} &&
                        g_.win.pad_begin == std::array<int64_t, 3>{0, 0, 0};
    std::vector<int16_t> x16(static_cast<size_t>(cg * in_size));
    std::vector<int16_t> col(direct ? 0 : static_cast<size_t>(K * P));
    std::vector<int32_t> acc(static_cast<size_t>(Mg * P));
    const char* xbytes = static_cast<const char*>(x.data());
    for (int64_t n = 0; n < g_.batch; ++n) {
      for (int64_t grp = 0; grp < g_.group; ++grp) {
        widen_minus_zero(x.dtype(), xbytes + (n * g_.channels + grp * cg) * in_size, cg * in_size, x_zero, x16.data());
        const int16_t* b = x16.data();
        if (!direct) {
          im2col_s16(g_, x16.data(), col.data(), ctx.pool);
          b = col.data();
        }
        gemm_s16_s32(Mg, P, K, w16.data() + grp * Mg * K, K, b, P, acc.data(), P, ctx.pool);
        const int64_t m0 = grp * Mg;
        const int64_t out_base = (n * M + m0) * P;
        if (!in_.qlinear) {
          std::copy(acc.begin(), acc.end(), y.data_as<int32_t>() + out_base);
          continue;
        }
        for (int64_t m = 0; m < Mg; ++m) {
          const float mult = multiplier[m0 + m];
          // Bias joins the exact sum (wrapping like int32 hardware), then requantize.
          const uint32_t bias_u = static_cast<uint32_t>(bias[m0 + m]);
          const int32_t* a = acc.data() + m * P;
          auto store = [&](auto* out) {
            using Q = std::remove_pointer_t<decltype(out)>;
            for (int64_t p = 0; p < P; ++p) {
              int32_t s = static_cast<int32_t>(static_cast<uint32_t>(a[p]) + bias_u);
              out[p] = static_cast<Q>(quantize_value(static_cast<float>(s) * mult, y_zero, lo, hi));
            }
          };
          if (y.dtype() == DType::u8) store(y.data_as<uint8_t>() + out_base + m * P);
          else store(y.data_as<int8_t>() + out_base + m * P);
        }
      }
    }
  }

 private:
  ConvGeom g_;
  IntConvInputs in_;
};

void infer_qlinear_conv(NodeContext& ctx) {
  ConvGeom g = check_int_conv(ctx, kQLinearConv);
  // y takes the dtype of y_zero_point (of x when the zero point is omitted).
  DType yt = ctx.has_input(kQLinearConv.y_zero) ? ctx.input_dtype(kQLinearConv.y_zero) : ctx.input_dtype(0);
  ctx.set_output(0, yt, g.out_shape());
}

std::unique_ptr<OpKernel> create_qlinear_conv(const NodeContext& ctx) {
  check_int_conv(ctx, kQLinearConv);
  return create_qlinear_conv_kernel(ctx);  // the fast implementations, then the reference
}

void infer_conv_integer(NodeContext& ctx) {
  ConvGeom g = check_int_conv(ctx, kConvInteger);
  ctx.set_output(0, DType::s32, g.out_shape());
}

std::unique_ptr<OpKernel> create_conv_integer(const NodeContext& ctx) {
  return std::make_unique<IntConvKernel>(check_int_conv(ctx, kConvInteger), kConvInteger);
}

}  // namespace

std::unique_ptr<OpKernel> create_qlinear_conv_reference(const NodeContext& ctx) {
  return std::make_unique<IntConvKernel>(check_int_conv(ctx, kQLinearConv), kQLinearConv);
}

void register_quant_conv_ops(OpRegistry& r) {
  r.add(OpDef{"", "QLinearConv", infer_qlinear_conv, create_qlinear_conv});
  r.add(OpDef{"", "ConvInteger", infer_conv_integer, create_conv_integer});
}

}  // namespace octet::detail
