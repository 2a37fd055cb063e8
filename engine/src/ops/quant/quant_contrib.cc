// ONNX Runtime's quantized contrib ops that octet's INT8 graphs use (domain com.microsoft):
//   QGemm: Y = alpha * a_scale * b_scale[n] * (A'B' + C) with C int32 in that scale; Y is f32
//     without y_scale, else requantized to y_zero_point's type. Constant s8 B with zero points
//     0 runs on the INT8 GEMM kernels (qgemm/packed_qgemm.h); the reference path computes the same
//     integers and the same epilogue.
//   QLinearAveragePool / QLinearGlobalAveragePool: exact int32 sums of x - x_zero_point, then
//     round_half_even(float(sum) * (x_scale / (y_scale * count))) + y_zero_point.
//   QLinearConcat: each input requantized to (y_scale, y_zero_point) through a 256-entry table
//     (round_half_even(float(x - x_zero_point) * (x_scale / y_scale)) + y_zero_point).
#include <algorithm>
#include <cmath>

#include "octet/kernels/registry.h"
#include "ops/window_geometry.h"
#include "ops/impl_list.h"
#include "ops/octet_ops.h"
#include "ops/qconv/qconv.h"
#include "ops/qgemm/packed_qgemm.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

// --- QGemm -----------------------------------------------------------------------------------

constexpr size_t kA = 0, kAScale = 1, kAZero = 2, kB = 3, kBScale = 4, kBZero = 5, kC = 6, kYScale = 7, kYZero = 8;

struct GemmGeom {
  int64_t M = 0, K = 0, N = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1;
  DType out = DType::f32;
};

GemmGeom check_qgemm(const NodeContext& ctx) {
  for (size_t i : {kA, kB})
    if (!is_q8(ctx.input_dtype(i)))
      ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(i)) + " for input " + std::to_string(i));
  const Shape& a = ctx.input_shape(kA);
  const Shape& b = ctx.input_shape(kB);
  if (a.size() != 2 || b.size() != 2) ctx.fail("A and B must be 2-D");
  GemmGeom g;
  g.trans_a = ctx.node().attr_i("transA", 0) != 0;
  g.trans_b = ctx.node().attr_i("transB", 0) != 0;
  g.alpha = ctx.node().attr_f("alpha", 1.0f);
  g.M = g.trans_a ? a[1] : a[0];
  g.K = g.trans_a ? a[0] : a[1];
  g.N = g.trans_b ? b[0] : b[1];
  if ((g.trans_b ? b[1] : b[0]) != g.K)
    ctx.fail("inner dimensions differ: " + shape_str(a) + " x " + shape_str(b));
  check_quant_param(ctx, kAScale, kAZero, -1, "a");
  check_quant_param(ctx, kBScale, kBZero, g.N, "b");
  if (ctx.has_input(kAZero) && ctx.input_dtype(kAZero) != ctx.input_dtype(kA)) ctx.fail("a_zero_point must have the dtype of A");
  if (ctx.has_input(kBZero) && ctx.input_dtype(kBZero) != ctx.input_dtype(kB)) ctx.fail("b_zero_point must have the dtype of B");
  if (ctx.has_input(kC)) {
    if (ctx.input_dtype(kC) != DType::s32) ctx.fail("C must be int32");
    Shape out;
    if (!broadcast_shapes(ctx.input_shape(kC), {g.M, g.N}, &out) || out != Shape{g.M, g.N})
      ctx.fail("C " + shape_str(ctx.input_shape(kC)) + " does not broadcast to [M, N]");
  }
  if (ctx.has_input(kYScale)) {
    check_quant_param(ctx, kYScale, kYZero, -1, "y");
    g.out = ctx.has_input(kYZero) ? ctx.input_dtype(kYZero) : DType::u8;
    if (!is_q8(g.out)) ctx.fail(std::string("unsupported dtype ") + dtype_name(g.out) + " for y_zero_point");
  } else if (ctx.has_input(kYZero)) {
    ctx.fail("y_zero_point without y_scale");
  }
  return g;
}

