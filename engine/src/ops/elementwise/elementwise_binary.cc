// Binary elementwise ops with numpy broadcasting (arithmetic, comparison, logical, bitwise,
// Pow, Mod, BitShift, PRelu), the variadic Max/Min/Sum/Mean, and Where.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/elementwise/elementwise_util.h"

namespace octet::detail {
namespace {

// ---- functors -------------------------------------------------------------------------------

// Integer arithmetic wraps (two's complement) instead of overflowing: computed in an unsigned
// type at least as wide as unsigned int, so that small types do not promote to signed int.
template <class T>
using WrapType = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

struct BinaryFunctor : CheapFunctor {
  // Integer division or modulo: the kernel rejects zero divisors before computing.
  static constexpr bool kIntDivision = false;
};

struct AddOp : BinaryFunctor {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapType<T>(a) + WrapType<T>(b));
    else return a + b;
  }
};
struct SubOp : BinaryFunctor {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapType<T>(a) - WrapType<T>(b));
    else return a - b;
  }
};
struct MulOp : BinaryFunctor {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapType<T>(a) * WrapType<T>(b));
    else return a * b;
  }
};
// Integer division truncates toward zero (C++ and ONNX Runtime semantics).
struct DivOp : BinaryFunctor {
  static constexpr bool kIntDivision = true;
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      if (b == -1) return static_cast<T>(-WrapType<T>(a));  // INT_MIN / -1 wraps
    }
    return static_cast<T>(a / b);
  }
};
// fmod=0: the result takes the divisor's sign (Python / numpy); fmod=1: the dividend's (C fmod).
struct ModOp : BinaryFunctor {
  static constexpr bool kIntDivision = true;
  bool c_fmod = false;
  static ModOp from(const Node& n) { return {{}, n.attr_i("fmod", 0) != 0}; }
  template <class T> T operator()(T a, T b) const {
    T r;
    if constexpr (std::is_floating_point_v<T>) {
      r = std::fmod(a, b);
    } else if constexpr (std::is_signed_v<T>) {
      r = b == -1 ? T(0) : static_cast<T>(a % b);
    } else {
      r = static_cast<T>(a % b);
    }
    if constexpr (std::is_signed_v<T> || std::is_floating_point_v<T>) {
      if (!c_fmod && r != T(0) && ((r < T(0)) != (b < T(0)))) r = static_cast<T>(r + b);
    }
    return r;
  }
};
struct MaxOp : BinaryFunctor {  // NaN propagates, as in numpy.maximum
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(b)) return b;
    }
    return a < b ? b : a;
  }
};
struct MinOp : BinaryFunctor {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(b)) return b;
    }
    return b < a ? b : a;
  }
};
struct EqualOp : BinaryFunctor {
  template <class T> bool operator()(T a, T b) const { return a == b; }
};
struct LessOp : BinaryFunctor {
  template <class T> bool operator()(T a, T b) const { return a < b; }
};
struct LessOrEqualOp : BinaryFunctor {
  template <class T> bool operator()(T a, T b) const { return a <= b; }
};
struct GreaterOp : BinaryFunctor {
  template <class T> bool operator()(T a, T b) const { return a > b; }
};
struct GreaterOrEqualOp : BinaryFunctor {
  template <class T> bool operator()(T a, T b) const { return a >= b; }
};
struct AndOp : BinaryFunctor {
  bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp : BinaryFunctor {
  bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp : BinaryFunctor {
  bool operator()(bool a, bool b) const { return a != b; }
};
struct BitwiseAndOp : BinaryFunctor {
  template <class T> T operator()(T a, T b) const { return static_cast<T>(a & b); }
};
struct BitwiseOrOp : BinaryFunctor {
  template <class T> T operator()(T a, T b) const { return static_cast<T>(a | b); }
};
struct BitwiseXorOp : BinaryFunctor {
  template <class T> T operator()(T a, T b) const { return static_cast<T>(a ^ b); }
};
// Shifts by the type's width or more give 0 (plain C++ shifts would be undefined).
struct BitShiftOp : BinaryFunctor {
  bool left = true;
  static BitShiftOp from(const Node& n) { return {{}, n.attr_s("direction", "") == "LEFT"}; }
  template <class T> T operator()(T a, T b) const {
    if (b >= T(sizeof(T) * 8)) return T(0);
    return static_cast<T>(left ? WrapType<T>(a) << b : a >> b);
  }
};
struct PReluOp : BinaryFunctor {
  template <class T> T operator()(T x, T slope) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else if constexpr (std::is_floating_point_v<T>) return std::max(x, T(0)) + slope * std::min(x, T(0));  // vectorizes
    else return x < T(0) ? MulOp{}(slope, x) : x;
  }
};

// Pow: base A (float or integer), exponent B of any numeric type; the result has A's type.
struct PowOp : CostlyFunctor {
  static constexpr bool kIntDivision = false;
  template <class A, class B> A operator()(A a, B b) const {
    if constexpr (std::is_floating_point_v<A>) {
      return std::pow(a, static_cast<A>(b));
    } else if constexpr (std::is_integral_v<B>) {
      if constexpr (std::is_signed_v<B>) {
        if (b < 0) {  // 1 / a^|b| truncated toward zero
          if (a == 1) return A(1);
          if (a == -1) return (b % 2 == 0) ? A(1) : A(-1);
          return A(0);
        }
      }
      using W = WrapType<A>;
      W result = 1, base = static_cast<W>(a);
      for (uint64_t e = static_cast<uint64_t>(b); e != 0; e >>= 1) {
        if (e & 1) result = static_cast<W>(result * base);
        base = static_cast<W>(base * base);
      }
      return static_cast<A>(result);
    } else {
      return float_to_saturated<A>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    }
  }
};
// Pow(x, 2) is common (variance, L2 norms): exact and cheap as x * x.
struct SquareOp : BinaryFunctor {
  template <class A, class B> A operator()(A a, B) const { return MulOp{}(a, a); }
};

// ---- binary kernel --------------------------------------------------------------------------

// One contiguous run: each operand advances by 1 or stays (broadcast).
template <class Op, class A, class B, class Out>
inline void binary_run(const Op& op, const A* a, int64_t sa, const B* b, int64_t sb, Out* o, int64_t n) {
  if (sa != 0 && sb != 0) {
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(op(a[i], b[i]));
  } else if (sa != 0) {
    const B bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(op(a[i], bv));
  } else if (sb != 0) {
    const A av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<Out>(op(av, b[i]));
  } else {
    const Out v = static_cast<Out>(op(*a, *b));
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

template <class B>
void check_no_zero_divisor(const Tensor& divisor) {
  const B* p = divisor.data_as<B>();
  for (int64_t i = 0; i < divisor.numel(); ++i)
    if (p[i] == B(0)) throw Error("integer division by zero (divisor element " + std::to_string(i) + ")");
}

// out = op(a, b) with a, b broadcast into out; also used in place (a == out) by the
// variadic ops.
template <class A, class B, class Out, class Op>
void run_binary(const Op& op, const BroadcastIter<2>& it, const A* a, const B* b, Out* o,
                kernels::ThreadPool* pool) {
  const int64_t sa = it.inner_stride(0), sb = it.inner_stride(1);
  parallel_ranges(pool, it.numel(), Op::kGrain, [&](int64_t begin, int64_t end) {
    const Op local_op = op;  // a local copy: stores through o cannot alias its parameters
    it.for_range(begin, end, [&](int64_t oo, const std::array<int64_t, 2>& off, int64_t n) {
      binary_run(local_op, a + off[0], sa, b + off[1], sb, o + oo, n);
    });
  });
}

template <class A, class B, class Out, class Op>
class BinaryKernel final : public OpKernel {
 public:
  BinaryKernel(Op op, BroadcastIter<2> it) : op_(op), it_(std::move(it)) {}
  void run(KernelContext& ctx) const override {
    if constexpr (Op::kIntDivision && std::is_integral_v<B>) check_no_zero_divisor<B>(ctx.input(1));
    run_binary(op_, it_, ctx.input(0).data_as<A>(), ctx.input(1).data_as<B>(),
               ctx.output(0).data_as<Out>(), ctx.pool);
  }

 private:
  Op op_;
  BroadcastIter<2> it_;
};

BroadcastIter<2> binary_iter(const NodeContext& c) {
  return BroadcastIter<2>({c.input_shape(0), c.input_shape(1)}, c.output(0).shape);
}

// Same-dtype binary ops: output dtype is the input's, or bool for comparisons.
template <int Types, bool Predicate>
void infer_binary(NodeContext& c) {
  c.check(c.num_inputs() == 2, "expects 2 inputs");
  check_input_dtype(c, 0, Types);
  check_same_dtype(c, 1);
  c.set_output(0, Predicate ? DType::boolean : c.input_dtype(0), broadcast_inputs(c, {0, 1}));
}

template <class Op, int Types, bool Predicate>
std::unique_ptr<OpKernel> create_binary(const NodeContext& c) {
  Op op = make_functor<Op>(c.node());
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> k;
  auto build = [&](auto tag) {
    using T = decltype(tag);
    using Out = std::conditional_t<Predicate, bool, T>;
    k = std::make_unique<BinaryKernel<T, T, Out, Op>>(op, binary_iter(c));
  };
  if (is_half(t)) {
    if constexpr ((Types & kFloatTypes) != 0) build(float{});
    else c.fail(std::string("unsupported dtype ") + dtype_name(t));
    return std::make_unique<ViaFloatKernel>(std::move(k), t);
  }
  if (!visit_dtype<Types>(t, build)) c.fail(std::string("unsupported dtype ") + dtype_name(t));
  return k;
}

template <class Op, int Types, bool Predicate = false>
void add_binary(OpRegistry& r, const char* name) {
  r.add(OpDef{"", name, infer_binary<Types, Predicate>, create_binary<Op, Types, Predicate>});
}

void infer_bitshift(NodeContext& c) {
  std::string d = c.node().attr_s("direction", "");
  c.check(d == "LEFT" || d == "RIGHT", "direction must be \"LEFT\" or \"RIGHT\", got \"" + d + "\"");
  infer_binary<kUnsignedTypes, false>(c);
}

// PRelu: slope broadcasts into X's shape (unidirectionally).
void infer_prelu(NodeContext& c) {
  infer_binary<kFloatTypes | kSignedTypes | kUnsignedTypes, false>(c);
  c.check(c.output(0).shape == c.input_shape(0),
          "slope " + shape_str(c.input_shape(1)) + " must broadcast to X's shape " + shape_str(c.input_shape(0)));
}

// ---- Pow ------------------------------------------------------------------------------------

constexpr int kPowBaseTypes = kFloatTypes | kSignedTypes;

void infer_pow(NodeContext& c) {
  check_input_dtype(c, 0, kPowBaseTypes);
  DType base = c.input_dtype(0), exponent = c.input_dtype(1);
  check_input_dtype(c, 1, kNumericTypes);
  c.check(!is_half(exponent) || exponent == base,
          std::string("unsupported exponent dtype ") + dtype_name(exponent) + " with base " + dtype_name(base));
  c.set_output(0, base, broadcast_inputs(c, {0, 1}));
}

std::unique_ptr<OpKernel> create_pow(const NodeContext& c) {
  DType base = c.input_dtype(0), exponent = c.input_dtype(1);
  const bool half = is_half(base);
  const DType compute_base = half ? DType::f32 : base;
  const DType compute_exp = is_half(exponent) ? DType::f32 : exponent;
  const Tensor* e = c.input_const(1);
  const bool square = e != nullptr && e->numel() == 1 && tensor_scalar(*e) == 2.0;
  std::unique_ptr<OpKernel> k;
  visit_dtype<kPowBaseTypes>(compute_base, [&](auto a_tag) {
    using A = decltype(a_tag);
    visit_dtype<kNumericTypes>(compute_exp, [&](auto b_tag) {
      using B = decltype(b_tag);
      if (square)
        k = std::make_unique<BinaryKernel<A, B, A, SquareOp>>(SquareOp{}, binary_iter(c));
      else
        k = std::make_unique<BinaryKernel<A, B, A, PowOp>>(PowOp{}, binary_iter(c));
    });
  });
  if (!k) c.fail(std::string("unsupported dtypes ") + dtype_name(base) + " ^ " + dtype_name(exponent));
  if (half) return std::make_unique<ViaFloatKernel>(std::move(k), base);
  return k;
}

// ---- variadic Max / Min / Sum / Mean --------------------------------------------------------

// out = in0 op in1 op in2 ...: the first step broadcasts in0 and in1 into out, later steps
// combine out (in place) with the next input.
template <class T, class Op, bool Mean>
class VariadicKernel final : public OpKernel {
 public:
  VariadicKernel(std::vector<BroadcastIter<2>> steps) : steps_(std::move(steps)) {}
  void run(KernelContext& ctx) const override {
    T* out = ctx.output(0).data_as<T>();
    const int64_t n = ctx.output(0).numel();
    if (steps_.empty()) {  // one input, already of the output's shape
      const Tensor& x = ctx.input(0);
      if (x.data() != out) std::memcpy(out, x.data(), x.nbytes());
      return;
    }
    run_binary(Op{}, steps_[0], ctx.input(0).data_as<T>(), ctx.input(1).data_as<T>(), out, ctx.pool);
    for (size_t s = 1; s < steps_.size(); ++s)
      run_binary(Op{}, steps_[s], static_cast<const T*>(out), ctx.input(s + 1).data_as<T>(), out, ctx.pool);
    if constexpr (Mean) {
      const T scale = T(1) / static_cast<T>(ctx.inputs.size());
      parallel_ranges(ctx.pool, n, kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] *= scale;
      });
    }
  }

 private:
  std::vector<BroadcastIter<2>> steps_;
};

template <int Types>
void infer_variadic(NodeContext& c) {
  c.check(c.num_inputs() >= 1, "expects at least one input");
  std::vector<size_t> all;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    c.check(c.has_input(i), "input " + std::to_string(i) + " is missing");
    check_same_dtype(c, i);
    all.push_back(i);
  }
  check_input_dtype(c, 0, Types);
  c.set_output(0, c.input_dtype(0), broadcast_inputs(c, all));
}

