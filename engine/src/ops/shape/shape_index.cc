// Index-driven data movement: Gather, GatherElements, GatherND, ScatterElements (and the
// deprecated Scatter), ScatterND, OneHot, Compress. Indices are checked at run time; an index
// out of range throws octet::Error, never reads or writes out of bounds.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/shape/shape_util.h"

namespace octet::detail {
namespace {

char* byte_ptr(Tensor& t) { return static_cast<char*>(t.data()); }
const char* byte_ptr(const Tensor& t) { return static_cast<const char*>(t.data()); }

// Index i of `indices` normalised into [0, n); throws when out of range.
int64_t checked_index(const Tensor& indices, int64_t i, int64_t n, const char* op) {
  int64_t k = index_at(indices, i);
  int64_t v = k < 0 ? k + n : k;
  if (v < 0 || v >= n)
    throw Error(std::string(op) + ": index " + std::to_string(k) + " is out of range for a dimension of " +
                std::to_string(n));
  return v;
}

// --- Gather ---------------------------------------------------------------------------------

int64_t gather_axis(const NodeContext& ctx) {
  const Shape& data = ctx.input_shape(0);
  if (data.empty()) ctx.fail("cannot gather from a scalar");
  return normalize_axis(ctx, ctx.node().attr_i("axis", 0), static_cast<int64_t>(data.size()));
}

void infer_gather(NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  check_index_dtype(ctx, 1);
  const Shape& data = ctx.input_shape(0);
  const Shape& idx = ctx.input_shape(1);
  int64_t axis = gather_axis(ctx);
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  ctx.set_output(0, ctx.input_dtype(0), out);
}

class GatherKernel : public OpKernel {
 public:
  explicit GatherKernel(int64_t axis) : axis_(axis) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    Tensor& y = ctx.output(0);
    const size_t e = dtype_size(x.dtype());
    const int64_t outer = dims_product(x.shape(), 0, size_t(axis_));
    const int64_t n = x.shape()[axis_];
    const int64_t block = dims_product(x.shape(), size_t(axis_) + 1, x.shape().size()) * int64_t(e);
    const int64_t count = indices.numel();
    std::vector<int64_t> rows(static_cast<size_t>(count));
    for (int64_t j = 0; j < count; ++j) rows[j] = checked_index(indices, j, n, "Gather");
    if (y.numel() == 0) return;
    const char* src = byte_ptr(x);
    char* dst = byte_ptr(y);
    for (int64_t o = 0; o < outer; ++o) {
      const char* src_o = src + o * n * block;
      for (int64_t j = 0; j < count; ++j, dst += block) std::memcpy(dst, src_o + rows[j] * block, size_t(block));
    }
  }

 private:
  int64_t axis_;
};

std::unique_ptr<OpKernel> create_gather(const NodeContext& ctx) { return std::make_unique<GatherKernel>(gather_axis(ctx)); }

// --- GatherElements / ScatterElements -------------------------------------------------------

enum class Reduction { none, add, mul, max, min };

Reduction read_reduction(const NodeContext& ctx) {
  std::string s = ctx.node().attr_s("reduction", "none");
  Reduction r;
  if (s == "none") r = Reduction::none;
  else if (s == "add") r = Reduction::add;
  else if (s == "mul") r = Reduction::mul;
  else if (s == "max") r = Reduction::max;
  else if (s == "min") r = Reduction::min;
  else ctx.fail("unsupported reduction '" + s + "'");
  if (r != Reduction::none) {
    bool numeric = true;
    visit_numeric(ctx.input_dtype(0), [](auto) {}, [&] { numeric = false; });
    if (!numeric)
      ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(0)) + " for input 0 with reduction '" + s + "'");
  }
  return r;
}

// Applies `reduction` of one element at src into dst (element type T).
template <class T>
void reduce_into(Reduction r, char* dst, const char* src) {
  T a, b;
  std::memcpy(&a, dst, sizeof(T));
  std::memcpy(&b, src, sizeof(T));
  switch (r) {
    case Reduction::none: a = b; break;
    case Reduction::add: a = static_cast<T>(a + b); break;
    case Reduction::mul: a = static_cast<T>(a * b); break;
    case Reduction::max: a = std::max(a, b); break;
    case Reduction::min: a = std::min(a, b); break;
  }
  std::memcpy(dst, &a, sizeof(T));
}

