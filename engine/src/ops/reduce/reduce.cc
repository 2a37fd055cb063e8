// The reduce op family: Reduce{Sum,Mean,Max,Min,Prod,L1,L2,LogSum,LogSumExp,SumSquare} in their
// opset-18 form (axes as an optional constant input), here; ArgMax/ArgMin, TopK, CumSum and
// NonZero in reduce_select.cc.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/reduce/reduce_util.h"

namespace octet::detail {
namespace {

// ---- reducers -------------------------------------------------------------------------------
// init, step(acc, x) and finish(acc, count) per op. Float data accumulates in double; integer
// sums and products wrap in 64 bits; integer means and norms go through double.

template <class T>
constexpr bool kIsFloat = std::is_floating_point_v<T>;

template <class T>
using SumAcc = std::conditional_t<kIsFloat<T>, double, std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <class A>
A wrap_add(A a, A b) {
  if constexpr (std::is_integral_v<A>) return static_cast<A>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else return a + b;
}
template <class A>
A wrap_mul(A a, A b) {
  if constexpr (std::is_integral_v<A>) return static_cast<A>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return a * b;
}

// Converts an accumulator to the output type; out-of-range floats saturate for integer outputs.
template <class T, class A>
T narrow(A a) {
  if constexpr (std::is_integral_v<T> && std::is_floating_point_v<A>) return float_to_saturated<T>(a);
  else return static_cast<T>(a);
}

template <class T>
struct SumR {
  using Acc = SumAcc<T>;
  static Acc init() { return Acc(0); }
  static Acc step(Acc a, T x) { return wrap_add(a, static_cast<Acc>(x)); }
  static Acc combine(Acc a, Acc b) { return wrap_add(a, b); }
  static T finish(Acc a, int64_t) { return narrow<T>(a); }
};
template <class T>
struct MeanR {
  using Acc = double;
  static Acc init() { return 0.0; }
  static Acc step(Acc a, T x) { return a + static_cast<double>(x); }
  static Acc combine(Acc a, Acc b) { return a + b; }
  static T finish(Acc a, int64_t n) {
    if constexpr (kIsFloat<T>) return static_cast<T>(a / static_cast<double>(n));
    else return narrow<T>(std::trunc(a / static_cast<double>(n)));
  }
};
template <class T>
struct ProdR {
  using Acc = SumAcc<T>;
  static Acc init() { return Acc(1); }
  static Acc step(Acc a, T x) { return wrap_mul(a, static_cast<Acc>(x)); }
  static Acc combine(Acc a, Acc b) { return wrap_mul(a, b); }
  static T finish(Acc a, int64_t) { return narrow<T>(a); }
};
template <class T>
struct MaxR {  // NaN propagates; an empty reduction gives the lowest value (-inf)
  using Acc = T;
  static Acc init() {
    if constexpr (kIsFloat<T>) return -std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::lowest();
  }
  static Acc step(Acc a, T x) {
    if constexpr (kIsFloat<T>) {
      if (std::isnan(x)) return x;
    }
    return a < x ? x : a;
  }
  static Acc combine(Acc a, Acc b) { return step(a, b); }
  static T finish(Acc a, int64_t) { return a; }
};
template <class T>
struct MinR {
  using Acc = T;
  static Acc init() {
    if constexpr (kIsFloat<T>) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
  }
  static Acc step(Acc a, T x) {
    if constexpr (kIsFloat<T>) {
      if (std::isnan(x)) return x;
    }
    return x < a ? x : a;
  }
  static Acc combine(Acc a, Acc b) { return step(a, b); }
  static T finish(Acc a, int64_t) { return a; }
};
template <class T>
struct L1R {
  using Acc = SumAcc<T>;
  static Acc init() { return Acc(0); }
  static Acc step(Acc a, T x) {
    Acc v = static_cast<Acc>(x);
    if constexpr (std::is_signed_v<Acc> || kIsFloat<T>) v = v < Acc(0) ? wrap_mul(v, Acc(-1)) : v;
    return wrap_add(a, v);
  }
  static Acc combine(Acc a, Acc b) { return wrap_add(a, b); }
  static T finish(Acc a, int64_t) { return narrow<T>(a); }
};
template <class T>
struct SumSquareR {
  using Acc = SumAcc<T>;
  static Acc init() { return Acc(0); }
  static Acc step(Acc a, T x) { return wrap_add(a, wrap_mul(static_cast<Acc>(x), static_cast<Acc>(x))); }
  static Acc combine(Acc a, Acc b) { return wrap_add(a, b); }
  static T finish(Acc a, int64_t) { return narrow<T>(a); }
};
template <class T>
struct L2R {
  using Acc = double;
  static Acc init() { return 0.0; }
  static Acc step(Acc a, T x) { return a + static_cast<double>(x) * static_cast<double>(x); }
  static Acc combine(Acc a, Acc b) { return a + b; }
  static T finish(Acc a, int64_t) { return narrow<T>(std::sqrt(a)); }
};
template <class T>
struct LogSumR {
  using Acc = double;
  static Acc init() { return 0.0; }
  static Acc step(Acc a, T x) { return a + static_cast<double>(x); }
  static Acc combine(Acc a, Acc b) { return a + b; }
  static T finish(Acc a, int64_t) { return narrow<T>(std::log(a)); }
};

// ---- kernels --------------------------------------------------------------------------------

template <class T, class R>
class ReduceKernel final : public OpKernel {
 public:
  explicit ReduceKernel(ReducePlan plan) : plan_(std::move(plan)) {}
  void run(KernelContext& ctx) const override {
    using Acc = typename R::Acc;
    std::vector<Acc> acc(static_cast<size_t>(plan_.out_numel()), R::init());
    plan_.accumulate(ctx.input(0).data_as<T>(), acc.data(), R::init(), [](Acc a, T x) { return R::step(a, x); },
                     [](Acc a, Acc b) { return R::combine(a, b); }, ctx.pool);
    T* out = ctx.output(0).data_as<T>();
    for (size_t i = 0; i < acc.size(); ++i) out[i] = R::finish(acc[i], plan_.count());
  }