void infer_qgemm(NodeContext& ctx) {
  GemmGeom g = check_qgemm(ctx);
  ctx.set_output(0, g.out, {g.M, g.N});
}

// Reference: exact int32 sums of (a - a_zp)(b - b_zp) + C, then the GEMM epilogue.
class QGemmRef : public OpKernel {
 public:
  explicit QGemmRef(GemmGeom g) : g_(g) {}
  void run(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(kA);
    const Tensor& b = ctx.input(kB);
    Tensor& y = ctx.output(0);
    const int64_t M = g_.M, K = g_.K, N = g_.N;
    const QuantParam aq = read_quant_param(ctx, kAScale, kAZero), bq = read_quant_param(ctx, kBScale, kBZero);
    // A' [M,K] and B' [K,N] as int16 minus zero points.
    std::vector<int16_t> a16(static_cast<size_t>(M * K)), b16(static_cast<size_t>(K * N)), tmp;
    widen_minus_zero(a.dtype(), a.data(), a.numel(), aq.zero[0], a16.data());
    if (g_.trans_a) {
      tmp = a16;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t m = 0; m < M; ++m) a16[m * K + k] = tmp[k * M + m];
    }
    std::vector<int16_t> braw(static_cast<size_t>(K * N));
    widen_minus_zero(b.dtype(), b.data(), b.numel(), 0, braw.data());
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) {
        const int16_t v = g_.trans_b ? braw[n * K + k] : braw[k * N + n];
        b16[k * N + n] = static_cast<int16_t>(v - bq.zero_at(n));
      }
    std::vector<int32_t> acc(static_cast<size_t>(M * N));
    gemm_s16_s32(M, N, K, a16.data(), K, b16.data(), N, acc.data(), N, ctx.pool);
    if (ctx.has_input(kC)) {
      const Tensor& c = ctx.input(kC);
      const std::vector<int64_t> cs = broadcast_strides(c.shape(), {M, N});
      const int32_t* cp = c.data_as<int32_t>();
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          uint32_t s = static_cast<uint32_t>(acc[m * N + n]) + static_cast<uint32_t>(cp[m * cs[0] + n * cs[1]]);
          acc[m * N + n] = static_cast<int32_t>(s);
        }
    }
    const float a_scale = g_.alpha * aq.scale[0];
    if (g_.out == DType::f32) {
      float* out = y.data_as<float>();
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          const float scale = a_scale * bq.scale_at(n);
          out[m * N + n] = static_cast<float>(acc[m * N + n]) * scale;
        }
      return;
    }
    const QuantParam yq = read_quant_param(ctx, kYScale, kYZero);
    int32_t lo, hi;
    q8_range(g_.out, &lo, &hi);
    uint8_t* out = static_cast<uint8_t*>(y.data());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        const float mult = a_scale * bq.scale_at(n) / yq.scale[0];
        const int32_t q = quantize_value(static_cast<float>(acc[m * N + n]) * mult, yq.zero[0], lo, hi);
        out[m * N + n] = static_cast<uint8_t>(q);  // two's complement byte for s8
      }
  }

 private:
  GemmGeom g_;
};

class QGemmFast : public OpKernel {
 public:
  QGemmFast(std::unique_ptr<PackedQGemm> gemm, DType a_type) : gemm_(std::move(gemm)), a_type_(a_type) {}
  std::string name() const override { return gemm_->kernel_name(); }
  size_t weights_bytes() const override { return gemm_->bytes(); }
  bool owns_copy_of_input(size_t i) const override { return i == kB; }  // packed
  void run(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(kA);
    const uint8_t* src = static_cast<const uint8_t*>(a.data());
    std::vector<uint8_t> converted;
    if (a_type_ == DType::s8) {
      converted.resize(static_cast<size_t>(a.numel()));
      to_u8(DType::s8, src, a.numel(), converted.data());
      src = converted.data();
    }
    gemm_->run(a.shape()[0], src, gemm_->K(), ctx.output(0).data(), gemm_->N(), ctx.pool);
  }