// Applies a reduction over n contiguous elements.
void reduce_block(DType t, Reduction r, char* dst, const char* src, int64_t n) {
  const size_t e = dtype_size(t);
  if (r == Reduction::none) {
    std::memcpy(dst, src, static_cast<size_t>(n) * e);
    return;
  }
  visit_numeric(
      t,
      [&](auto tag) {
        using T = decltype(tag);
        for (int64_t i = 0; i < n; ++i) reduce_into<T>(r, dst + i * int64_t(e), src + i * int64_t(e));
      },
      [] {});
}

int64_t elements_axis(const NodeContext& ctx, bool scatter) {
  check_fixed_size_dtype(ctx, 0);
  check_index_dtype(ctx, 1);
  const Shape& data = ctx.input_shape(0);
  const Shape& idx = ctx.input_shape(1);
  if (data.empty()) ctx.fail("data must have rank >= 1");
  if (idx.size() != data.size()) ctx.fail("indices must have the rank of data");
  int64_t axis = normalize_axis(ctx, ctx.node().attr_i("axis", 0), static_cast<int64_t>(data.size()));
  for (size_t d = 0; d < data.size(); ++d)
    if (int64_t(d) != axis && idx[d] > data[d])
      ctx.fail("indices dimension " + std::to_string(d) + " exceeds the data's");
  if (scatter) {
    if (ctx.input_shape(2) != idx) ctx.fail("updates must have the shape of indices");
    if (ctx.input_dtype(2) != ctx.input_dtype(0)) ctx.fail("updates must have the dtype of data");
  }
  return axis;
}

// Walks every position of `indices` (row-major) and calls fn(position, data offset).
template <class Fn>
void walk_elements(const Tensor& data, const Tensor& indices, int64_t axis, const char* op, Fn&& fn) {
  const Shape& is = indices.shape();
  const size_t r = is.size();
  std::vector<int64_t> ds = strides_of(data.shape());
  const int64_t n = data.shape()[axis];
  std::vector<int64_t> pos(r, 0);
  int64_t base = 0;  // data offset of pos, without the axis term
  const int64_t total = indices.numel();
  for (int64_t i = 0; i < total; ++i) {
    int64_t k = checked_index(indices, i, n, op);
    fn(i, base + k * ds[axis]);
    for (int64_t d = int64_t(r) - 1; d >= 0; --d) {
      if (d != axis) base += ds[d];
      if (++pos[d] < is[d]) break;
      if (d != axis) base -= ds[d] * is[d];
      pos[d] = 0;
    }
  }
}

void infer_gather_elements(NodeContext& ctx) {
  elements_axis(ctx, false);
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(1));
}

class GatherElementsKernel : public OpKernel {
 public:
  explicit GatherElementsKernel(int64_t axis) : axis_(axis) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const size_t e = dtype_size(x.dtype());
    const char* src = byte_ptr(x);
    char* dst = byte_ptr(y);
    walk_elements(x, ctx.input(1), axis_, "GatherElements", [&](int64_t i, int64_t off) {
      std::memcpy(dst + i * int64_t(e), src + off * int64_t(e), e);
    });
  }

 private:
  int64_t axis_;
};

std::unique_ptr<OpKernel> create_gather_elements(const NodeContext& ctx) {
  return std::make_unique<GatherElementsKernel>(elements_axis(ctx, false));
}

void infer_scatter_elements(NodeContext& ctx) {
  elements_axis(ctx, true);
  read_reduction(ctx);
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
}

class ScatterElementsKernel : public OpKernel {
 public:
  ScatterElementsKernel(int64_t axis, Reduction r) : axis_(axis), reduction_(r) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const Tensor& updates = ctx.input(2);
    Tensor& y = ctx.output(0);
    copy_tensor_data(x, y);
    const size_t e = dtype_size(x.dtype());
    const char* src = byte_ptr(updates);
    char* dst = byte_ptr(y);
    // Updates apply in index order, so with duplicates and no reduction the last one wins.
    walk_elements(y, ctx.input(1), axis_, "ScatterElements", [&](int64_t i, int64_t off) {
      reduce_block(x.dtype(), reduction_, dst + off * int64_t(e), src + i * int64_t(e), 1);
    });
  }

 private:
  int64_t axis_;
  Reduction reduction_;
};

