// Data-movement ops that rearrange whole blocks: Transpose, Concat, Split, Slice, Expand,
// Tile, Pad, DepthToSpace, SpaceToDepth, Trilu, ReverseSequence. Each one is a set of strided
// views handed to copy_strided, so they work on every fixed-size dtype.
#include <algorithm>
#include <cstring>

#include "ops/shape/shape_util.h"

namespace octet::detail {
namespace {

char* byte_ptr(Tensor& t) { return static_cast<char*>(t.data()); }
const char* byte_ptr(const Tensor& t) { return static_cast<const char*>(t.data()); }

// dst (dense, shape = in_view[perm[i]]) = the permutation of a dense in_view.
void permute_copy(size_t e, const Shape& in_view, const std::vector<int64_t>& perm, const void* src,
                  void* dst, kernels::ThreadPool* pool) {
  std::vector<int64_t> in_strides = strides_of(in_view);
  Shape out_view(perm.size());
  std::vector<int64_t> src_strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    out_view[i] = in_view[perm[i]];
    src_strides[i] = in_strides[perm[i]];
  }
  copy_strided(e, out_view, src, src_strides, dst, strides_of(out_view), pool);
}

// --- Transpose ------------------------------------------------------------------------------

std::vector<int64_t> transpose_perm(const NodeContext& ctx) {
  size_t r = ctx.input_shape(0).size();
  std::vector<int64_t> perm = ctx.node().attr_ints("perm");
  if (!ctx.node().has_attr("perm")) {
    perm.resize(r);
    for (size_t i = 0; i < r; ++i) perm[i] = static_cast<int64_t>(r - 1 - i);
  }
  if (perm.size() != r) ctx.fail("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  std::vector<bool> seen(r, false);
  for (int64_t& p : perm) {
    p = normalize_axis(ctx, p, static_cast<int64_t>(r));
    if (seen[p]) ctx.fail("perm is not a permutation");
    seen[p] = true;
  }
  return perm;
}

void infer_transpose(NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  std::vector<int64_t> perm = transpose_perm(ctx);
  Shape out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = in[perm[i]];
  ctx.set_output(0, ctx.input_dtype(0), out);
}

class TransposeKernel : public OpKernel {
 public:
  explicit TransposeKernel(std::vector<int64_t> perm) : perm_(std::move(perm)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    permute_copy(dtype_size(x.dtype()), x.shape(), perm_, x.data(), ctx.output(0).data(), ctx.pool);
  }

 private:
  std::vector<int64_t> perm_;
};

std::unique_ptr<OpKernel> create_transpose(const NodeContext& ctx) {
  return std::make_unique<TransposeKernel>(transpose_perm(ctx));
}

// --- Concat ---------------------------------------------------------------------------------

int64_t concat_axis(const NodeContext& ctx) {
  if (!ctx.node().has_attr("axis")) ctx.fail("the axis attribute is required");
  return normalize_axis(ctx, ctx.node().attr_i("axis", 0), static_cast<int64_t>(ctx.input_shape(0).size()));
}

void infer_concat(NodeContext& ctx) {
  if (ctx.num_inputs() == 0) ctx.fail("Concat needs at least one input");
  check_fixed_size_dtype(ctx, 0);
  const Shape& first = ctx.input_shape(0);
  if (first.empty()) ctx.fail("cannot concatenate scalars");
  int64_t axis = concat_axis(ctx);
  Shape out = first;
  out[axis] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Shape& s = ctx.input_shape(i);
    if (ctx.input_dtype(i) != ctx.input_dtype(0))
      ctx.fail("input " + std::to_string(i) + " has dtype " + dtype_name(ctx.input_dtype(i)) +
               ", input 0 has " + dtype_name(ctx.input_dtype(0)));
    if (s.size() != first.size()) ctx.fail("input " + std::to_string(i) + " has a different rank");
    for (size_t d = 0; d < s.size(); ++d)
      if (int64_t(d) != axis && s[d] != first[d])
        ctx.fail("input " + std::to_string(i) + " differs from input 0 in dimension " + std::to_string(d));
    if (__builtin_add_overflow(out[axis], s[axis], &out[axis]))
      ctx.fail("the concatenated length overflows int64");
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
}

class ConcatKernel : public OpKernel {
 public:
  explicit ConcatKernel(int64_t axis) : axis_(axis) {}
  void run(KernelContext& ctx) const override {
    Tensor& y = ctx.output(0);
    size_t e = dtype_size(y.dtype());
    std::vector<int64_t> y_strides = strides_of(y.shape());
    int64_t offset = 0;
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      const Tensor& x = ctx.input(i);
      if (x.numel() > 0)
        copy_strided(e, x.shape(), x.data(), strides_of(x.shape()),
                     byte_ptr(y) + offset * y_strides[axis_] * int64_t(e), y_strides, ctx.pool);
      offset += x.shape()[axis_];
    }
  }

 private:
  int64_t axis_;
};

std::unique_ptr<OpKernel> create_concat(const NodeContext& ctx) {
  return std::make_unique<ConcatKernel>(concat_axis(ctx));
}

// --- Split ----------------------------------------------------------------------------------

struct SplitPlan {
  int64_t axis = 0;
  std::vector<int64_t> sizes;
};

SplitPlan split_plan(const NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  SplitPlan p;
  p.axis = normalize_axis(ctx, ctx.node().attr_i("axis", 0), static_cast<int64_t>(in.size()));
  int64_t dim = in[p.axis];
  int64_t outputs = static_cast<int64_t>(ctx.num_outputs());
  // An empty split input (written by some exporters) means "not given".
  const Tensor* split = ctx.input_const(1);
  if (ctx.has_input(1) && !(split && split->numel() == 0)) {
    p.sizes = const_input_ints(ctx, 1, "Split's split");
    if (static_cast<int64_t>(p.sizes.size()) != outputs)
      ctx.fail("split has " + std::to_string(p.sizes.size()) + " entries for " + std::to_string(outputs) + " outputs");
    int64_t sum = 0;
    for (int64_t s : p.sizes) {
      if (s < 0) ctx.fail("negative split size " + std::to_string(s));
      sum += s;
    }
    if (sum != dim)
      ctx.fail("split sizes add up to " + std::to_string(sum) + ", the axis has " + std::to_string(dim));
    return p;
  }
  if (outputs == 0) ctx.fail("Split has no outputs");
  if (ctx.node().has_attr("num_outputs")) {
    // Opset 18: ceil(dim / n) per chunk, the last one smaller.
    int64_t n = ctx.node().attr_i("num_outputs", 0);
    if (n != outputs) ctx.fail("num_outputs = " + std::to_string(n) + " but the node has " + std::to_string(outputs) + " outputs");
    int64_t chunk = (dim + n - 1) / n;
    int64_t left = dim;
    for (int64_t i = 0; i < n; ++i) {
      p.sizes.push_back(std::min(chunk, left));
      left -= p.sizes.back();
    }
    if (left != 0 || (n > 1 && p.sizes.back() == 0 && dim > 0))
      ctx.fail("cannot split " + std::to_string(dim) + " into " + std::to_string(n) + " parts");
    return p;
  }
  if (dim % outputs != 0)
    ctx.fail("cannot split a dimension of " + std::to_string(dim) + " into " + std::to_string(outputs) + " equal parts");
  p.sizes.assign(static_cast<size_t>(outputs), dim / outputs);
  return p;
}

void infer_split(NodeContext& ctx) {
  SplitPlan p = split_plan(ctx);
  Shape s = ctx.input_shape(0);
  for (size_t i = 0; i < p.sizes.size(); ++i) {
    s[p.axis] = p.sizes[i];
    ctx.set_output(i, ctx.input_dtype(0), s);
  }
}

class SplitKernel : public OpKernel {
 public:
  explicit SplitKernel(SplitPlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    size_t e = dtype_size(x.dtype());
    std::vector<int64_t> x_strides = strides_of(x.shape());
    int64_t offset = 0;
    for (size_t i = 0; i < p_.sizes.size(); ++i) {
      if (ctx.has_output(i) && ctx.output(i).numel() > 0) {
        Tensor& y = ctx.output(i);
        copy_strided(e, y.shape(), byte_ptr(x) + offset * x_strides[p_.axis] * int64_t(e), x_strides, y.data(),
                     strides_of(y.shape()), ctx.pool);
      }
      offset += p_.sizes[i];
    }
  }

