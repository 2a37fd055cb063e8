// Conv (1-D, 2-D, 3-D; groups, dilations, strides, pads, auto_pad; optional bias), and the
// fused form octet.Conv (+ residual input Z, + ReLU / clip; see conv_fast.h).
//
// Kernel choice at creation, first that accepts the node: depthwise SIMD kernel, GEMM on the
// gemm_f32 table (conv_gemm.cc), then the reference below (every ISA, dtype and rank).
//
// For each (image, group) the output is the GEMM W_g[Mg, Cg*KS] x col[Cg*KS, OS] where col
// is the im2col matrix of the input. col is built one tile of output positions at a time into
// a bounded buffer; 1x1 stride-1 unpadded convolutions read the input in place. Every output
// element starts from its bias and adds its Cg*KS products in a fixed order, whatever the
// tiling or thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/conv/conv_fast.h"
#include "ops/window_geometry.h"
#include "ops/impl_list.h"
#include "ops/matmul/matmul_gemm.h"
#include "ops/op_util.h"

namespace octet::detail {

void register_conv_transpose_op(OpRegistry& r);  // conv_transpose.cc

namespace {

// Checks inputs and attributes; returns the shape. Shared by infer and create.
ConvShape conv_check(const NodeContext& ctx) {
  const DType dt = ctx.input_dtype(0);
  ctx.check(dt == DType::f32 || dt == DType::f64,
            std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  ctx.check(ctx.input_dtype(1) == dt, "W must have the dtype of X");
  const ConvShape s = conv_shape(ctx, ctx.input_shape(0), ctx.input_shape(1));
  if (ctx.has_input(2)) {
    ctx.check(ctx.input_dtype(2) == dt, "B must have the dtype of X");
    ctx.check(ctx.input_shape(2) == Shape{s.out_channels}, "B must have shape [" + std::to_string(s.out_channels) +
                                                               "], got " + shape_str(ctx.input_shape(2)));
  }
  return s;
}

void infer_conv(NodeContext& ctx) {
  const Shape y = conv_check(ctx).out_shape();
  shape_numel(y);
  conv_fusion(ctx, y);
  ctx.set_output(0, ctx.input_dtype(0), y);
}

// Writes rows [r0, r1) of the im2col matrix for output positions [p0, p1) of one image and
// group: row r = (c, kd, kh, kw), column p - p0; padding reads as zero.
template <class T>
void im2col_rows(const T* x, const WindowGeometry& g, int64_t p0, int64_t p1, int64_t r0,
                 int64_t r1, T* col) {
  const int64_t tn = p1 - p0;
  const int64_t KD = g.kernel[0], KH = g.kernel[1], KW = g.kernel[2];
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2];
  const int64_t OH = g.out[1], OW = g.out[2];
  const int64_t SD = g.stride[0], SH = g.stride[1], SW = g.stride[2];
  const int64_t KS = KD * KH * KW, IS = g.in_size();
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / KS, kr = r % KS;
    const int64_t kw = kr % KW, kh = (kr / KW) % KH, kd = kr / (KW * KH);
    const int64_t d_off = kd * g.dilation[0] - g.pad_begin[0];
    const int64_t h_off = kh * g.dilation[1] - g.pad_begin[1];
    const int64_t w_off = kw * g.dilation[2] - g.pad_begin[2];
    // Output columns ow whose input column ow*SW + w_off lies inside [0, IW).
    const int64_t ow_lo = w_off >= 0 ? 0 : (-w_off + SW - 1) / SW;
    const int64_t ow_hi = IW - 1 - w_off >= 0 ? (IW - 1 - w_off) / SW + 1 : 0;
    const T* xc = x + c * IS;
    T* dst = col + (r - r0) * tn;
    int64_t ow = p0 % OW, oh = (p0 / OW) % OH, od = p0 / (OW * OH);
    for (int64_t p = p0; p < p1;) {
      const int64_t seg = std::min(p1 - p, OW - ow);
      const int64_t id = od * SD + d_off, ih = oh * SH + h_off;
      if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
        std::fill(dst, dst + seg, T(0));
      } else {
        const T* row = xc + (id * IH + ih) * IW;
        const int64_t lo = std::clamp(ow_lo, ow, ow + seg), hi = std::clamp(ow_hi, lo, ow + seg);
        std::fill(dst, dst + (lo - ow), T(0));
        T* d = dst + (lo - ow);
        if (SW == 1) {
          if (hi > lo) std::memcpy(d, row + lo + w_off, sizeof(T) * (hi - lo));
        } else {
          for (int64_t o = lo; o < hi; ++o) d[o - lo] = row[o * SW + w_off];
        }
        std::fill(dst + (hi - ow), dst + seg, T(0));
      }
      dst += seg;
      p += seg;
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        ++od;
      }
    }
  }
}