std::unique_ptr<OpKernel> create_scatter_elements(const NodeContext& ctx) {
  return std::make_unique<ScatterElementsKernel>(elements_axis(ctx, true), read_reduction(ctx));
}

// --- GatherND / ScatterND -------------------------------------------------------------------

// Geometry shared by GatherND and ScatterND: `batches` x `tuples` index tuples of length m,
// each selecting a block of `block` elements inside a batch of `batch_size` elements.
struct NdPlan {
  int64_t batch_dims = 0, m = 0;
  Shape out;  // GatherND output / ScatterND updates shape
};

NdPlan nd_plan(const NodeContext& ctx, int64_t batch_dims) {
  check_fixed_size_dtype(ctx, 0);
  check_index_dtype(ctx, 1);
  const Shape& data = ctx.input_shape(0);
  const Shape& idx = ctx.input_shape(1);
  const int64_t r = static_cast<int64_t>(data.size()), q = static_cast<int64_t>(idx.size());
  if (r < 1 || q < 1) ctx.fail("data and indices must have rank >= 1");
  if (batch_dims < 0 || batch_dims >= std::min(r, q)) ctx.fail("batch_dims is out of range");
  for (int64_t d = 0; d < batch_dims; ++d)
    if (data[d] != idx[d]) ctx.fail("batch dimension " + std::to_string(d) + " differs between data and indices");
  NdPlan p;
  p.batch_dims = batch_dims;
  p.m = idx[q - 1];
  if (p.m < 1 || p.m > r - batch_dims) ctx.fail("the last dimension of indices is out of range");
  p.out.assign(idx.begin(), idx.end() - 1);
  p.out.insert(p.out.end(), data.begin() + batch_dims + p.m, data.end());
  return p;
}

// Calls fn(tuple number, data element offset) for every index tuple.
template <class Fn>
void walk_tuples(const Tensor& data, const Tensor& indices, const NdPlan& p, const char* op, Fn&& fn) {
  const Shape& ds = data.shape();
  std::vector<int64_t> st = strides_of(ds);
  const int64_t b = p.batch_dims, m = p.m;
  const int64_t batch_size = dims_product(ds, size_t(b), ds.size());
  const int64_t tuples = indices.numel() / m;
  const int64_t per_batch = tuples / std::max<int64_t>(dims_product(ds, 0, size_t(b)), 1);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = (per_batch > 0 ? t / per_batch : 0) * batch_size;
    for (int64_t j = 0; j < m; ++j) off += checked_index(indices, t * m + j, ds[b + j], op) * st[b + j];
    fn(t, off);
  }
}

void infer_gather_nd(NodeContext& ctx) {
  ctx.set_output(0, ctx.input_dtype(0), nd_plan(ctx, ctx.node().attr_i("batch_dims", 0)).out);
}

class GatherNdKernel : public OpKernel {
 public:
  explicit GatherNdKernel(NdPlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const size_t e = dtype_size(x.dtype());
    const int64_t block = dims_product(x.shape(), size_t(p_.batch_dims + p_.m), x.shape().size()) * int64_t(e);
    const char* src = byte_ptr(x);
    char* dst = byte_ptr(y);
    walk_tuples(x, ctx.input(1), p_, "GatherND", [&](int64_t t, int64_t off) {
      if (block > 0) std::memcpy(dst + t * block, src + off * int64_t(e), size_t(block));
    });
  }

 private:
  NdPlan p_;
};

std::unique_ptr<OpKernel> create_gather_nd(const NodeContext& ctx) {
  return std::make_unique<GatherNdKernel>(nd_plan(ctx, ctx.node().attr_i("batch_dims", 0)));
}

