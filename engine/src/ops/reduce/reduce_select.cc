// Selection and scan ops of the reduce family: ArgMax, ArgMin, TopK, CumSum, and NonZero (for
// constant inputs only: its output shape depends on the data).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "ops/reduce/reduce_util.h"

namespace octet::detail {
namespace {

// A shape seen as [outer, n, inner] around one axis.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  AxisSplit() = default;
  AxisSplit(const Shape& s, int64_t axis) {
    for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
      if (d < axis) outer *= s[d];
      else if (d == axis) n = s[d];
      else inner *= s[d];
    }
  }
};

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// ---- ArgMax / ArgMin ------------------------------------------------------------------------

// Ties go to the first index (or the last with select_last_index); NaN never wins a
// comparison, so it is chosen only when it comes first.
template <class T, bool Max>
class ArgKernel final : public OpKernel {
 public:
  ArgKernel(AxisSplit s, bool last) : s_(s), last_(last) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    int64_t* out = ctx.output(0).data_as<int64_t>();
    const int64_t n = s_.n, inner = s_.inner;
    std::vector<T> best(static_cast<size_t>(inner));
    for (int64_t o = 0; o < s_.outer; ++o) {
      const T* xo = x + o * n * inner;
      int64_t* io = out + o * inner;
      for (int64_t j = 0; j < inner; ++j) {
        best[j] = xo[j];
        io[j] = 0;
      }
      for (int64_t r = 1; r < n; ++r) {
        const T* xr = xo + r * inner;
        for (int64_t j = 0; j < inner; ++j) {
          const T v = xr[j];
          bool better = Max ? (last_ ? v >= best[j] : v > best[j]) : (last_ ? v <= best[j] : v < best[j]);
          if (better) {
            best[j] = v;
            io[j] = r;
          }
        }
      }
    }
  }

 private:
  AxisSplit s_;
  bool last_;
};

void infer_arg(NodeContext& c) {
  check_input_dtype(c, 0, kNumericTypes);
  const Shape& in = c.input_shape(0);
  int64_t axis = normalize_axis(c, c.node().attr_i("axis", 0), static_cast<int64_t>(in.size()));
  c.check(in[axis] > 0, "cannot take ArgMax/ArgMin over an empty axis");
  Shape out = in;
  if (c.node().attr_i("keepdims", 1) != 0) out[axis] = 1;
  else out.erase(out.begin() + axis);
  c.set_output(0, DType::s64, out);
}

template <bool Max>
std::unique_ptr<OpKernel> create_arg(const NodeContext& c) {
  const Shape& in = c.input_shape(0);
  int64_t axis = normalize_axis(c, c.node().attr_i("axis", 0), static_cast<int64_t>(in.size()));
  AxisSplit split(in, axis);
  bool last = c.node().attr_i("select_last_index", 0) != 0;
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> k;
  auto build = [&](auto tag) { k = std::make_unique<ArgKernel<decltype(tag), Max>>(split, last); };
  if (is_half(t)) {
    build(float{});
    return std::make_unique<ViaFloatKernel>(std::move(k), t);
  }
  visit_dtype<kNumericTypes>(t, build);
  return k;
}

// ---- TopK -----------------------------------------------------------------------------------

// The k largest (or smallest) along the axis, sorted, ties broken by the lower index. NaN
// counts as larger than any number, so the order is a strict weak ordering.
template <class T>
class TopKKernel final : public OpKernel {
 public:
  TopKKernel(AxisSplit s, int64_t k, bool largest) : s_(s), k_(k), largest_(largest) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    T* values = ctx.output(0).data_as<T>();
    int64_t* indices = ctx.has_output(1) ? ctx.output(1).data_as<int64_t>() : nullptr;
    const int64_t n = s_.n, inner = s_.inner, k = k_;
    const int64_t lines = s_.outer * inner;
    const bool largest = largest_;
    parallel_ranges(ctx.pool, lines, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                    [&](int64_t begin, int64_t end) {
      std::vector<int64_t> order(static_cast<size_t>(n));
      std::vector<T> line(static_cast<size_t>(n));
      for (int64_t l = begin; l < end; ++l) {
        const int64_t o = l / inner, j = l % inner;
        const T* xl = x + o * n * inner + j;
        for (int64_t r = 0; r < n; ++r) line[r] = xl[r * inner];
        std::iota(order.begin(), order.end(), int64_t(0));
        auto before = [&](int64_t a, int64_t b) {
          const T va = line[a], vb = line[b];
          const bool na = is_nan(va), nb = is_nan(vb);
          if (na || nb) {
            if (na && nb) return a < b;
            return largest ? na : nb;  // NaN first when largest, last when smallest
          }
          if (va != vb) return largest ? va > vb : va < vb;
          return a < b;
        };
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        T* vl = values + o * k * inner + j;
        int64_t* il = indices ? indices + o * k * inner + j : nullptr;
        for (int64_t r = 0; r < k; ++r) {
          vl[r * inner] = line[order[r]];
          if (il) il[r * inner] = order[r];
        }
      }
    });
  }

 private:
  AxisSplit s_;
  int64_t k_;
  bool largest_;
};

