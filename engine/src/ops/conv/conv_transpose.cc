// ConvTranspose (1-D, 2-D, 3-D; groups, strides, dilations, pads, output_padding,
// output_shape, auto_pad; optional bias).
//
// Direct scatter loops, one task per (image, output channel): the output plane starts at its
// bias and adds, for each input channel of its group and each kernel tap in order, the
// weighted input plane at its strided offset. The order is fixed, so results do not depend on
// the thread count.
#include <algorithm>
#include <vector>

#include "ops/window_geometry.h"
#include "ops/op_util.h"

namespace octet::detail {

namespace {

struct TransposeGeometry {
  int spatial_rank = 0;
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, dilation{1, 1, 1}, pad_begin{0, 0, 0};
  int64_t group = 1;
};

TransposeGeometry conv_transpose_check(const NodeContext& ctx) {
  const DType dt = ctx.input_dtype(0);
  ctx.check(dt == DType::f32 || dt == DType::f64,
            std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  ctx.check(ctx.input_dtype(1) == dt, "W must have the dtype of X");
  const Shape& x = ctx.input_shape(0);
  const Shape& w = ctx.input_shape(1);
  ctx.check(x.size() >= 3, "X must have rank >= 3, got " + shape_str(x));
  ctx.check(w.size() == x.size(), "W rank must equal X rank, got W " + shape_str(w));
  const size_t rank = x.size() - 2;
  ctx.check(rank <= kMaxSpatialRank,
            "spatial rank " + std::to_string(rank) + " is not supported (at most 3)");
  TransposeGeometry g;
  g.spatial_rank = static_cast<int>(rank);
  g.group = ctx.node().attr_i("group", 1);
  ctx.check(g.group >= 1, "group must be >= 1");
  ctx.check(x[1] % g.group == 0 && w[0] == x[1], "W " + shape_str(w) + " does not match X " +
                                                     shape_str(x) + " in " +
                                                     std::to_string(g.group) + " groups");
  ctx.check(w[1] >= 1, "W has no output channels: " + shape_str(w));
  const int64_t out_channels = w[1] * g.group;
  if (ctx.has_input(2)) {
    ctx.check(ctx.input_dtype(2) == dt, "B must have the dtype of X");
    ctx.check(ctx.input_shape(2) == Shape{out_channels},
              "B must have shape [" + std::to_string(out_channels) + "], got " +
                  shape_str(ctx.input_shape(2)));
  }
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  for (int64_t k : kernel) ctx.check(k >= 1, "W has an empty kernel: " + shape_str(w));
  if (ctx.node().has_attr("kernel_shape"))
    ctx.check(ctx.node().attr_ints("kernel_shape") == kernel,
              "kernel_shape does not match W " + shape_str(w));

  std::vector<int64_t> strides = spatial_attr(ctx, "strides", rank, 1, 1);
  std::vector<int64_t> dilations = spatial_attr(ctx, "dilations", rank, 1, 1);
  std::vector<int64_t> pads = spatial_attr(ctx, "pads", 2 * rank, 0, 0);
  std::vector<int64_t> output_padding = spatial_attr(ctx, "output_padding", rank, 0, 0);
  const std::string auto_pad = ctx.node().attr_s("auto_pad", "NOTSET");
  ctx.check(auto_pad == "NOTSET" || auto_pad == "VALID" || auto_pad == "SAME_UPPER" ||
                auto_pad == "SAME_LOWER",
            "unknown auto_pad '" + auto_pad + "'");
  std::vector<int64_t> output_shape = ctx.node().attr_ints("output_shape");
  if (output_shape.size() == rank + 2)  // some exporters give N and C too
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  ctx.check(output_shape.empty() || output_shape.size() == rank,
            "output_shape must have " + std::to_string(rank) + " values");

  for (size_t i = 0; i < rank; ++i) {
    const size_t a = 3 - rank + i;
    const int64_t in = x[2 + i];
    ctx.check(in >= 1, "spatial dim " + std::to_string(in) + " of X must be >= 1");
    g.in[a] = in;
    g.kernel[a] = kernel[i];
    g.stride[a] = strides[i];
    g.dilation[a] = dilations[i];
    // The extent of the full (unpadded) output, checked: attributes come from the file and
    // stride * length can pass int64 (a 1 KB model with strides 2^30 on a 2^40 axis).
    int64_t spread = 0, reach = 0, full = 0;
    const bool overflow = __builtin_mul_overflow(strides[i], in - 1, &spread) ||
                          __builtin_mul_overflow(kernel[i] - 1, dilations[i], &reach) ||
                          __builtin_add_overflow(spread, reach, &full) ||
                          __builtin_add_overflow(full, output_padding[i], &full) ||
                          __builtin_add_overflow(full, int64_t(1), &full) || full >= (int64_t(1) << 40);
    ctx.check(!overflow, "output extent of axis " + std::to_string(i) + " (stride " + std::to_string(strides[i]) +
                             ", input " + std::to_string(in) + ", kernel " + std::to_string(kernel[i]) +
                             ", dilation " + std::to_string(dilations[i]) + ") is out of range");
    int64_t out = 0, pad_begin = 0;
    if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out = !output_shape.empty() ? output_shape[i] : in * strides[i];  // in * stride <= full < 2^40
      ctx.check(out >= 1 && out < (int64_t(1) << 31),
                "output_shape value " + std::to_string(out) + " is out of range");
      // An output larger than the full extent is padded at the end (bias only).
      const int64_t total = std::max<int64_t>(0, full - out);
      pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (auto_pad == "VALID") {
      out = full;
    } else {
      ctx.check(pads[i] < (int64_t(1) << 40) && pads[rank + i] < (int64_t(1) << 40),
                "pads " + std::to_string(pads[i]) + ", " + std::to_string(pads[rank + i]) + " are out of range");
      pad_begin = pads[i];
      out = full - pads[i] - pads[rank + i];
      ctx.check(out >= 1, "pads leave an empty output");
    }
    g.out[a] = out;
    g.pad_begin[a] = pad_begin;
  }
  return g;
}

void infer_conv_transpose(NodeContext& ctx) {
  TransposeGeometry g = conv_transpose_check(ctx);
  const Shape& x = ctx.input_shape(0);
  Shape y{x[0], ctx.input_shape(1)[1] * g.group};
  for (int i = 3 - g.spatial_rank; i < 3; ++i) y.push_back(g.out[i]);
  shape_numel(y);
  ctx.set_output(0, ctx.input_dtype(0), y);
}

class ConvTransposeKernel : public OpKernel {
 public:
  ConvTransposeKernel(DType dtype, TransposeGeometry g) : dtype_(dtype), g_(g) {}

  void run(KernelContext& ctx) const override {
    if (dtype_ == DType::f32)
      run_typed<float>(ctx);
    else
      run_typed<double>(ctx);
  }

 private:
  template <class T>
  void run_typed(KernelContext& ctx) const {
    const Tensor& xt = ctx.input(0);
    const Tensor& wt = ctx.input(1);
    const T* x = xt.data_as<T>();
    const T* w = wt.data_as<T>();
    const T* bias = ctx.has_input(2) ? ctx.input(2).data_as<T>() : nullptr;
    T* y = ctx.output(0).data_as<T>();
    const int64_t N = xt.shape()[0], C = xt.shape()[1];
    const int64_t G = g_.group, Cg = C / G, Mg = wt.shape()[1], M = Mg * G;
    const auto& in = g_.in;
    const auto& out = g_.out;
    const int64_t IS = in[0] * in[1] * in[2], OS = out[0] * out[1] * out[2];
    const int64_t KS = g_.kernel[0] * g_.kernel[1] * g_.kernel[2];

    auto plane = [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task) {
        const int64_t n = task / M, co = task % M, gi = co / Mg, m = co % Mg;
        T* yp = y + task * OS;
        std::fill(yp, yp + OS, bias ? bias[co] : T(0));
        for (int64_t ci = gi * Cg; ci < (gi + 1) * Cg; ++ci) {
          const T* xp = x + (n * C + ci) * IS;
          const T* wp = w + (ci * Mg + m) * KS;
          for (int64_t kd = 0; kd < g_.kernel[0]; ++kd)
            for (int64_t kh = 0; kh < g_.kernel[1]; ++kh)
              for (int64_t kw = 0; kw < g_.kernel[2]; ++kw)
                scatter_tap(xp, wp[(kd * g_.kernel[1] + kh) * g_.kernel[2] + kw], kd, kh, kw, yp);
        }
      }
    };
    const int64_t tasks = N * M;
    if (ctx.pool && ctx.pool->size() > 1 && tasks > 1)
      ctx.pool->parallel_for(tasks, plane);
    else
      plane(0, tasks);
  }

  // yp[o] += wv * xp[i] for every input position i whose tap (kd, kh, kw) lands inside the
  // output: o = i * stride - pad_begin + k * dilation.
  template <class T>
  void scatter_tap(const T* xp, T wv, int64_t kd, int64_t kh, int64_t kw, T* yp) const {
    const auto& in = g_.in;
    const auto& out = g_.out;
    const auto& s = g_.stride;
    const int64_t d_off = kd * g_.dilation[0] - g_.pad_begin[0];
    const int64_t h_off = kh * g_.dilation[1] - g_.pad_begin[1];
    const int64_t w_off = kw * g_.dilation[2] - g_.pad_begin[2];
    // Input columns iw with 0 <= iw * s + w_off < out.
    const int64_t iw_lo = w_off >= 0 ? 0 : (-w_off + s[2] - 1) / s[2];
    const int64_t iw_hi =
        std::min(in[2], out[2] - 1 - w_off >= 0 ? (out[2] - 1 - w_off) / s[2] + 1 : 0);
    if (iw_lo >= iw_hi) return;
    for (int64_t id = 0; id < in[0]; ++id) {
      const int64_t od = id * s[0] + d_off;
      if (od < 0 || od >= out[0]) continue;
      for (int64_t ih = 0; ih < in[1]; ++ih) {
        const int64_t oh = ih * s[1] + h_off;
        if (oh < 0 || oh >= out[1]) continue;
        const T* xr = xp + (id * in[1] + ih) * in[2];
        T* yr = yp + (od * out[1] + oh) * out[2];
        if (s[2] == 1) {
          for (int64_t iw = iw_lo; iw < iw_hi; ++iw) yr[iw + w_off] += wv * xr[iw];
        } else {
          for (int64_t iw = iw_lo; iw < iw_hi; ++iw) yr[iw * s[2] + w_off] += wv * xr[iw];
        }
      }
    }
  }

  DType dtype_;
  TransposeGeometry g_;
};

std::unique_ptr<OpKernel> create_conv_transpose(const NodeContext& ctx) {
  return std::make_unique<ConvTransposeKernel>(ctx.input_dtype(0), conv_transpose_check(ctx));
}

}  // namespace

void register_conv_transpose_op(OpRegistry& r) {
  r.add(OpDef{"", "ConvTranspose", infer_conv_transpose, create_conv_transpose});
}

}  // namespace octet::detail