template <class Op, int Types, bool Mean>
std::unique_ptr<OpKernel> create_variadic(const NodeContext& c) {
  const Shape& out = c.output(0).shape;
  std::vector<BroadcastIter<2>> steps;
  if (c.num_inputs() >= 2) {
    steps.emplace_back(std::array<Shape, 2>{c.input_shape(0), c.input_shape(1)}, out);
    for (size_t i = 2; i < c.num_inputs(); ++i)
      steps.emplace_back(std::array<Shape, 2>{out, c.input_shape(i)}, out);
  } else {
    c.check(c.input_shape(0) == out, "internal: single input shape differs from the output");
  }
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> k;
  auto build = [&](auto tag) { k = std::make_unique<VariadicKernel<decltype(tag), Op, Mean>>(steps); };
  if (is_half(t)) {
    build(float{});
    return std::make_unique<ViaFloatKernel>(std::move(k), t);
  }
  if (!visit_dtype<Types>(t, build)) c.fail(std::string("unsupported dtype ") + dtype_name(t));
  return k;
}

// ---- Where ----------------------------------------------------------------------------------

// Copies elements of any dtype as same-size unsigned integers.
template <class E>
class WhereKernel final : public OpKernel {
 public:
  explicit WhereKernel(BroadcastIter<3> it) : it_(std::move(it)) {}
  void run(KernelContext& ctx) const override {
    const bool* cond = ctx.input(0).data_as<bool>();
    const E* x = ctx.input(1).data_as<E>();
    const E* y = ctx.input(2).data_as<E>();
    E* o = ctx.output(0).data_as<E>();
    const int64_t sc = it_.inner_stride(0), sx = it_.inner_stride(1), sy = it_.inner_stride(2);
    parallel_ranges(ctx.pool, it_.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      it_.for_range(begin, end, [&](int64_t oo, const std::array<int64_t, 3>& off, int64_t n) {
        const bool* c = cond + off[0];
        const E* xr = x + off[1];
        const E* yr = y + off[2];
        E* orow = o + oo;
        for (int64_t i = 0; i < n; ++i) orow[i] = c[i * sc] ? xr[i * sx] : yr[i * sy];
      });
    });
  }

 private:
  BroadcastIter<3> it_;
};