 private:
  SplitPlan p_;
};

std::unique_ptr<OpKernel> create_split(const NodeContext& ctx) { return std::make_unique<SplitKernel>(split_plan(ctx)); }

// --- Slice ----------------------------------------------------------------------------------

struct SlicePlan {
  Shape out;
  std::vector<int64_t> start, step;  // per dimension of the input
};

SlicePlan slice_plan(const NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  const int64_t r = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts = const_input_ints(ctx, 1, "Slice's starts");
  std::vector<int64_t> ends = const_input_ints(ctx, 2, "Slice's ends");
  std::vector<int64_t> axes, steps;
  if (ctx.has_input(3)) {
    axes = const_input_ints(ctx, 3, "Slice's axes");
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (ctx.has_input(4)) steps = const_input_ints(ctx, 4, "Slice's steps");
  else steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    ctx.fail("starts, ends, axes and steps must have the same length");

  SlicePlan p;
  p.out = in;
  p.start.assign(in.size(), 0);
  p.step.assign(in.size(), 1);
  std::vector<bool> seen(in.size(), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = normalize_axis(ctx, axes[i], r);
    if (seen[axis]) ctx.fail("axis " + std::to_string(axes[i]) + " is listed twice");
    seen[axis] = true;
    int64_t d = in[axis], s = starts[i], e = ends[i], st = steps[i];
    if (st == 0) ctx.fail("step 0 on axis " + std::to_string(axes[i]));
    if (st < -INT64_MAX) st = -INT64_MAX;  // keeps -st representable; no dim is that large
    if (s < 0) s += d;
    if (e < 0) e += d;
    int64_t len = 0;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      len = e > s ? 1 + (e - s - 1) / st : 0;  // ceil((e-s)/st) without st-1 overflowing
    } else if (d > 0) {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      len = s > e ? 1 + (s - e - 1) / (-st) : 0;
    }
    p.out[axis] = len;
    p.start[axis] = len > 0 ? s : 0;
    p.step[axis] = st;
  }
  return p;
}

void infer_slice(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), slice_plan(ctx).out); }