 private:
  ReducePlan plan_;
};

// log(sum(exp(x))) computed as max + log(sum(exp(x - max))) so that nothing overflows.
template <class T>
class LogSumExpKernel final : public OpKernel {
 public:
  explicit LogSumExpKernel(ReducePlan plan) : plan_(std::move(plan)) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    const size_t n_out = static_cast<size_t>(plan_.out_numel());
    std::vector<double> peak(n_out, -std::numeric_limits<double>::infinity());
    auto take_max = [](double a, double b) { return std::isnan(b) || a < b ? b : a; };
    plan_.accumulate(x, peak.data(), -std::numeric_limits<double>::infinity(),
                     [&](double a, T v) { return take_max(a, static_cast<double>(v)); }, take_max, ctx.pool);
    // An infinite (or empty) max would turn x - max into NaN: shift by 0 there instead.
    for (double& m : peak)
      if (!std::isfinite(m)) m = 0.0;
    std::vector<double> sum(n_out, 0.0);
    const double* mp = peak.data();
    double* sp = sum.data();
    plan_.visit_runs(x, sp, [&](const T* xr, double* sr, int64_t stride, int64_t n) {
      const double* mr = mp + (sr - sp);
      if (stride == 0) {
        double s = *sr;
        for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(xr[i]) - *mr);
        *sr = s;
      } else {
        for (int64_t i = 0; i < n; ++i) sr[i] += std::exp(static_cast<double>(xr[i]) - mr[i]);
      }
    });
    T* out = ctx.output(0).data_as<T>();
    for (size_t i = 0; i < n_out; ++i) out[i] = narrow<T>(std::log(sum[i]) + peak[i]);
  }

 private:
  ReducePlan plan_;
};

class ReduceCopyKernel final : public OpKernel {  // noop_with_empty_axes with no axes
 public:
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (ctx.output(0).data() != x.data() && x.nbytes() > 0) std::memcpy(ctx.output(0).data(), x.data(), x.nbytes());
  }
};

// ---- inference and creation -----------------------------------------------------------------

enum class ReduceOp { sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square };

// Which axes a Reduce node reduces; empty `reduced` means "copy the input" (noop).
struct ReduceAxes {
  std::vector<bool> reduced;
  bool noop = false;
};