void infer_where(NodeContext& c) {
  c.check(c.num_inputs() == 3, "expects 3 inputs");
  c.check(c.input_dtype(0) == DType::boolean,
          std::string("unsupported dtype ") + dtype_name(c.input_dtype(0)) + " for input 0 (condition must be bool)");
  DType t = c.input_dtype(1);
  c.check(dtype_size(t) > 0, std::string("unsupported dtype ") + dtype_name(t) + " for input 1");
  c.check(c.input_dtype(2) == t, std::string("X and Y dtypes differ: ") + dtype_name(t) + " vs " +
                                     dtype_name(c.input_dtype(2)));
  c.set_output(0, t, broadcast_inputs(c, {0, 1, 2}));
}

std::unique_ptr<OpKernel> create_where(const NodeContext& c) {
  BroadcastIter<3> it({c.input_shape(0), c.input_shape(1), c.input_shape(2)}, c.output(0).shape);
  switch (dtype_size(c.input_dtype(1))) {
    case 1: return std::make_unique<WhereKernel<uint8_t>>(std::move(it));
    case 2: return std::make_unique<WhereKernel<uint16_t>>(std::move(it));
    case 4: return std::make_unique<WhereKernel<uint32_t>>(std::move(it));
    case 8: return std::make_unique<WhereKernel<uint64_t>>(std::move(it));
    default: c.fail("unsupported element size");
  }
}

}  // namespace