 private:
  std::unique_ptr<PackedQGemm> gemm_;
  DType a_type_;
};

const Tensor* const_scalar(const NodeContext& ctx, size_t i) {
  const Tensor* t = ctx.has_input(i) ? ctx.input_const(i) : nullptr;
  return t && t->numel() == 1 ? t : nullptr;
}

// QGemm's implementations, in order: the packed INT8 GEMM, then the reference.
struct QGemmDesc {
  const NodeContext* ctx = nullptr;
  GemmGeom geom;
};

std::string packed_gemm_conditions(const QGemmDesc& d) {
  const NodeContext& ctx = *d.ctx;
  const GemmGeom& g = d.geom;
  if (std::string why = declined_on_ref_level(ctx); !why.empty()) return why;
  if (g.trans_a) return "transA";
  const Tensor* b = ctx.input_const(kB);
  if (!b || b->dtype() != DType::s8) return "B is not a constant s8 tensor";
  if (!const_scalar(ctx, kAScale) || !ctx.input_const(kBScale)) return "the scales are not constant";
  if (ctx.has_input(kAZero) && !const_scalar(ctx, kAZero)) return "a_zero_point is not a constant scalar";
  if (ctx.has_input(kBZero)) {
    const Tensor* bz = ctx.input_const(kBZero);
    if (!bz) return "b_zero_point is not constant";
    for (int32_t z : tensor_to_int32s(*bz))
      if (z != 0) return "a b_zero_point is not 0";
  }
  if (ctx.has_input(kC)) {
    const Tensor* c = ctx.input_const(kC);
    if (!c) return "C is not constant";
    if (!(c->numel() == 1 || (c->numel() == g.N && c->shape().back() == g.N))) return "C is not one value per column";
  }
  if (g.out != DType::f32 && (!const_scalar(ctx, kYScale) || (ctx.has_input(kYZero) && !const_scalar(ctx, kYZero))))
    return "y_scale / y_zero_point are not constant scalars";
  return {};
}

std::unique_ptr<OpKernel> create_packed_gemm(const QGemmDesc& d, const NodeContext& ctx) {
  const GemmGeom& g = d.geom;
  const Tensor* b = ctx.input_const(kB);
  std::vector<int32_t> bias(static_cast<size_t>(g.N), 0);
  if (ctx.has_input(kC)) {
    const Tensor* c = ctx.input_const(kC);
    for (int64_t n = 0; n < g.N; ++n) bias[n] = c->data_as<int32_t>()[c->numel() == 1 ? 0 : n];
  }
  float y_scale = 1;
  int32_t y_zero = 0;
  if (g.out != DType::f32) {
    y_scale = *const_scalar(ctx, kYScale)->data_as<float>();
    if (ctx.has_input(kYZero)) y_zero = tensor_to_int32s(*ctx.input_const(kYZero))[0];
  }
  const DType a_type = ctx.input_dtype(kA);
  int32_t a_zero = ctx.has_input(kAZero) ? tensor_to_int32s(*ctx.input_const(kAZero))[0] : 0;
  if (a_type == DType::s8) a_zero += 128;
  const std::vector<float> bs = tensor_to_floats(*ctx.input_const(kBScale));
  const float as = g.alpha * *const_scalar(ctx, kAScale)->data_as<float>();
  std::vector<float> scale(static_cast<size_t>(g.N));
  for (int64_t n = 0; n < g.N; ++n) {
    scale[n] = as * bs[bs.size() == 1 ? 0 : n];
    if (g.out != DType::f32) scale[n] = scale[n] / y_scale;
  }
  const kernels::QOutType out = g.out == DType::f32 ? kernels::QOutType::f32
                                : g.out == DType::s8 ? kernels::QOutType::s8
                                                     : kernels::QOutType::u8;
  auto packed = std::make_unique<PackedQGemm>(ctx, kB, [b] { return b->data_as<int8_t>(); }, g.K, g.N,
                                              g.trans_b ? g.K : g.N, g.trans_b, bias.data(), a_zero, std::move(scale), out, y_zero);
  return std::make_unique<QGemmFast>(std::move(packed), a_type);
}