NdPlan scatter_nd_plan(const NodeContext& ctx) {
  NdPlan p = nd_plan(ctx, 0);
  if (ctx.input_dtype(2) != ctx.input_dtype(0)) ctx.fail("updates must have the dtype of data");
  if (ctx.input_shape(2) != p.out)
    ctx.fail("updates must have shape " + shape_str(p.out) + ", got " + shape_str(ctx.input_shape(2)));
  return p;
}

void infer_scatter_nd(NodeContext& ctx) {
  scatter_nd_plan(ctx);
  read_reduction(ctx);
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
}

class ScatterNdKernel : public OpKernel {
 public:
  ScatterNdKernel(NdPlan p, Reduction r) : p_(std::move(p)), reduction_(r) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    copy_tensor_data(x, y);
    const size_t e = dtype_size(x.dtype());
    const int64_t block = dims_product(x.shape(), size_t(p_.m), x.shape().size());
    const char* src = byte_ptr(ctx.input(2));
    char* dst = byte_ptr(y);
    walk_tuples(y, ctx.input(1), p_, "ScatterND", [&](int64_t t, int64_t off) {
      reduce_block(x.dtype(), reduction_, dst + off * int64_t(e), src + t * block * int64_t(e), block);
    });
  }

 private:
  NdPlan p_;
  Reduction reduction_;
};

std::unique_ptr<OpKernel> create_scatter_nd(const NodeContext& ctx) {
  return std::make_unique<ScatterNdKernel>(scatter_nd_plan(ctx), read_reduction(ctx));
}

// --- OneHot ---------------------------------------------------------------------------------

struct OneHotPlan {
  int64_t depth = 0, axis = 0;
};

OneHotPlan one_hot_plan(const NodeContext& ctx) {
  bool numeric = true;
  visit_numeric(ctx.input_dtype(0), [](auto) {}, [&] { numeric = false; });
  if (!numeric || ctx.input_dtype(0) == DType::boolean)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(0)) + " for input 0");
  const Tensor& depth_t = require_const_input(ctx, 1, "OneHot's depth");
  if (depth_t.numel() != 1) ctx.fail("depth must hold one element");
  double depth = tensor_scalar(depth_t);
  if (!(depth >= 1 && depth < 1e12)) ctx.fail("depth must be >= 1");
  check_fixed_size_dtype(ctx, 2);
  if (shape_numel(ctx.input_shape(2)) != 2) ctx.fail("values must hold two elements [off, on]");
  OneHotPlan p;
  p.depth = static_cast<int64_t>(depth);
  int64_t out_rank = static_cast<int64_t>(ctx.input_shape(0).size()) + 1;
  p.axis = normalize_axis(ctx, ctx.node().attr_i("axis", -1), out_rank);
  return p;
}

void infer_one_hot(NodeContext& ctx) {
  OneHotPlan p = one_hot_plan(ctx);
  Shape out = ctx.input_shape(0);
  out.insert(out.begin() + p.axis, p.depth);
  ctx.set_output(0, ctx.input_dtype(2), out);
}

class OneHotKernel : public OpKernel {
 public:
  explicit OneHotKernel(OneHotPlan p) : p_(p) {}
  void run(KernelContext& ctx) const override {
    const Tensor& indices = ctx.input(0);
    const Tensor& values = ctx.input(2);
    Tensor& y = ctx.output(0);
    const size_t e = dtype_size(values.dtype());
    const char* off_value = byte_ptr(values);
    const char* on_value = off_value + e;
    fill_elements(y.data(), y.numel(), off_value, e);
    const int64_t inner = dims_product(indices.shape(), size_t(p_.axis), indices.shape().size());
    const int64_t count = indices.numel();
    std::vector<int64_t> idx(static_cast<size_t>(count));
    visit_numeric(
        indices.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* v = indices.data_as<T>();
          for (int64_t i = 0; i < count; ++i) {
            double d = static_cast<double>(v[i]);
            // Non-integral indices truncate; anything outside [-depth, depth) is "no hot".
            idx[i] = std::isfinite(d) && std::fabs(d) < 1e15 ? static_cast<int64_t>(d) : INT64_MIN;
          }
        },
        [] {});
    char* out = byte_ptr(y);
    for (int64_t i = 0; i < count; ++i) {
      int64_t k = idx[i];
      if (k == INT64_MIN || k < -p_.depth || k >= p_.depth) continue;
      if (k < 0) k += p_.depth;
      int64_t o = i / inner, in = i % inner;
      std::memcpy(out + ((o * p_.depth + k) * inner + in) * int64_t(e), on_value, e);
    }
  }

 private:
  OneHotPlan p_;
};