int64_t topk_k(const NodeContext& c, int64_t dim) {
  const Tensor* kt = c.input_const(1);
  if (kt == nullptr) c.fail("K must be a constant (data-dependent shapes are not supported)");
  c.check(kt->dtype() == DType::s64 || kt->dtype() == DType::s32,
          std::string("unsupported dtype ") + dtype_name(kt->dtype()) + " for input 1 (K)");
  c.check(kt->numel() == 1, "K must hold one element, got shape " + shape_str(kt->shape()));
  int64_t k = tensor_to_int64s(*kt)[0];
  c.check(k >= 0 && k <= dim, "K = " + std::to_string(k) + " is out of range for an axis of size " + std::to_string(dim));
  return k;
}

void infer_topk(NodeContext& c) {
  check_input_dtype(c, 0, kNumericTypes);
  const Shape& in = c.input_shape(0);
  int64_t axis = normalize_axis(c, c.node().attr_i("axis", -1), static_cast<int64_t>(in.size()));
  Shape out = in;
  out[axis] = topk_k(c, in[axis]);
  c.set_output(0, c.input_dtype(0), out);
  c.set_output(1, DType::s64, out);
}

std::unique_ptr<OpKernel> create_topk(const NodeContext& c) {
  const Shape& in = c.input_shape(0);
  int64_t axis = normalize_axis(c, c.node().attr_i("axis", -1), static_cast<int64_t>(in.size()));
  int64_t k = topk_k(c, in[axis]);
  bool largest = c.node().attr_i("largest", 1) != 0;
  AxisSplit split(in, axis);
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> kernel;
  auto build = [&](auto tag) { kernel = std::make_unique<TopKKernel<decltype(tag)>>(split, k, largest); };
  if (is_half(t)) {
    build(float{});
    return std::make_unique<ViaFloatKernel>(std::move(kernel), t);
  }
  visit_dtype<kNumericTypes>(t, build);
  return kernel;
}

// ---- CumSum ---------------------------------------------------------------------------------

// The axis input may be a run-time value (the output shape does not depend on it).
template <class T>
class CumSumKernel final : public OpKernel {
 public:
  CumSumKernel(bool exclusive, bool reverse) : exclusive_(exclusive), reverse_(reverse) {}
  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(xt.rank());
    const Tensor& at = ctx.input(1);
    if (at.numel() != 1) throw Error("CumSum: axis must hold one element, got shape " + shape_str(at.shape()));
    int64_t axis = tensor_to_int64s(at)[0];
    if (axis < -rank || axis >= rank)
      throw Error("CumSum: axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    if (axis < 0) axis += rank;
    AxisSplit s(xt.shape(), axis);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    std::vector<Acc> acc(static_cast<size_t>(s.inner));
    for (int64_t o = 0; o < s.outer; ++o) {
      std::fill(acc.begin(), acc.end(), Acc(0));
      for (int64_t step = 0; step < s.n; ++step) {
        const int64_t r = reverse_ ? s.n - 1 - step : step;
        const T* xr = x + (o * s.n + r) * s.inner;
        T* yr = y + (o * s.n + r) * s.inner;
        for (int64_t j = 0; j < s.inner; ++j) {
          const Acc v = static_cast<Acc>(xr[j]);
          if (exclusive_) {
            yr[j] = static_cast<T>(acc[j]);
            acc[j] = add(acc[j], v);
          } else {
            acc[j] = add(acc[j], v);
            yr[j] = static_cast<T>(acc[j]);
          }
        }
      }
    }
  }