std::unique_ptr<OpKernel> create_reference(const QGemmDesc& d, const NodeContext&) {
  return std::make_unique<QGemmRef>(d.geom);
}

const OpImpl<QGemmDesc> kQGemmImpls[] = {
    {"qgemm_packed_gemm", packed_gemm_conditions, create_packed_gemm},
    {"qgemm_reference", accepts_every_node<QGemmDesc>, create_reference},
};

std::unique_ptr<OpKernel> create_qgemm(const NodeContext& ctx) {
  QGemmDesc d;
  d.ctx = &ctx;
  d.geom = check_qgemm(ctx);
  return create_first_accepting(kQGemmImpls, d, ctx);
}

// --- QLinearAveragePool / QLinearGlobalAveragePool ---------------------------------------------

struct PoolGeom {
  WindowGeometry win;
  bool global = false, count_include_pad = false;
  Shape out;
};

// x: the input's shape as [N, C, spatial...].
PoolGeom check_qpool(const NodeContext& ctx, bool global, const Shape& x) {
  const DType t = ctx.input_dtype(0);
  if (!is_q8(t)) ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for input 0");
  if (ctx.node().attr_i("channels_last", 0) != 0) ctx.fail("channels_last = 1 is not supported");
  check_quant_param(ctx, 1, 2, -1, "x");
  check_quant_param(ctx, 3, 4, -1, "y");
  for (size_t zi : {size_t(2), size_t(4)})
    if (ctx.has_input(zi) && ctx.input_dtype(zi) != t) ctx.fail("zero points must have the dtype of X");
  if (x.size() < 3 || x.size() > 5) ctx.fail("expected a 1-D, 2-D or 3-D pooling input (rank 3 to 5)");
  PoolGeom p;
  p.global = global;
  std::vector<int64_t> kernel;
  if (global) {
    kernel.assign(x.begin() + 2, x.end());
    p.win.spatial_rank = static_cast<int>(x.size()) - 2;
    for (int d = 0; d < p.win.spatial_rank; ++d) {
      p.win.in[3 - p.win.spatial_rank + d] = x[2 + d];
      p.win.kernel[3 - p.win.spatial_rank + d] = x[2 + d];
    }
  } else {
    if (!ctx.node().has_attr("kernel_shape")) ctx.fail("kernel_shape is required");
    kernel = ctx.node().attr_ints("kernel_shape");
    p.win = window_geometry(ctx, x, kernel, ctx.node().attr_i("ceil_mode", 0) != 0, /*allow_dilations=*/false);
    p.count_include_pad = ctx.node().attr_i("count_include_pad", 0) != 0;
  }
  p.out = {x[0], x[1]};
  for (int64_t d : p.win.out_dims()) p.out.push_back(d);
  return p;
}

void infer_qpool(NodeContext& ctx, bool global) {
  PoolGeom p = check_qpool(ctx, global, ctx.input_shape(0));
  ctx.set_output(0, ctx.input_dtype(0), p.out);
}
void infer_qavgpool(NodeContext& ctx) { infer_qpool(ctx, false); }
void infer_qglobalavgpool(NodeContext& ctx) { infer_qpool(ctx, true); }