class SliceKernel : public OpKernel {
 public:
  explicit SliceKernel(SlicePlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    size_t e = dtype_size(x.dtype());
    std::vector<int64_t> x_strides = strides_of(x.shape());
    std::vector<int64_t> src_strides(x_strides.size());
    int64_t offset = 0;
    for (size_t d = 0; d < x_strides.size(); ++d) {
      offset += p_.start[d] * x_strides[d];
      src_strides[d] = x_strides[d] * p_.step[d];
    }
    copy_strided(e, y.shape(), byte_ptr(x) + offset * int64_t(e), src_strides, y.data(), strides_of(y.shape()),
                 ctx.pool);
  }

 private:
  SlicePlan p_;
};

std::unique_ptr<OpKernel> create_slice(const NodeContext& ctx) { return std::make_unique<SliceKernel>(slice_plan(ctx)); }

// --- Expand / Tile --------------------------------------------------------------------------

void infer_expand(NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  std::vector<int64_t> shape = const_input_ints(ctx, 1, "Expand's shape");
  for (int64_t d : shape)
    if (d < 0) ctx.fail("negative dimension " + std::to_string(d) + " in the shape");
  Shape out;
  if (!broadcast_shapes(ctx.input_shape(0), shape, &out))
    ctx.fail("cannot broadcast " + shape_str(ctx.input_shape(0)) + " to " + shape_str(shape));
  ctx.set_output(0, ctx.input_dtype(0), out);
}

class ExpandKernel : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    copy_strided(dtype_size(x.dtype()), y.shape(), x.data(), broadcast_strides(x.shape(), y.shape()), y.data(),
                 strides_of(y.shape()), ctx.pool);
  }
};