std::unique_ptr<OpKernel> create_one_hot(const NodeContext& ctx) { return std::make_unique<OneHotKernel>(one_hot_plan(ctx)); }

// --- Compress -------------------------------------------------------------------------------

struct CompressPlan {
  bool flatten = false;
  int64_t axis = 0;
  std::vector<int64_t> kept;  // selected positions along the axis (or of the flat input)
  Shape out;
};

CompressPlan compress_plan(const NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  const Tensor& cond = require_const_input(ctx, 1, "Compress's condition");
  if (cond.rank() != 1) ctx.fail("condition must be 1-D");
  std::vector<int64_t> flags;
  if (cond.dtype() == DType::boolean) {
    for (int64_t i = 0; i < cond.numel(); ++i) flags.push_back(cond.data_as<bool>()[i] ? 1 : 0);
  } else {
    flags = const_input_ints(ctx, 1, "Compress's condition");
  }
  CompressPlan p;
  p.flatten = !ctx.node().has_attr("axis");
  int64_t dim;
  if (p.flatten) {
    dim = shape_numel(in);
  } else {
    p.axis = normalize_axis(ctx, ctx.node().attr_i("axis", 0), static_cast<int64_t>(in.size()));
    dim = in[p.axis];
  }
  for (int64_t i = 0; i < static_cast<int64_t>(flags.size()); ++i) {
    if (!flags[i]) continue;
    if (i >= dim) ctx.fail("condition selects position " + std::to_string(i) + " beyond the axis length " + std::to_string(dim));
    p.kept.push_back(i);
  }
  if (p.flatten) {
    p.out = {static_cast<int64_t>(p.kept.size())};
  } else {
    p.out = in;
    p.out[p.axis] = static_cast<int64_t>(p.kept.size());
  }
  return p;
}

void infer_compress(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), compress_plan(ctx).out); }

class CompressKernel : public OpKernel {
 public:
  explicit CompressKernel(CompressPlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const size_t e = dtype_size(x.dtype());
    int64_t outer = 1, n = x.numel(), block = int64_t(e);
    if (!p_.flatten) {
      outer = dims_product(x.shape(), 0, size_t(p_.axis));
      n = x.shape()[p_.axis];
      block = dims_product(x.shape(), size_t(p_.axis) + 1, x.shape().size()) * int64_t(e);
    }
    if (y.numel() == 0) return;
    const char* src = byte_ptr(x);
    char* dst = byte_ptr(y);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k : p_.kept) {
        std::memcpy(dst, src + (o * n + k) * block, size_t(block));
        dst += block;
      }
  }

 private:
  CompressPlan p_;
};

std::unique_ptr<OpKernel> create_compress(const NodeContext& ctx) {
  return std::make_unique<CompressKernel>(compress_plan(ctx));
}

}  // namespace

void register_shape_index_ops(OpRegistry& r) {
  r.add(OpDef{"", "Gather", infer_gather, create_gather});
  r.add(OpDef{"", "GatherElements", infer_gather_elements, create_gather_elements});
  r.add(OpDef{"", "GatherND", infer_gather_nd, create_gather_nd});
  r.add(OpDef{"", "ScatterElements", infer_scatter_elements, create_scatter_elements});
  // Scatter (opset 9-10) is ScatterElements without reduction under an older name.
  r.add(OpDef{"", "Scatter", infer_scatter_elements, create_scatter_elements});
  r.add(OpDef{"", "ScatterND", infer_scatter_nd, create_scatter_nd});
  r.add(OpDef{"", "OneHot", infer_one_hot, create_one_hot});
  r.add(OpDef{"", "Compress", infer_compress, create_compress});
}

}  // namespace octet::detail