ReduceAxes reduce_axes(const NodeContext& c) {
  const int64_t rank = static_cast<int64_t>(c.input_shape(0).size());
  std::vector<int64_t> axes;
  if (c.has_input(1)) {
    const Tensor* t = c.input_const(1);
    if (t == nullptr) c.fail("axes must be a constant (data-dependent shapes are not supported)");
    c.check(t->dtype() == DType::s64 || t->dtype() == DType::s32,
            std::string("unsupported dtype ") + dtype_name(t->dtype()) + " for input 1 (axes)");
    c.check(t->rank() <= 1, "axes must be a 1-D tensor, got shape " + shape_str(t->shape()));
    axes = tensor_to_int64s(*t);
  } else if (c.node().has_attr("axes")) {  // older form, in case it reaches us unrewritten
    axes = c.node().attr_ints("axes");
  }
  ReduceAxes r;
  r.reduced.assign(static_cast<size_t>(rank), false);
  if (axes.empty()) {
    if (c.node().attr_i("noop_with_empty_axes", 0) != 0) {
      r.noop = true;
    } else {
      r.reduced.assign(static_cast<size_t>(rank), true);
    }
    return r;
  }
  for (int64_t a : axes) {
    int64_t n = normalize_axis(c, a, rank);
    c.check(!r.reduced[n], "axis " + std::to_string(a) + " is repeated in axes");
    r.reduced[n] = true;
  }
  return r;
}

template <ReduceOp Op>
void infer_reduce(NodeContext& c) {
  check_input_dtype(c, 0, kNumericTypes);
  const Shape& in = c.input_shape(0);
  ReduceAxes axes = reduce_axes(c);
  if (axes.noop) {
    c.set_output(0, c.input_dtype(0), in);
    return;
  }
  const bool keepdims = c.node().attr_i("keepdims", 1) != 0;
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!axes.reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  c.set_output(0, c.input_dtype(0), out);
}

template <class T, ReduceOp Op>
std::unique_ptr<OpKernel> make_reduce_kernel(ReducePlan plan) {
  switch (Op) {
    case ReduceOp::sum: return std::make_unique<ReduceKernel<T, SumR<T>>>(std::move(plan));
    case ReduceOp::mean: return std::make_unique<ReduceKernel<T, MeanR<T>>>(std::move(plan));
    case ReduceOp::max: return std::make_unique<ReduceKernel<T, MaxR<T>>>(std::move(plan));
    case ReduceOp::min: return std::make_unique<ReduceKernel<T, MinR<T>>>(std::move(plan));
    case ReduceOp::prod: return std::make_unique<ReduceKernel<T, ProdR<T>>>(std::move(plan));
    case ReduceOp::l1: return std::make_unique<ReduceKernel<T, L1R<T>>>(std::move(plan));
    case ReduceOp::l2: return std::make_unique<ReduceKernel<T, L2R<T>>>(std::move(plan));
    case ReduceOp::log_sum: return std::make_unique<ReduceKernel<T, LogSumR<T>>>(std::move(plan));
    case ReduceOp::log_sum_exp: return std::make_unique<LogSumExpKernel<T>>(std::move(plan));
    case ReduceOp::sum_square: return std::make_unique<ReduceKernel<T, SumSquareR<T>>>(std::move(plan));
  }
  return nullptr;
}

template <ReduceOp Op>
std::unique_ptr<OpKernel> create_reduce(const NodeContext& c) {
  ReduceAxes axes = reduce_axes(c);
  if (axes.noop) return std::make_unique<ReduceCopyKernel>();
  ReducePlan plan(c.input_shape(0), axes.reduced);
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> k;
  auto build = [&](auto tag) { k = make_reduce_kernel<decltype(tag), Op>(plan); };
  if (is_half(t)) {
    build(float{});
    return std::make_unique<ViaFloatKernel>(std::move(k), t);
  }
  if (!visit_dtype<kNumericTypes>(t, build)) c.fail(std::string("unsupported dtype ") + dtype_name(t));
  return k;
}

template <ReduceOp Op>
void add_reduce(OpRegistry& r, const char* name) {
  r.add(OpDef{"", name, infer_reduce<Op>, create_reduce<Op>});
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  add_reduce<ReduceOp::sum>(r, "ReduceSum");
  add_reduce<ReduceOp::mean>(r, "ReduceMean");
  add_reduce<ReduceOp::max>(r, "ReduceMax");
  add_reduce<ReduceOp::min>(r, "ReduceMin");
  add_reduce<ReduceOp::prod>(r, "ReduceProd");
  add_reduce<ReduceOp::l1>(r, "ReduceL1");
  add_reduce<ReduceOp::l2>(r, "ReduceL2");
  add_reduce<ReduceOp::log_sum>(r, "ReduceLogSum");
  add_reduce<ReduceOp::log_sum_exp>(r, "ReduceLogSumExp");
  add_reduce<ReduceOp::sum_square>(r, "ReduceSumSquare");
  register_reduce_select_ops(r);
}

}  // namespace octet::detail