std::unique_ptr<OpKernel> create_expand(const NodeContext&) { return std::make_unique<ExpandKernel>(); }

std::vector<int64_t> tile_repeats(const NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  std::vector<int64_t> reps = const_input_ints(ctx, 1, "Tile's repeats");
  if (reps.size() != ctx.input_shape(0).size())
    ctx.fail("repeats has " + std::to_string(reps.size()) + " entries for rank " +
             std::to_string(ctx.input_shape(0).size()));
  for (int64_t r : reps)
    if (r < 0) ctx.fail("negative repeat " + std::to_string(r));
  return reps;
}

void infer_tile(NodeContext& ctx) {
  std::vector<int64_t> reps = tile_repeats(ctx);
  Shape out = ctx.input_shape(0);
  for (size_t i = 0; i < out.size(); ++i) out[i] = shape_numel({out[i], reps[i]});
  ctx.set_output(0, ctx.input_dtype(0), out);
}

class TileKernel : public OpKernel {
 public:
  explicit TileKernel(std::vector<int64_t> reps) : reps_(std::move(reps)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    // View the output as [r0, d0, r1, d1, ...]: out index along i is rep * d_i + j.
    std::vector<int64_t> xs = strides_of(x.shape()), ys = strides_of(y.shape());
    Shape view;
    std::vector<int64_t> src_strides, dst_strides;
    for (size_t i = 0; i < reps_.size(); ++i) {
      view.push_back(reps_[i]);
      view.push_back(x.shape()[i]);
      src_strides.push_back(0);
      src_strides.push_back(xs[i]);
      dst_strides.push_back(x.shape()[i] * ys[i]);
      dst_strides.push_back(ys[i]);
    }
    copy_strided(dtype_size(x.dtype()), view, x.data(), src_strides, y.data(), dst_strides, ctx.pool);
  }

 private:
  std::vector<int64_t> reps_;
};

std::unique_ptr<OpKernel> create_tile(const NodeContext& ctx) { return std::make_unique<TileKernel>(tile_repeats(ctx)); }

// --- Pad ------------------------------------------------------------------------------------

enum class PadMode { constant, reflect, edge, wrap };

struct PadPlan {
  PadMode mode = PadMode::constant;
  std::vector<int64_t> begin, end;  // per dimension; negative = crop
  Shape out;
};

PadPlan pad_plan(const NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  const int64_t r = static_cast<int64_t>(in.size());
  PadPlan p;
  std::string mode = ctx.node().attr_s("mode", "constant");
  if (mode == "constant") p.mode = PadMode::constant;
  else if (mode == "reflect") p.mode = PadMode::reflect;
  else if (mode == "edge") p.mode = PadMode::edge;
  else if (mode == "wrap") p.mode = PadMode::wrap;
  else ctx.fail("unsupported mode '" + mode + "'");

  std::vector<int64_t> pads = const_input_ints(ctx, 1, "Pad's pads");
  std::vector<int64_t> axes;
  if (ctx.has_input(3)) {
    axes = const_input_ints(ctx, 3, "Pad's axes");
  } else {
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size())
    ctx.fail("pads has " + std::to_string(pads.size()) + " entries for " + std::to_string(axes.size()) + " axes");
  if (ctx.has_input(2)) {
    if (ctx.input_dtype(2) != ctx.input_dtype(0)) ctx.fail("constant_value must have the dtype of the data");
    if (shape_numel(ctx.input_shape(2)) != 1) ctx.fail("constant_value must hold one element");
  }
  p.begin.assign(in.size(), 0);
  p.end.assign(in.size(), 0);
  std::vector<bool> seen(in.size(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = normalize_axis(ctx, axes[i], r);
    if (seen[a]) ctx.fail("axis " + std::to_string(axes[i]) + " is listed twice");
    seen[a] = true;
    p.begin[a] = pads[i];
    p.end[a] = pads[i + axes.size()];
  }
  p.out = in;
  for (size_t d = 0; d < in.size(); ++d) {
    // Bound the pads before any arithmetic on them: -INT64_MIN and INT64_MAX + INT64_MAX
    // overflow. After these checks every sum below stays within +-2^42.
    if (p.begin[d] > (int64_t(1) << 40) || p.end[d] > (int64_t(1) << 40)) ctx.fail("pads are absurdly large");
    if (p.begin[d] < -in[d] || p.end[d] < -in[d])
      ctx.fail("negative pads remove more than dimension " + std::to_string(d) + " holds");
    // Crop first (negative pads), then pad what is left.
    int64_t kept = in[d] + std::min<int64_t>(p.begin[d], 0) + std::min<int64_t>(p.end[d], 0);
    if (kept < 0) ctx.fail("negative pads remove more than dimension " + std::to_string(d) + " holds");
    int64_t added = std::max<int64_t>(p.begin[d], 0) + std::max<int64_t>(p.end[d], 0);
    if (p.mode != PadMode::constant && kept == 0 && added > 0)
      ctx.fail("cannot pad an empty dimension in mode '" + mode + "'");
    p.out[d] = kept + added;
  }
  return p;
}

void infer_pad(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), pad_plan(ctx).out); }

