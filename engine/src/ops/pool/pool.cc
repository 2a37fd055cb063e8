// Windowed pooling: MaxPool (with optional Indices), AveragePool (count_include_pad), LpPool,
// and MaxUnpool; 1-D, 2-D and 3-D through the shared 3-D window geometry.
//
// Per output position and spatial dim, the kernel taps that land inside the input are
// precomputed once (tap range [lo, hi) and the tap count inside the padded input), so the
// inner loops carry no bounds checks. One task per (image, channel) plane.
//
// 2-D (and 1-D) max and average pooling without Indices take a row-wise path whose inner
// loop runs over output columns with a constant stride, so the compiler vectorises it: the
// same taps in the same order (kh, then kw) as the general path, so the same results.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/window_geometry.h"
#include "ops/op_util.h"

namespace octet::detail {

void register_pool_nhwc_ops(OpRegistry& r);    // pool_nhwc.cc
void register_global_pool_ops(OpRegistry& r);  // pool_global.cc

namespace {

enum class PoolKind { max, average, lp };

struct PoolParams {
  PoolKind kind = PoolKind::max;
  WindowGeometry g;
  bool count_include_pad = false;
  bool column_major_indices = false;  // MaxPool storage_order = 1
  int64_t p = 2;                      // LpPool norm
};

PoolKind kind_of(const std::string& op) {
  if (op == "MaxPool") return PoolKind::max;
  if (op == "AveragePool") return PoolKind::average;
  return PoolKind::lp;
}

PoolParams pool_params(const NodeContext& ctx) {
  PoolParams p;
  p.kind = kind_of(ctx.node().op_type);
  const DType dt = ctx.input_dtype(0);
  const bool ok = dt == DType::f32 || dt == DType::f64 ||
                  (p.kind == PoolKind::max && (dt == DType::s8 || dt == DType::u8));
  ctx.check(ok, std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  const std::vector<int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  const bool ceil_mode = ctx.node().attr_i("ceil_mode", 0) != 0;
  p.g = window_geometry(ctx, ctx.input_shape(0), kernel, ceil_mode);
  p.count_include_pad = ctx.node().attr_i("count_include_pad", 0) != 0;
  const int64_t order = ctx.node().attr_i("storage_order", 0);
  ctx.check(order == 0 || order == 1, "storage_order must be 0 or 1");
  p.column_major_indices = order == 1;
  p.p = ctx.node().attr_i("p", 2);
  if (p.kind == PoolKind::lp) ctx.check(p.p >= 1, "p must be >= 1");
  return p;
}

void infer_pool(NodeContext& ctx) {
  PoolParams p = pool_params(ctx);
  const Shape& x = ctx.input_shape(0);
  Shape y{x[0], x[1]};
  for (int64_t d : p.g.out_dims()) y.push_back(d);
  shape_numel(y);
  ctx.set_output(0, ctx.input_dtype(0), y);
  if (ctx.num_outputs() > 1 && ctx.has_output(1)) {
    ctx.check(p.kind == PoolKind::max, "only MaxPool has a second output");
    ctx.set_output(1, DType::s64, y);
  }
}

// For one spatial dim and each output index: the taps k in [lo, hi) that read the input, and
// how many taps lie inside the padded input (the AveragePool count_include_pad divisor).
struct DimTaps {
  std::vector<int64_t> start, lo, hi, padded_count;
};

DimTaps dim_taps(const WindowGeometry& g, int a) {
  DimTaps t;
  const int64_t n = g.out[a], k = g.kernel[a], s = g.stride[a], d = g.dilation[a];
  const int64_t in = g.in[a], pb = g.pad_begin[a], pe = g.pad_end[a];
  // Taps k with lower <= start + k*d < upper.
  auto first_at_or_above = [&](int64_t start, int64_t lower) {
    return start >= lower ? int64_t(0) : std::min(k, (lower - start + d - 1) / d);
  };
  auto end_below = [&](int64_t start, int64_t upper) {
    return start >= upper ? int64_t(0) : std::min(k, (upper - 1 - start) / d + 1);
  };
  for (int64_t o = 0; o < n; ++o) {
    const int64_t start = o * s - pb;
    const int64_t lo = first_at_or_above(start, 0), hi = std::max(lo, end_below(start, in));
    const int64_t plo = first_at_or_above(start, -pb);
    const int64_t phi = std::max(plo, end_below(start, in + pe));
    t.start.push_back(start);
    t.lo.push_back(lo);
    t.hi.push_back(hi);
    t.padded_count.push_back(phi - plo);
  }
  return t;
}

class PoolKernel : public OpKernel {
 public:
  PoolKernel(DType dtype, PoolParams p, bool has_indices) : dtype_(dtype), p_(std::move(p)) {
    for (int a = 0; a < 3; ++a) taps_[a] = dim_taps(p_.g, a);
    rows_ = !has_indices && p_.kind != PoolKind::lp && p_.g.in[0] == 1 && p_.g.kernel[0] == 1 &&
            p_.g.out[0] == 1 && (dtype_ == DType::f32 || dtype_ == DType::f64);
    if (rows_) {
      // Output columns [col_lo_[kw], col_hi_[kw]) read tap kw inside the input row.
      for (int64_t kw = 0; kw < p_.g.kernel[2]; ++kw) {
        int64_t lo = p_.g.out[2], hi = 0;
        for (int64_t ow = 0; ow < p_.g.out[2]; ++ow)
          if (kw >= taps_[2].lo[ow] && kw < taps_[2].hi[ow]) {
            lo = std::min(lo, ow);
            hi = ow + 1;
          }
        col_lo_.push_back(lo);
        col_hi_.push_back(std::max(lo, hi));
      }
    }
  }

  std::string name() const override { return rows_ ? "pool_rows" : "ref"; }

  void run(KernelContext& ctx) const override {
    switch (dtype_) {
      case DType::f32:
        run_typed<float>(ctx);
        break;
      case DType::f64:
        run_typed<double>(ctx);
        break;
      case DType::s8:
        run_typed<int8_t>(ctx);
        break;
      case DType::u8:
        run_typed<uint8_t>(ctx);
        break;
      default:
        throw Error(std::string("pool: unsupported dtype ") + dtype_name(dtype_));
    }
  }

 private:
  template <class T>
  void run_typed(KernelContext& ctx) const {
    const Tensor& xt = ctx.input(0);
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    int64_t* indices = ctx.has_output(1) ? ctx.output(1).data_as<int64_t>() : nullptr;
    const int64_t planes = xt.shape()[0] * xt.shape()[1];
    const int64_t IS = p_.g.in_size(), OS = p_.g.out_size();
    auto body = [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* xp = x + plane * IS;
        T* yp = y + plane * OS;
        int64_t* ip = indices ? indices + plane * OS : nullptr;
        if constexpr (std::is_floating_point_v<T>) {
          if (rows_) {
            rows_plane(xp, yp);
            continue;
          }
        }
        if (p_.kind == PoolKind::max)
          max_plane(xp, yp, ip, plane * IS);
        else if constexpr (std::is_floating_point_v<T>)
          mean_or_lp_plane(xp, yp);
      }
    };
    if (ctx.pool && ctx.pool->size() > 1 && planes > 1)
      ctx.pool->parallel_for(planes, body);
    else
      body(0, planes);
  }

  // Calls fn(output offset, od, oh, ow) for every output position of one plane.
  template <class Fn>
  void for_each_output(Fn&& fn) const {
    const auto& out = p_.g.out;
    int64_t o = 0;
    for (int64_t od = 0; od < out[0]; ++od)
      for (int64_t oh = 0; oh < out[1]; ++oh)
        for (int64_t ow = 0; ow < out[2]; ++ow) fn(o++, od, oh, ow);
  }

  template <class T>
  void max_plane(const T* xp, T* yp, int64_t* ip, int64_t plane_offset) const {
    const auto& g = p_.g;
    const auto &D = taps_[0], &H = taps_[1], &W = taps_[2];
    for_each_output([&](int64_t o, int64_t od, int64_t oh, int64_t ow) {
      T best = std::numeric_limits<T>::lowest();
      int64_t best_d = -1, best_h = 0, best_w = 0;
      for (int64_t kd = D.lo[od]; kd < D.hi[od]; ++kd) {
        const int64_t id = D.start[od] + kd * g.dilation[0];
        for (int64_t kh = H.lo[oh]; kh < H.hi[oh]; ++kh) {
          const int64_t ih = H.start[oh] + kh * g.dilation[1];
          const T* row = xp + (id * g.in[1] + ih) * g.in[2];
          for (int64_t kw = W.lo[ow]; kw < W.hi[ow]; ++kw) {
            const int64_t iw = W.start[ow] + kw * g.dilation[2];
            if (best_d < 0 || row[iw] > best) {
              best = row[iw];
              best_d = id;
              best_h = ih;
              best_w = iw;
            }
          }
        }
      }
      yp[o] = best;
      if (ip) {
        if (best_d < 0) {
          ip[o] = -1;  // the window lies entirely in the padding
        } else {
          const int64_t within = p_.column_major_indices
                                     ? best_d + g.in[0] * (best_h + g.in[1] * best_w)
                                     : (best_d * g.in[1] + best_h) * g.in[2] + best_w;
          ip[o] = plane_offset + within;
        }
      }
    });
  }

  // Max or average of one 2-D plane, output row by output row: the row accumulates tap by
  // tap (kh, then kw), each tap a strided pass over the columns it covers. Taps of a
  // column are exactly those of taps_[2] (lo <= kw < hi), in the same order.
  template <class T>
  void rows_plane(const T* xp, T* yp) const {
    const auto& g = p_.g;
    const auto &H = taps_[1], &W = taps_[2];
    const int64_t OW = g.out[2], IW = g.in[2], SW = g.stride[2], DW = g.dilation[2];
    const bool is_max = p_.kind == PoolKind::max;
    for (int64_t oh = 0; oh < g.out[1]; ++oh) {
      T* __restrict yr = yp + oh * OW;
      // Max starts below every value (-inf, so an all -inf window stays -inf); a window
      // wholly in the padding is set to lowest() below, as in max_plane.
      const T init = is_max ? -std::numeric_limits<T>::infinity() : T(0);
      for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = init;
      for (int64_t kh = H.lo[oh]; kh < H.hi[oh]; ++kh) {
        const T* __restrict row = xp + (H.start[oh] + kh * g.dilation[1]) * IW;
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          const int64_t lo = col_lo_[kw], hi = col_hi_[kw];
          const T* __restrict src = row + kw * DW - g.pad_begin[2];  // + ow * SW: in the row
          if (is_max) {
            for (int64_t ow = lo; ow < hi; ++ow) {
              const T v = src[ow * SW];
              yr[ow] = v > yr[ow] ? v : yr[ow];
            }
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += src[ow * SW];
          }
        }
      }
      const int64_t rows_in = H.hi[oh] - H.lo[oh];
      if (is_max) {
        for (int64_t ow = 0; ow < OW; ++ow)
          if (rows_in == 0 || W.hi[ow] == W.lo[ow]) yr[ow] = std::numeric_limits<T>::lowest();
        continue;
      }
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t count = p_.count_include_pad
                                  ? H.padded_count[oh] * W.padded_count[ow]
                                  : rows_in * (W.hi[ow] - W.lo[ow]);
        yr[ow] = count > 0 ? yr[ow] / static_cast<T>(count) : T(0);
      }
    }
  }

