// Unique (opset 11): the distinct elements of the input (flattened), or its distinct slices
// along `axis`, sorted ascending (sorted=1, default) or in order of first occurrence, with the
// optional outputs indices (first occurrence of each), inverse_indices (the unique entry of each
// input element or slice) and counts. The output shapes depend on the data, so the input must
// be a constant (like NonZero); the kernel recomputes and checks the count it was compiled for.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <type_traits>

#include "ops/elementwise/elementwise_util.h"
#include "ops/shape/shape_util.h"

namespace octet::detail {
namespace {

// The input seen as [outer, n, inner] around the axis (n = numel, outer = inner = 1 without).
struct UniqueLayout {
  int64_t outer = 1, n = 1, inner = 1;
  int axis = -1;  // -1: flattened
};

struct UniqueResult {
  std::vector<int64_t> first;    // per unique entry, in output order: its first slice
  std::vector<int64_t> inverse;  // per slice: its unique entry
  std::vector<int64_t> counts;   // per unique entry
};

UniqueLayout unique_layout(const NodeContext& c) {
  const Shape& s = c.input_shape(0);
  UniqueLayout l;
  if (!c.node().has_attr("axis")) {
    l.n = shape_numel(s);
    return l;
  }
  const int64_t rank = static_cast<int64_t>(s.size());
  c.check(rank >= 1, "axis is given but the input is a scalar");
  l.axis = static_cast<int>(normalize_axis(c, c.node().attr_i("axis", 0), rank));
  for (int64_t d = 0; d < rank; ++d) (d < l.axis ? l.outer : d == l.axis ? l.n : l.inner) *= s[d];
  return l;
}

// Ordering of slice keys: numbers ascending, NaN after every number and equal to NaN (as
// numpy.unique, which the ONNX reference uses).
template <class K>
int compare_keys(K a, K b) {
  if constexpr (std::is_floating_point_v<K>) {
    const bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) return na == nb ? 0 : na ? 1 : -1;
  }
  return a < b ? -1 : b < a ? 1 : 0;
}

// keys: slice k's elements at keys[k * len ...].
template <class K>
UniqueResult unique_of(const std::vector<K>& keys, int64_t n, int64_t len, bool sorted) {
  auto cmp = [&](int64_t a, int64_t b) {
    for (int64_t i = 0; i < len; ++i)
      if (int r = compare_keys(keys[a * len + i], keys[b * len + i])) return r;
    return 0;
  };
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
  UniqueResult r;
  r.inverse.assign(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t s = order[k];
    if (k == 0 || cmp(r.first.back(), s) != 0) {  // stable: a group's first slice comes first
      r.first.push_back(s);
      r.counts.push_back(0);
    }
    r.inverse[s] = static_cast<int64_t>(r.first.size()) - 1;
    r.counts.back()++;
  }
  if (!sorted) {  // renumber the groups by first occurrence
    std::vector<int64_t> by_first(r.first.size());
    std::iota(by_first.begin(), by_first.end(), int64_t(0));
    std::sort(by_first.begin(), by_first.end(), [&](int64_t a, int64_t b) { return r.first[a] < r.first[b]; });
    std::vector<int64_t> rank(by_first.size());
    UniqueResult o;
    for (size_t u = 0; u < by_first.size(); ++u) {
      rank[by_first[u]] = static_cast<int64_t>(u);
      o.first.push_back(r.first[by_first[u]]);
      o.counts.push_back(r.counts[by_first[u]]);
    }
    o.inverse.resize(r.inverse.size());
    for (size_t s = 0; s < r.inverse.size(); ++s) o.inverse[s] = rank[r.inverse[s]];
    return o;
  }
  return r;
}

UniqueResult compute_unique(const Tensor& x, const UniqueLayout& l, bool sorted) {
  const int64_t len = l.outer * l.inner;
  auto run = [&](auto key_tag, auto value_of) {
    using K = decltype(key_tag);
    std::vector<K> keys(static_cast<size_t>(x.numel()));
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t k = 0; k < l.n; ++k)
        for (int64_t i = 0; i < l.inner; ++i) keys[k * len + o * l.inner + i] = value_of((o * l.n + k) * l.inner + i);
    return unique_of(keys, l.n, len, sorted);
  };
  const DType t = x.dtype();
  if (is_half(t)) {
    const uint16_t* p = x.data_as<uint16_t>();
    return run(double{}, [&](int64_t i) {
      return static_cast<double>(t == DType::f16 ? half_to_float(p[i]) : bf16_to_float(p[i]));
    });
  }
  UniqueResult r;
  const bool ok = visit_dtype<kAllTypes>(t, [&](auto tag) {
    using T = decltype(tag);
    using K = std::conditional_t<std::is_floating_point_v<T>, double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;
    const T* p = x.data_as<T>();
    r = run(K{}, [&](int64_t i) { return static_cast<K>(p[i]); });
  });
  if (!ok) throw Error(std::string("Unique: unsupported dtype ") + dtype_name(t));
  return r;
}

class UniqueKernel final : public OpKernel {
 public:
  UniqueKernel(UniqueLayout l, bool sorted) : l_(l), sorted_(sorted) {}
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const UniqueResult r = compute_unique(x, l_, sorted_);
    Tensor& y = ctx.output(0);
    const int64_t u = static_cast<int64_t>(r.first.size());
    const int64_t compiled = l_.axis < 0 ? (y.rank() == 1 ? y.shape()[0] : -1) : y.shape()[l_.axis];
    if (u != compiled)
      throw Error("Unique: the input has " + std::to_string(u) + " unique entries but the compiled output is " +
                  shape_str(y.shape()) + " (Unique needs a constant input)");
    const size_t e = dtype_size(x.dtype());
    const char* src = static_cast<const char*>(x.data());
    char* dst = static_cast<char*>(y.data());
    const size_t block = static_cast<size_t>(l_.inner) * e;
    for (int64_t o = 0; o < l_.outer; ++o)
      for (int64_t k = 0; k < u; ++k)
        std::memcpy(dst + (o * u + k) * block, src + (o * l_.n + r.first[k]) * block, block);
    auto put = [&](size_t i, const std::vector<int64_t>& v) {
      if (ctx.has_output(i)) std::copy(v.begin(), v.end(), ctx.output(i).data_as<int64_t>());
    };
    put(1, r.first);
    put(2, r.inverse);
    put(3, r.counts);
  }

 private:
  UniqueLayout l_;
  bool sorted_;
};

void infer_unique(NodeContext& c) {
  check_fixed_size_dtype(c, 0);
  const Tensor& x = require_const_input(c, 0, "the input of Unique, whose output shape depends on the data,");
  const UniqueLayout l = unique_layout(c);
  const bool sorted = c.node().attr_i("sorted", 1) != 0;
  const UniqueResult r = compute_unique(x, l, sorted);
  const int64_t u = static_cast<int64_t>(r.first.size());
  Shape y{u};
  if (l.axis >= 0) {
    y = x.shape();
    y[l.axis] = u;
  }
  c.set_output(0, x.dtype(), y);
  c.set_output(1, DType::s64, Shape{u});
  c.set_output(2, DType::s64, Shape{l.n});
  c.set_output(3, DType::s64, Shape{u});
}

std::unique_ptr<OpKernel> create_unique(const NodeContext& c) {
  return std::make_unique<UniqueKernel>(unique_layout(c), c.node().attr_i("sorted", 1) != 0);
}

}  // namespace

void register_unique_ops(OpRegistry& r) { r.add(OpDef{"", "Unique", infer_unique, create_unique}); }

}  // namespace octet::detail