// The interior position whose value fills padded position i (i < 0 or i >= n).
int64_t pad_source(PadMode mode, int64_t i, int64_t n) {
  switch (mode) {
    case PadMode::edge: return std::clamp<int64_t>(i, 0, n - 1);
    case PadMode::wrap: return ((i % n) + n) % n;
    case PadMode::reflect: {
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      int64_t m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
    case PadMode::constant: break;
  }
  return 0;
}

class PadKernel : public OpKernel {
 public:
  explicit PadKernel(PadPlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    const size_t e = dtype_size(x.dtype());
    const size_t r = x.shape().size();
    std::vector<int64_t> xs = strides_of(x.shape()), ys = strides_of(y.shape());
    Shape inner(r);           // the kept (cropped) part of the input
    std::vector<int64_t> lead(r);  // where it lands in the output
    int64_t src_off = 0, dst_off = 0;
    for (size_t d = 0; d < r; ++d) {
      int64_t crop_begin = std::max<int64_t>(-p_.begin[d], 0);
      lead[d] = std::max<int64_t>(p_.begin[d], 0);
      inner[d] = x.shape()[d] - crop_begin - std::max<int64_t>(-p_.end[d], 0);
      src_off += crop_begin * xs[d];
      dst_off += lead[d] * ys[d];
    }
    char* out = byte_ptr(y);
    if (p_.mode == PadMode::constant) {
      std::vector<char> value(e, 0);
      if (ctx.has_input(2) && ctx.input(2).numel() == 1) std::memcpy(value.data(), ctx.input(2).data(), e);
      fill_elements(out, y.numel(), value.data(), e);
    }
    if (shape_numel(inner) > 0)
      copy_strided(e, inner, byte_ptr(x) + src_off * int64_t(e), xs, out + dst_off * int64_t(e), ys, ctx.pool);
    if (p_.mode == PadMode::constant) return;

    // Fill the borders dimension by dimension, innermost first: for dimension d, copy whole
    // hyperplanes (interior in dims < d, full extent in dims > d, already filled).
    for (int64_t d = static_cast<int64_t>(r) - 1; d >= 0; --d) {
      Shape plane(r);
      int64_t base = 0;
      for (size_t j = 0; j < r; ++j) {
        if (int64_t(j) < d) {
          plane[j] = inner[j];
          base += lead[j] * ys[j];
        } else {
          plane[j] = int64_t(j) == d ? 1 : y.shape()[j];
        }
      }
      if (shape_numel(plane) == 0) continue;
      for (int64_t pos = 0; pos < y.shape()[d]; ++pos) {
        int64_t rel = pos - lead[d];
        if (rel >= 0 && rel < inner[d]) continue;
        int64_t src_pos = lead[d] + pad_source(p_.mode, rel, inner[d]);
        copy_strided(e, plane, out + (base + src_pos * ys[d]) * int64_t(e), ys, out + (base + pos * ys[d]) * int64_t(e),
                     ys, nullptr);
      }
    }
  }

 private:
  PadPlan p_;
};

std::unique_ptr<OpKernel> create_pad(const NodeContext& ctx) { return std::make_unique<PadKernel>(pad_plan(ctx)); }

// --- DepthToSpace / SpaceToDepth --------------------------------------------------------------

struct BlockPlan {
  Shape in_view;
  std::vector<int64_t> perm;
  Shape out;
};

BlockPlan block_plan(const NodeContext& ctx, bool depth_to_space) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  if (in.size() != 4) ctx.fail("expected a 4-D input");
  int64_t b = ctx.node().attr_i("blocksize", 0);
  if (b <= 0 || b > (int64_t(1) << 20)) ctx.fail("blocksize must be positive");
  int64_t n = in[0], c = in[1], h = in[2], w = in[3];
  BlockPlan p;
  if (depth_to_space) {
    if (c % (b * b) != 0) ctx.fail("channels are not a multiple of blocksize^2");
    int64_t oc = c / (b * b);
    std::string mode = ctx.node().attr_s("mode", "DCR");
    if (mode == "DCR") {
      p.in_view = {n, b, b, oc, h, w};
      p.perm = {0, 3, 4, 1, 5, 2};
    } else if (mode == "CRD") {
      p.in_view = {n, oc, b, b, h, w};
      p.perm = {0, 1, 4, 2, 5, 3};
    } else {
      ctx.fail("unsupported mode '" + mode + "'");
    }
    p.out = {n, oc, h * b, w * b};
  } else {
    if (h % b != 0 || w % b != 0) ctx.fail("height and width must be multiples of blocksize");
    p.in_view = {n, c, h / b, b, w / b, b};
    p.perm = {0, 3, 5, 1, 2, 4};
    p.out = {n, c * b * b, h / b, w / b};
  }
  return p;
}