class QAvgPoolKernel : public OpKernel {
 public:
  explicit QAvgPoolKernel(PoolGeom p) : p_(std::move(p)) {}

  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const QuantParam xq = read_quant_param(ctx, 1, 2), yq = read_quant_param(ctx, 3, 4);
    const bool s8 = x.dtype() == DType::s8;
    int32_t lo, hi;
    q8_range(y.dtype(), &lo, &hi);
    const auto& g = p_.win;
    const int64_t planes = x.shape()[0] * x.shape()[1], IS = g.in_size(), OS = g.out_size();
    const uint8_t* xb = static_cast<const uint8_t*>(x.data());
    uint8_t* yb = static_cast<uint8_t*>(y.data());
    const float ratio = xq.scale[0] / yq.scale[0];
    auto body = [&](int64_t b0, int64_t b1) {
      for (int64_t plane = b0; plane < b1; ++plane) {
        const uint8_t* xp = xb + plane * IS;
        uint8_t* yp = yb + plane * OS;
        int64_t o = 0;
        for (int64_t od = 0; od < g.out[0]; ++od)
          for (int64_t oh = 0; oh < g.out[1]; ++oh)
            for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
              const std::array<int64_t, 3> pos{od, oh, ow};
              std::array<int64_t, 3> lo_i, hi_i;
              int64_t padded = 1, inside = 1;
              for (int a = 0; a < 3; ++a) {
                const int64_t start = pos[a] * g.stride[a] - g.pad_begin[a];
                const int64_t end = start + g.kernel[a];
                lo_i[a] = std::max<int64_t>(start, 0);
                hi_i[a] = std::min<int64_t>(end, g.in[a]);
                padded *= std::max<int64_t>(0, std::min(end, g.in[a] + g.pad_end[a]) - std::max(start, -g.pad_begin[a]));
                inside *= std::max<int64_t>(0, hi_i[a] - lo_i[a]);
              }
              int64_t sum = 0;
              for (int64_t d = lo_i[0]; d < hi_i[0]; ++d)
                for (int64_t h = lo_i[1]; h < hi_i[1]; ++h) {
                  const uint8_t* row = xp + (d * g.in[1] + h) * g.in[2];
                  for (int64_t w = lo_i[2]; w < hi_i[2]; ++w) sum += s8 ? int8_t(row[w]) : row[w];
                }
              sum -= static_cast<int64_t>(xq.zero[0]) * inside;
              const int64_t count = p_.count_include_pad ? padded : inside;
              const float mult = ratio / static_cast<float>(std::max<int64_t>(count, 1));
              const int32_t q = quantize_value(static_cast<float>(sum) * mult, yq.zero[0], lo, hi);
              yp[o] = static_cast<uint8_t>(q);
            }
      }
    };
    if (ctx.pool && ctx.pool->size() > 1 && planes > 1) ctx.pool->parallel_for(planes, body);
    else body(0, planes);
  }

 private:
  PoolGeom p_;
};

std::unique_ptr<OpKernel> create_qavgpool(const NodeContext& ctx) {
  return std::make_unique<QAvgPoolKernel>(check_qpool(ctx, false, ctx.input_shape(0)));
}
std::unique_ptr<OpKernel> create_qglobalavgpool(const NodeContext& ctx) {
  return std::make_unique<QAvgPoolKernel>(check_qpool(ctx, true, ctx.input_shape(0)));
}

// octet.QLinearAveragePoolNhwc: QLinearAveragePool's inputs and attributes (2-D, explicit
// kernel_shape) on [N, H, W, C]; the layout pass makes it of QLinearAveragePool and
// QLinearGlobalAveragePool with constant per-tensor parameters. The avgpool_nhwc_q8 kernels,
// output rows over the pool.
PoolGeom check_qavgpool_nhwc(const NodeContext& ctx, QuantParam* xq, QuantParam* yq) {
  const Shape x = nchw_of_nhwc_input(ctx, "octet.QLinearAveragePoolNhwc");
  PoolGeom p = check_qpool(ctx, false, x);
  ctx.check(const_quant_param(ctx, 1, 2, xq) && const_quant_param(ctx, 3, 4, yq),
            "octet.QLinearAveragePoolNhwc needs constant per-tensor parameters");
  // The kernels sum in int32.
  ctx.check(p.win.kernel[1] * p.win.kernel[2] < (int64_t(1) << 23), "the pooling window is too large");
  return p;
}