class ConvKernel : public OpKernel {
 public:
  ConvKernel(DType dtype, WindowGeometry g, int64_t group, ConvFusion fusion)
      : dtype_(dtype), g_(g), group_(group), fusion_(fusion) {}

  void run(KernelContext& ctx) const override {
    if (dtype_ == DType::f32)
      run_typed<float>(ctx);
    else
      run_typed<double>(ctx);
    if (fusion_.residual || fusion_.act != kernels::Activation::none) run_epilogue(ctx);
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

    const int64_t N = xt.shape()[0], C = xt.shape()[1], M = wt.shape()[0];
    const int64_t G = group_, Cg = C / G, Mg = M / G;
    const int64_t KS = g_.kernel_size(), IS = g_.in_size(), OS = g_.out_size();
    const int64_t Kdim = Cg * KS;
    if (N == 0 || OS == 0) return;
    bool pointwise = KS == 1;
    for (int i = 0; i < 3; ++i)
      pointwise = pointwise && g_.stride[i] == 1 && g_.pad_begin[i] == 0 && g_.pad_end[i] == 0;

    // Output positions per tile: the im2col tile holds about kColElems elements.
    constexpr int64_t kColElems = int64_t(1) << 17;
    int64_t tile =
        pointwise ? OS : std::max<int64_t>(64, kColElems / std::max<int64_t>(Kdim, 1) / 16 * 16);
    tile = std::min(tile, OS);
    const int64_t tiles = (OS + tile - 1) / tile;
    const int64_t tasks = N * G * tiles;
    const size_t col_elems = pointwise ? 0 : static_cast<size_t>(Kdim * tile);

    // One (image, group, tile): bias into the output rows, im2col, GEMM. `inner` parallelises
    // inside the task (im2col rows, GEMM rows) when there are too few tasks to share out.
    auto run_task = [&](int64_t task, T* col, kernels::ThreadPool* inner) {
      const int64_t t = task % tiles, ng = task / tiles;
      const int64_t n = ng / G, gi = ng % G;
      const int64_t p0 = t * tile, p1 = std::min(OS, p0 + tile), tn = p1 - p0;
      T* yt = y + (n * M + gi * Mg) * OS + p0;
      for (int64_t m = 0; m < Mg; ++m)
        std::fill(yt + m * OS, yt + m * OS + tn, bias ? bias[gi * Mg + m] : T(0));
      const T* xg = x + (n * C + gi * Cg) * IS;
      const T* b = xg + p0;
      int64_t ldb = IS;
      if (!pointwise) {
        if (inner) {
          inner->parallel_for(Kdim, [&](int64_t r0, int64_t r1) {
            im2col_rows(xg, g_, p0, p1, r0, r1, col + r0 * tn);
          });
        } else {
          im2col_rows(xg, g_, p0, p1, 0, Kdim, col);
        }
        b = col;
        ldb = tn;
      }
      gemm_accumulate<T>(Mg, tn, Kdim, w + gi * Mg * Kdim, Kdim, b, ldb, yt, OS, inner);
    };

    kernels::ThreadPool* pool = ctx.pool;
    const int threads = pool ? pool->size() : 1;
    if (threads > 1 && tasks >= 4 * threads) {
      pool->parallel_for(tasks, [&](int64_t begin, int64_t end) {
        std::vector<T> col(col_elems);
        for (int64_t task = begin; task < end; ++task) run_task(task, col.data(), nullptr);
      });
    } else {
      std::vector<T> col(col_elems);
      for (int64_t task = 0; task < tasks; ++task)
        run_task(task, col.data(), threads > 1 ? pool : nullptr);
    }
  }