class BlockKernel : public OpKernel {
 public:
  explicit BlockKernel(BlockPlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    permute_copy(dtype_size(x.dtype()), p_.in_view, p_.perm, x.data(), ctx.output(0).data(), ctx.pool);
  }

 private:
  BlockPlan p_;
};

void infer_depth_to_space(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), block_plan(ctx, true).out); }
void infer_space_to_depth(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), block_plan(ctx, false).out); }
std::unique_ptr<OpKernel> create_depth_to_space(const NodeContext& ctx) {
  return std::make_unique<BlockKernel>(block_plan(ctx, true));
}
std::unique_ptr<OpKernel> create_space_to_depth(const NodeContext& ctx) {
  return std::make_unique<BlockKernel>(block_plan(ctx, false));
}

// --- Trilu ----------------------------------------------------------------------------------

void infer_trilu(NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  if (ctx.input_shape(0).size() < 2) ctx.fail("expected a tensor of rank >= 2");
  if (ctx.has_input(1)) {
    DType kt = ctx.input_dtype(1);
    if (kt != DType::s64) ctx.fail(std::string("unsupported dtype ") + dtype_name(kt) + " for input 1");
    if (shape_numel(ctx.input_shape(1)) != 1) ctx.fail("k must hold one element");
  }
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
}

class TriluKernel : public OpKernel {
 public:
  explicit TriluKernel(bool upper) : upper_(upper) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    copy_tensor_data(x, y);
    const size_t e = dtype_size(x.dtype());
    const Shape& s = x.shape();
    const int64_t rows = s[s.size() - 2], cols = s[s.size() - 1];
    if (rows == 0 || cols == 0) return;
    int64_t k = ctx.has_input(1) ? *ctx.input(1).data_as<int64_t>() : 0;
    k = std::clamp<int64_t>(k, -rows - 1, cols + 1);  // beyond this every k behaves the same
    const int64_t mats = y.numel() / (rows * cols);
    char* out = byte_ptr(y);
    // Zero bits are zero in every numeric dtype.
    for (int64_t m = 0; m < mats; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        char* row = out + ((m * rows + i) * cols) * int64_t(e);
        int64_t lo, hi;  // zeroed columns [lo, hi)
        if (upper_) {  // keep j - i >= k
          lo = 0;
          hi = std::clamp<int64_t>(i + k, 0, cols);
        } else {  // keep j - i <= k
          lo = std::clamp<int64_t>(i + k + 1, 0, cols);
          hi = cols;
        }
        if (hi > lo) std::memset(row + lo * int64_t(e), 0, static_cast<size_t>(hi - lo) * e);
      }
    }
  }

 private:
  bool upper_;
};