void infer_qavgpool_nhwc(NodeContext& ctx) {
  QuantParam xq, yq;
  const PoolGeom p = check_qavgpool_nhwc(ctx, &xq, &yq);
  Shape y{p.out[0], p.out[2], p.out[3], p.out[1]};
  ctx.set_output(0, ctx.input_dtype(0), y);
}

class QAvgPoolNhwcKernel : public OpKernel {
 public:
  QAvgPoolNhwcKernel(const NodeContext& ctx, const PoolGeom& g, const QuantParam& xq, const QuantParam& yq)
      : batch_(g.out[0]), fn_(kernels::kernel_registry(ctx.isa()).avgpool_nhwc_q8.run), name_(kernels::kernel_registry(ctx.isa()).avgpool_nhwc_q8.name) {
    const WindowGeometry& w = g.win;
    p_.s8_in = ctx.input_dtype(0) == DType::s8;
    p_.in_h = w.in[1];
    p_.in_w = w.in[2];
    p_.channels = g.out[1];
    p_.out_h = w.out[1];
    p_.out_w = w.out[2];
    p_.kernel_h = w.kernel[1];
    p_.kernel_w = w.kernel[2];
    p_.stride_h = w.stride[1];
    p_.stride_w = w.stride[2];
    p_.pad_top = w.pad_begin[1];
    p_.pad_left = w.pad_begin[2];
    p_.pad_bottom = w.pad_end[1];
    p_.pad_right = w.pad_end[2];
    p_.count_include_pad = g.count_include_pad;
    p_.x_zero = xq.zero[0];
    p_.ratio = xq.scale[0] / yq.scale[0];
    p_.y_zero = yq.zero[0];
    q8_range(ctx.input_dtype(0), &p_.q_lo, &p_.q_hi);
  }
  std::string name() const override { return name_; }

  void run(KernelContext& ctx) const override {
    const uint8_t* x = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data());
    const int64_t in_bytes = p_.in_h * p_.in_w * p_.channels, out_bytes = p_.out_h * p_.out_w * p_.channels;
    const size_t scratch_bytes = static_cast<size_t>(kernels::avgpool_nhwc_q8_scratch_bytes(p_));
    const bool threaded = ctx.pool && ctx.pool->size() > 1 && p_.out_h > 1 && in_bytes >= (int64_t(1) << 15);
    for (int64_t n = 0; n < batch_; ++n) {
      kernels::AvgPoolNhwcQ8 p = p_;
      p.in = x + n * in_bytes;
      p.out = y + n * out_bytes;
      auto rows = [&](int64_t r0, int64_t r1) {
        std::vector<uint8_t> scratch(scratch_bytes);
        fn_(p, r0, r1, scratch.data());
      };
      if (threaded) ctx.pool->parallel_for(p.out_h, rows);
      else rows(0, p.out_h);
    }
  }

 private:
  int64_t batch_;
  kernels::AvgPoolNhwcQ8 p_;
  kernels::AvgPoolNhwcQ8Fn fn_;
  const char* name_;
};

std::unique_ptr<OpKernel> create_qavgpool_nhwc(const NodeContext& ctx) {
  QuantParam xq, yq;
  const PoolGeom p = check_qavgpool_nhwc(ctx, &xq, &yq);
  return std::make_unique<QAvgPoolNhwcKernel>(ctx, p, xq, yq);
}

// --- QLinearConcat ---------------------------------------------------------------------------