  template <class T>
  void mean_or_lp_plane(const T* xp, T* yp) const {
    const auto& g = p_.g;
    const auto &D = taps_[0], &H = taps_[1], &W = taps_[2];
    const bool lp = p_.kind == PoolKind::lp;
    const int64_t p = p_.p;
    for_each_output([&](int64_t o, int64_t od, int64_t oh, int64_t ow) {
      T sum = 0;
      for (int64_t kd = D.lo[od]; kd < D.hi[od]; ++kd) {
        const int64_t id = D.start[od] + kd * g.dilation[0];
        for (int64_t kh = H.lo[oh]; kh < H.hi[oh]; ++kh) {
          const int64_t ih = H.start[oh] + kh * g.dilation[1];
          const T* row = xp + (id * g.in[1] + ih) * g.in[2];
          for (int64_t kw = W.lo[ow]; kw < W.hi[ow]; ++kw) {
            const T v = row[W.start[ow] + kw * g.dilation[2]];
            if (!lp)
              sum += v;
            else if (p == 1)
              sum += std::abs(v);
            else if (p == 2)
              sum += v * v;
            else
              sum += static_cast<T>(std::pow(std::abs(v), static_cast<T>(p)));
          }
        }
      }
      if (lp) {
        yp[o] = p == 1 ? sum : p == 2 ? std::sqrt(sum) : std::pow(sum, T(1) / static_cast<T>(p));
        return;
      }
      const int64_t count =
          p_.count_include_pad
              ? D.padded_count[od] * H.padded_count[oh] * W.padded_count[ow]
              : (D.hi[od] - D.lo[od]) * (H.hi[oh] - H.lo[oh]) * (W.hi[ow] - W.lo[ow]);
      yp[o] = count > 0 ? sum / static_cast<T>(count) : T(0);
    });
  }