 private:
  template <class A>
  static A add(A a, A b) {
    if constexpr (std::is_integral_v<A>) {
      using W = std::conditional_t<(sizeof(A) < sizeof(unsigned)), unsigned, std::make_unsigned_t<A>>;
      return static_cast<A>(W(a) + W(b));
    } else {
      return a + b;
    }
  }
  bool exclusive_, reverse_;
};

void infer_cumsum(NodeContext& c) {
  check_input_dtype(c, 0, kNumericTypes);
  c.check(c.input_dtype(1) == DType::s32 || c.input_dtype(1) == DType::s64,
          std::string("unsupported dtype ") + dtype_name(c.input_dtype(1)) + " for input 1 (axis)");
  c.check(shape_numel(c.input_shape(1)) == 1, "axis must be a scalar, got shape " + shape_str(c.input_shape(1)));
  const int64_t rank = static_cast<int64_t>(c.input_shape(0).size());
  c.check(rank >= 1, "input must have rank >= 1");
  if (const Tensor* a = c.input_const(1)) normalize_axis(c, tensor_to_int64s(*a)[0], rank);
  c.set_output(0, c.input_dtype(0), c.input_shape(0));
}

std::unique_ptr<OpKernel> create_cumsum(const NodeContext& c) {
  bool exclusive = c.node().attr_i("exclusive", 0) != 0;
  bool reverse = c.node().attr_i("reverse", 0) != 0;
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> k;
  auto build = [&](auto tag) { k = std::make_unique<CumSumKernel<decltype(tag)>>(exclusive, reverse); };
  if (is_half(t)) {
    build(float{});
    return std::make_unique<ViaFloatKernel>(std::move(k), t);
  }
  visit_dtype<kNumericTypes>(t, build);
  return k;
}

// ---- NonZero --------------------------------------------------------------------------------

// Whether element i is nonzero, for any numeric dtype (f16/bf16 by their bits: +-0 is zero).
std::vector<int64_t> nonzero_positions(const Tensor& t) {
  std::vector<int64_t> pos;
  const int64_t n = t.numel();
  if (is_half(t.dtype())) {
    const uint16_t* p = t.data_as<uint16_t>();
    for (int64_t i = 0; i < n; ++i)
      if ((p[i] & 0x7fff) != 0) pos.push_back(i);
    return pos;
  }
  bool ok = visit_dtype<kAllTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data_as<T>();
    for (int64_t i = 0; i < n; ++i)
      if (p[i] != T(0)) pos.push_back(i);
  });
  if (!ok) throw Error(std::string("NonZero: unsupported dtype ") + dtype_name(t.dtype()));
  return pos;
}

class NonZeroKernel final : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> pos = nonzero_positions(x);
    Tensor& y = ctx.output(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    const int64_t count = static_cast<int64_t>(pos.size());
    if (y.shape() != Shape{rank, count})
      throw Error("NonZero: the input has " + std::to_string(count) + " nonzero elements but the compiled output is " +
                  shape_str(y.shape()) + " (NonZero needs a constant input)");
    std::vector<int64_t> strides = strides_of(x.shape());
    int64_t* out = y.data_as<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      int64_t rem = pos[i];
      for (int64_t d = 0; d < rank; ++d) {
        out[d * count + i] = rem / strides[d];
        rem %= strides[d];
      }
    }
  }
};

void infer_nonzero(NodeContext& c) {
  check_input_dtype(c, 0, kAllTypes);
  const Tensor* x = c.input_const(0);
  if (x == nullptr)
    c.fail("the input must be a constant: NonZero's output shape depends on the data "
           "(data-dependent shapes are not supported)");
  int64_t count = static_cast<int64_t>(nonzero_positions(*x).size());
  c.set_output(0, DType::s64, Shape{static_cast<int64_t>(x->rank()), count});
}

std::unique_ptr<OpKernel> create_nonzero(const NodeContext&) { return std::make_unique<NonZeroKernel>(); }

}  // namespace

void register_reduce_select_ops(OpRegistry& r) {
  r.add(OpDef{"", "ArgMax", infer_arg, create_arg<true>});
  r.add(OpDef{"", "ArgMin", infer_arg, create_arg<false>});
  r.add(OpDef{"", "TopK", infer_topk, create_topk});
  r.add(OpDef{"", "CumSum", infer_cumsum, create_cumsum});
  r.add(OpDef{"", "NonZero", infer_nonzero, create_nonzero});
}

}  // namespace octet::detail