int64_t check_qconcat(const NodeContext& ctx, Shape* out) {
  const size_t n = ctx.num_inputs();
  if (n < 5 || (n - 2) % 3 != 0) ctx.fail("expected Y_scale, Y_zero_point and (X, X_scale, X_zero_point) triples");
  check_quant_param(ctx, 0, 1, -1, "Y");
  const DType t = ctx.input_dtype(1);
  if (!is_q8(t)) ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for Y_zero_point");
  const Shape& first = ctx.input_shape(2);
  const int64_t axis = normalize_axis(ctx, ctx.node().attr_i("axis", 0), static_cast<int64_t>(first.size()));
  *out = first;
  (*out)[axis] = 0;
  for (size_t i = 2; i < n; i += 3) {
    if (ctx.input_dtype(i) != t) ctx.fail("every input must have the dtype of Y_zero_point");
    check_quant_param(ctx, i + 1, i + 2, -1, "X");
    if (ctx.has_input(i + 2) && ctx.input_dtype(i + 2) != t) ctx.fail("zero points must have the dtype of Y");
    const Shape& s = ctx.input_shape(i);
    if (s.size() != first.size()) ctx.fail("inputs differ in rank");
    for (size_t d = 0; d < s.size(); ++d)
      if (static_cast<int64_t>(d) != axis && s[d] != first[d]) ctx.fail("inputs differ outside the concat axis");
    (*out)[axis] += s[axis];
  }
  return axis;
}

void infer_qconcat(NodeContext& ctx) {
  Shape out;
  check_qconcat(ctx, &out);
  ctx.set_output(0, ctx.input_dtype(1), out);
}

class QConcatKernel : public OpKernel {
 public:
  explicit QConcatKernel(int64_t axis) : axis_(axis) {}
  void run(KernelContext& ctx) const override {
    Tensor& y = ctx.output(0);
    const QuantParam yq = read_quant_param(ctx, 0, 1);
    const bool s8 = y.dtype() == DType::s8;
    int32_t lo, hi;
    q8_range(y.dtype(), &lo, &hi);
    const Shape& ys = y.shape();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= ys[d];
    for (size_t d = axis_ + 1; d < ys.size(); ++d) inner *= ys[d];
    const int64_t out_row = ys[axis_] * inner;
    uint8_t* yb = static_cast<uint8_t*>(y.data());
    int64_t offset = 0;
    for (size_t i = 2; i < ctx.inputs.size(); i += 3) {
      const Tensor& x = ctx.input(i);
      const QuantParam xq = read_quant_param(ctx, i + 1, i + 2);
      uint8_t table[256];
      const float ratio = xq.scale[0] / yq.scale[0];
      for (int v = 0; v < 256; ++v) {
        const int32_t value = s8 ? static_cast<int8_t>(static_cast<uint8_t>(v)) : v;
        table[v] = static_cast<uint8_t>(quantize_value(static_cast<float>(value - xq.zero[0]) * ratio, yq.zero[0], lo, hi));
      }
      const int64_t row = x.shape()[axis_] * inner;
      const uint8_t* xb = static_cast<const uint8_t*>(x.data());
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < row; ++k) yb[o * out_row + offset + k] = table[xb[o * row + k]];
      offset += row;
    }
  }

 private:
  int64_t axis_;
};

std::unique_ptr<OpKernel> create_qconcat(const NodeContext& ctx) {
  Shape out;
  return std::make_unique<QConcatKernel>(check_qconcat(ctx, &out));
}

}  // namespace

void register_quant_contrib_ops(OpRegistry& r) {
  r.add(OpDef{"com.microsoft", "QGemm", infer_qgemm, create_qgemm});
  r.add(OpDef{"com.microsoft", "QLinearAveragePool", infer_qavgpool, create_qavgpool});
  r.add(OpDef{"com.microsoft", "QLinearGlobalAveragePool", infer_qglobalavgpool, create_qglobalavgpool});
  r.add(OpDef{"com.microsoft", "QLinearConcat", infer_qconcat, create_qconcat});
  r.add(OpDef{kOctetDomain, kOpQLinearAveragePoolNhwc, infer_qavgpool_nhwc, create_qavgpool_nhwc});
  register_quant_maxpool_ops(r);
  register_qlinear_conv_nhwc_op(r);
}

}  // namespace octet::detail