  DType dtype_;
  PoolParams p_;
  DimTaps taps_[3];
  bool rows_ = false;                   // the row-wise path applies
  std::vector<int64_t> col_lo_, col_hi_;  // per kw: output columns reading it
};

std::unique_ptr<OpKernel> create_pool(const NodeContext& ctx) {
  const bool indices = ctx.num_outputs() > 1 && ctx.has_output(1);
  return std::make_unique<PoolKernel>(ctx.input_dtype(0), pool_params(ctx), indices);
}

// ---- MaxUnpool ---------------------------------------------------------------------------

struct UnpoolShapes {
  Shape natural;  // the shape the indices refer to: (in - 1) * stride - pads + kernel
  Shape out;      // output_shape when given, else natural
};

UnpoolShapes max_unpool_shapes(const NodeContext& ctx) {
  const DType dt = ctx.input_dtype(0);
  ctx.check(dt == DType::f32 || dt == DType::f64,
            std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  ctx.check(ctx.input_dtype(1) == DType::s64, std::string("unsupported dtype ") +
                                                  dtype_name(ctx.input_dtype(1)) +
                                                  " for input 1 (I must be int64)");
  const Shape& x = ctx.input_shape(0);
  ctx.check(ctx.input_shape(1) == x, "I must have the shape of X " + shape_str(x));
  ctx.check(x.size() >= 3 && x.size() - 2 <= kMaxSpatialRank,
            "X must have rank 3 to 5, got " + shape_str(x));
  const size_t rank = x.size() - 2;
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  const std::vector<int64_t> kernel = spatial_attr(ctx, "kernel_shape", rank, 1, 1);
  const std::vector<int64_t> strides = spatial_attr(ctx, "strides", rank, 1, 1);
  const std::vector<int64_t> pads = spatial_attr(ctx, "pads", 2 * rank, 0, 0);
  UnpoolShapes s;
  s.natural = {x[0], x[1]};
  for (size_t i = 0; i < rank; ++i) {
    const int64_t d = (x[2 + i] - 1) * strides[i] - pads[i] - pads[rank + i] + kernel[i];
    ctx.check(d >= 1, "pads leave an empty output");
    s.natural.push_back(d);
  }
  shape_numel(s.natural);
  s.out = s.natural;
  if (ctx.has_input(2)) {
    const Tensor* os = ctx.input_const(2);
    if (!os) ctx.fail("output_shape must be a constant (data-dependent shapes are not supported)");
    s.out = tensor_to_int64s(*os);
    ctx.check(s.out.size() == x.size() && s.out[0] == x[0] && s.out[1] == x[1],
              "output_shape " + shape_str(s.out) + " does not fit X " + shape_str(x));
    shape_numel(s.out);
  }
  return s;
}

void infer_max_unpool(NodeContext& ctx) {
  ctx.set_output(0, ctx.input_dtype(0), max_unpool_shapes(ctx).out);
}

// Y is zero but for X[i] placed at I[i]. Indices count in the natural output shape; when
// output_shape differs, each lands at the same coordinates in the given shape (as in the
// ONNX reference and PyTorch), which must contain it.
class MaxUnpoolKernel : public OpKernel {
 public:
  MaxUnpoolKernel(DType dtype, UnpoolShapes s) : dtype_(dtype), s_(std::move(s)) {}
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
    const T* x = xt.data_as<T>();
    const int64_t* idx = ctx.input(1).data_as<int64_t>();
    Tensor& yt = ctx.output(0);
    T* y = yt.data_as<T>();
    std::fill(y, y + yt.numel(), T(0));
    const int64_t natural_numel = shape_numel(s_.natural);
    const bool same = s_.natural == s_.out;
    const std::vector<int64_t> out_strides = strides_of(s_.out);
    for (int64_t i = 0; i < xt.numel(); ++i) {
      const int64_t k = idx[i];
      if (k < 0 || k >= natural_numel)
        throw Error("MaxUnpool: index " + std::to_string(k) + " is outside " +
                    shape_str(s_.natural));
      int64_t dst = k;
      if (!same) {
        dst = 0;
        int64_t rem = k;
        for (size_t d = s_.natural.size(); d-- > 0;) {
          const int64_t c = rem % s_.natural[d];
          rem /= s_.natural[d];
          if (c >= s_.out[d])
            throw Error("MaxUnpool: index " + std::to_string(k) + " falls outside output_shape " +
                        shape_str(s_.out));
          dst += c * out_strides[d];
        }
      }
      y[dst] = x[i];
    }
  }
  DType dtype_;
  UnpoolShapes s_;
};

std::unique_ptr<OpKernel> create_max_unpool(const NodeContext& ctx) {
  return std::make_unique<MaxUnpoolKernel>(ctx.input_dtype(0), max_unpool_shapes(ctx));
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  r.add(OpDef{"", "MaxPool", infer_pool, create_pool});
  r.add(OpDef{"", "AveragePool", infer_pool, create_pool});
  r.add(OpDef{"", "LpPool", infer_pool, create_pool});
  r.add(OpDef{"", "MaxUnpool", infer_max_unpool, create_max_unpool});
  register_global_pool_ops(r);
  register_pool_nhwc_ops(r);
}

}  // namespace octet::detail