std::unique_ptr<OpKernel> create_trilu(const NodeContext& ctx) {
  return std::make_unique<TriluKernel>(ctx.node().attr_i("upper", 1) != 0);
}

// --- ReverseSequence ------------------------------------------------------------------------

struct ReversePlan {
  int64_t batch_axis = 1, time_axis = 0;
};

ReversePlan reverse_plan(const NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  if (in.size() < 2) ctx.fail("expected a tensor of rank >= 2");
  ReversePlan p;
  p.batch_axis = ctx.node().attr_i("batch_axis", 1);
  p.time_axis = ctx.node().attr_i("time_axis", 0);
  if (!((p.batch_axis == 0 && p.time_axis == 1) || (p.batch_axis == 1 && p.time_axis == 0)))
    ctx.fail("batch_axis and time_axis must be 0 and 1 in some order");
  if (ctx.input_dtype(1) != DType::s64) ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(1)) + " for input 1");
  const Shape& lens = ctx.input_shape(1);
  if (lens.size() != 1 || lens[0] != in[p.batch_axis]) ctx.fail("sequence_lens must have one entry per batch");
  return p;
}

void infer_reverse_sequence(NodeContext& ctx) {
  reverse_plan(ctx);
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
}

class ReverseSequenceKernel : public OpKernel {
 public:
  explicit ReverseSequenceKernel(ReversePlan p) : p_(p) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    copy_tensor_data(x, y);
    const size_t e = dtype_size(x.dtype());
    std::vector<int64_t> st = strides_of(x.shape());
    const int64_t batches = x.shape()[p_.batch_axis], steps = x.shape()[p_.time_axis];
    const int64_t block = dims_product(x.shape(), 2, x.shape().size()) * int64_t(e);
    const int64_t* lens = ctx.input(1).data_as<int64_t>();
    for (int64_t b = 0; b < batches; ++b) {
      int64_t len = lens[b];
      if (len < 0 || len > steps)
        throw Error("ReverseSequence: sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
                    " is outside [0, " + std::to_string(steps) + "]");
      for (int64_t t = 0; t < len; ++t) {
        int64_t dst = b * st[p_.batch_axis] + t * st[p_.time_axis];
        int64_t src = b * st[p_.batch_axis] + (len - 1 - t) * st[p_.time_axis];
        if (block > 0) std::memcpy(byte_ptr(y) + dst * int64_t(e), byte_ptr(x) + src * int64_t(e), size_t(block));
      }
    }
  }

 private:
  ReversePlan p_;
};

std::unique_ptr<OpKernel> create_reverse_sequence(const NodeContext& ctx) {
  return std::make_unique<ReverseSequenceKernel>(reverse_plan(ctx));
}

}  // namespace

void register_data_movement_ops(OpRegistry& r) {
  r.add(OpDef{"", "Transpose", infer_transpose, create_transpose});
  r.add(OpDef{"", "Concat", infer_concat, create_concat});
  r.add(OpDef{"", "Split", infer_split, create_split});
  r.add(OpDef{"", "Slice", infer_slice, create_slice});
  r.add(OpDef{"", "Expand", infer_expand, create_expand});
  r.add(OpDef{"", "Tile", infer_tile, create_tile});
  r.add(OpDef{"", "Pad", infer_pad, create_pad});
  r.add(OpDef{"", "DepthToSpace", infer_depth_to_space, create_depth_to_space});
  r.add(OpDef{"", "SpaceToDepth", infer_space_to_depth, create_space_to_depth});
  r.add(OpDef{"", "Trilu", infer_trilu, create_trilu});
  r.add(OpDef{"", "ReverseSequence", infer_reverse_sequence, create_reverse_sequence});
}

}  // namespace octet::detail