  // The fused form: y = act(y + z), element by element after the convolution (f32 only).
  void run_epilogue(KernelContext& ctx) const {
    float* y = ctx.output(0).data_as<float>();
    const float* z = fusion_.residual ? ctx.input(FusedConvIn::kZ).data_as<float>() : nullptr;
    const int64_t n = ctx.output(0).numel();
    for (int64_t i = 0; i < n; ++i) y[i] = apply_activation(fusion_, z ? y[i] + z[i] : y[i]);
  }

  DType dtype_;
  WindowGeometry g_;
  int64_t group_;
  ConvFusion fusion_;
};

std::unique_ptr<OpKernel> create_reference(const ConvDesc& d, const NodeContext& ctx) {
  return std::make_unique<ConvKernel>(ctx.input_dtype(0), d.shape.win, d.shape.group, d.fusion);
}

const OpImpl<ConvDesc> kConvImpls[] = {
    {"conv_depthwise", conv_depthwise_conditions, create_conv_depthwise},
    {"conv_gemm", conv_gemm_conditions, create_conv_gemm},
    {"conv_reference", accepts_every_node<ConvDesc>, create_reference},
};

std::unique_ptr<OpKernel> create_conv(const NodeContext& ctx) {
  ConvDesc d;
  d.ctx = &ctx;
  d.shape = conv_check(ctx);
  d.fusion = conv_fusion(ctx, d.shape.out_shape());
  return create_first_accepting(kConvImpls, d, ctx);
}

}  // namespace

ConvFusion conv_fusion(const NodeContext& ctx, const Shape& y_shape) {
  ConvFusion f;
  if (ctx.node().domain != kOctetDomain) {
    ctx.check(ctx.num_inputs() <= 3, "Conv takes at most 3 inputs");
    return f;
  }
  ctx.check(ctx.input_dtype(0) == DType::f32, "the fused conv is FP32 only");
  ctx.check(ctx.num_inputs() <= FusedConvIn::kCount, "the fused conv takes at most 4 inputs (X, W, B, Z)");
  if (ctx.has_input(FusedConvIn::kZ)) {
    ctx.check(ctx.input_dtype(FusedConvIn::kZ) == DType::f32, "Z must be f32");
    ctx.check(ctx.input_shape(FusedConvIn::kZ) == y_shape,
              "Z " + shape_str(ctx.input_shape(FusedConvIn::kZ)) + " must have the output shape " + shape_str(y_shape));
    f.residual = true;
  }
  const std::string act = ctx.node().attr_s("activation", "");
  if (act == "Relu") {
    f.act = kernels::Activation::relu;
  } else if (act == "Clip") {
    f.act = kernels::Activation::clip;
    f.clip_lo = ctx.node().attr_f("clip_min", -3.4028234663852886e38f);
    f.clip_hi = ctx.node().attr_f("clip_max", 3.4028234663852886e38f);
    ctx.check(!(f.clip_lo > f.clip_hi), "clip_min > clip_max");
  } else if (act == "HardSwish") {
    f.act = kernels::Activation::hardswish;
  } else {
    ctx.check(act.empty(), "unknown activation '" + act + "'");
  }
  return f;
}

void register_conv_ops(OpRegistry& r) {
  r.add(OpDef{"", "Conv", infer_conv, create_conv});
  r.add(OpDef{kOctetDomain, kOpConv, infer_conv, create_conv});
  register_conv_transpose_op(r);
  register_conv_nhwc_op(r);
}

}  // namespace octet::detail