void register_elementwise_binary_ops(OpRegistry& r) {
  constexpr int N = kNumericTypes;
  add_binary<AddOp, N>(r, "Add");
  add_binary<SubOp, N>(r, "Sub");
  add_binary<MulOp, N>(r, "Mul");
  add_binary<DivOp, N>(r, "Div");
  add_binary<ModOp, N>(r, "Mod");
  add_binary<EqualOp, kAllTypes, true>(r, "Equal");
  add_binary<LessOp, N, true>(r, "Less");
  add_binary<LessOrEqualOp, N, true>(r, "LessOrEqual");
  add_binary<GreaterOp, N, true>(r, "Greater");
  add_binary<GreaterOrEqualOp, N, true>(r, "GreaterOrEqual");
  add_binary<AndOp, kBoolType>(r, "And");
  add_binary<OrOp, kBoolType>(r, "Or");
  add_binary<XorOp, kBoolType>(r, "Xor");
  add_binary<BitwiseAndOp, kIntTypes>(r, "BitwiseAnd");
  add_binary<BitwiseOrOp, kIntTypes>(r, "BitwiseOr");
  add_binary<BitwiseXorOp, kIntTypes>(r, "BitwiseXor");
  r.add(OpDef{"", "BitShift", infer_bitshift, create_binary<BitShiftOp, kUnsignedTypes, false>});
  r.add(OpDef{"", "PRelu", infer_prelu, create_binary<PReluOp, N, false>});
  r.add(OpDef{"", "Pow", infer_pow, create_pow});
  r.add(OpDef{"", "Max", infer_variadic<N>, create_variadic<MaxOp, N, false>});
  r.add(OpDef{"", "Min", infer_variadic<N>, create_variadic<MinOp, N, false>});
  r.add(OpDef{"", "Sum", infer_variadic<N>, create_variadic<AddOp, N, false>});
  r.add(OpDef{"", "Mean", infer_variadic<kFloatTypes>, create_variadic<AddOp, kFloatTypes, true>});
  r.add(OpDef{"", "Where", infer_where, create_where});
}

}  // namespace octet::detail
