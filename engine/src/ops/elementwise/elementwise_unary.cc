// Unary elementwise ops: math functions, activations, predicates (IsNaN, IsInf), logical and
// bitwise Not, Clip, Shrink, Identity and inference-mode Dropout.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/elementwise/elementwise_util.h"
#include "ops/sequence/sequence_value.h"
#include "octet/kernels/registry.h"

namespace octet::detail {
namespace {

// ---- functors -------------------------------------------------------------------------------
// Each functor maps one element; cheap ones are worth threading only on large tensors.

// Negation that wraps for the most negative integer instead of overflowing.
template <class T>
T wrapping_neg(T x) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
    return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(x));
  else
    return -x;
}

// min/max form so that loops vectorize (maxps/minps).
template <class T>
T clamp01(T v) {
  return std::min(std::max(v, T(0)), T(1));
}

struct AbsOp : CheapFunctor {
  template <class T> T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
    else if constexpr (std::is_signed_v<T>) return x < 0 ? wrapping_neg(x) : x;
    else return x;
  }
};
struct NegOp : CheapFunctor {
  template <class T> T operator()(T x) const { return wrapping_neg(x); }
};
struct SignOp : CheapFunctor {
  template <class T> T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x > 0 ? T(1) : T(0);
    else return x > 0 ? T(1) : (x < 0 ? T(-1) : x);  // keeps 0 and NaN
  }
};
struct ReluOp : CheapFunctor {
  template <class T> T operator()(T x) const { return std::max(x, T(0)); }  // NaN stays NaN
};
struct FloorOp : CheapFunctor {
  template <class T> T operator()(T x) const { return std::floor(x); }
};
struct CeilOp : CheapFunctor {
  template <class T> T operator()(T x) const { return std::ceil(x); }
};
struct RoundOp : CheapFunctor {  // halves to even (the default rounding mode)
  template <class T> T operator()(T x) const { return std::nearbyint(x); }
};
struct ReciprocalOp : CheapFunctor {
  template <class T> T operator()(T x) const { return T(1) / x; }
};
struct SqrtOp : CheapFunctor {
  template <class T> T operator()(T x) const { return std::sqrt(x); }
};

#define OCTET_STD_UNARY(Name, fn) \
  struct Name : CostlyFunctor {          \
    template <class T> T operator()(T x) const { return std::fn(x); } \
  };
OCTET_STD_UNARY(ExpOp, exp)
OCTET_STD_UNARY(LogOp, log)
OCTET_STD_UNARY(SinOp, sin)
OCTET_STD_UNARY(CosOp, cos)
OCTET_STD_UNARY(TanOp, tan)
OCTET_STD_UNARY(AsinOp, asin)
OCTET_STD_UNARY(AcosOp, acos)
OCTET_STD_UNARY(AtanOp, atan)
OCTET_STD_UNARY(SinhOp, sinh)
OCTET_STD_UNARY(CoshOp, cosh)
OCTET_STD_UNARY(AsinhOp, asinh)
OCTET_STD_UNARY(AcoshOp, acosh)
OCTET_STD_UNARY(AtanhOp, atanh)
OCTET_STD_UNARY(ErfOp, erf)
#undef OCTET_STD_UNARY

struct TanhOp : CostlyFunctor {
  template <class T> T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>) {
      // tanh|x| = (1 - e) / (1 + e), e = exp(-2|x|), in double: accurate near 0 (1 - e keeps
      // ~1e-13 relative precision), no overflow, and several times faster than glibc's tanhf.
      const double e = std::exp(-2.0 * std::fabs(static_cast<double>(x)));
      return std::copysign(static_cast<float>((1.0 - e) / (1.0 + e)), x);
    } else {
      return std::tanh(x);
    }
  }
};
struct SigmoidOp : CostlyFunctor {
  template <class T> T operator()(T x) const {
    // exp of -|x| never overflows; sigmoid(-|x|) = e / (1 + e), sigmoid(|x|) = 1 / (1 + e).
    const T e = std::exp(-std::fabs(x));
    const T r = T(1) / (T(1) + e);
    return x >= T(0) ? r : e * r;
  }
};
struct SoftplusOp : CostlyFunctor {
  template <class T> T operator()(T x) const {
    // log(1 + e^x) without overflow for large x.
    return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  }
};
struct SoftsignOp : CheapFunctor {
  template <class T> T operator()(T x) const { return x / (T(1) + std::fabs(x)); }
};
struct MishOp : CostlyFunctor {
  template <class T> T operator()(T x) const { return x * std::tanh(SoftplusOp{}(x)); }
};
struct HardSwishOp : CheapFunctor {
  template <class T> T operator()(T x) const { return x * clamp01(x * T(1.0 / 6.0) + T(0.5)); }
  // The gate goes through a small buffer: fused into one loop, GCC turns the clamp into
  // branches (under -ftrapping-math) and the loop stays scalar.
  template <class T> void apply(const T* x, T* y, int64_t n) const {
    constexpr int64_t kBlock = 256;
    T gate[kBlock];
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t m = std::min(kBlock, n - b);
      for (int64_t i = 0; i < m; ++i) gate[i] = clamp01(x[b + i] * T(1.0 / 6.0) + T(0.5));
      for (int64_t i = 0; i < m; ++i) y[b + i] = x[b + i] * gate[i];
    }
  }
};
struct HardSigmoidOp : CheapFunctor {
  float alpha = 0.2f, beta = 0.5f;
  static HardSigmoidOp from(const Node& n) {
    HardSigmoidOp op;
    op.alpha = n.attr_f("alpha", 0.2f);
    op.beta = n.attr_f("beta", 0.5f);
    return op;
  }
  template <class T> T operator()(T x) const {
    return clamp01(T(alpha) * x + T(beta));
  }
};
struct LeakyReluOp : CheapFunctor {
  float alpha = 0.01f;
  static LeakyReluOp from(const Node& n) { return {{}, n.attr_f("alpha", 0.01f)}; }
  // max/min form: exact, NaN-preserving, and vectorizable (a select around the multiply is not,
  // under -ftrapping-math).
  template <class T> T operator()(T x) const { return std::max(x, T(0)) + T(alpha) * std::min(x, T(0)); }
};
struct EluOp : CostlyFunctor {
  float alpha = 1.0f;
  static EluOp from(const Node& n) { return {{}, n.attr_f("alpha", 1.0f)}; }
  template <class T> T operator()(T x) const { return x < T(0) ? T(alpha) * std::expm1(x) : x; }
};
struct SeluOp : CostlyFunctor {
  float alpha = 1.67326319217681884765625f, gamma = 1.05070102214813232421875f;
  static SeluOp from(const Node& n) {
    SeluOp op;
    op.alpha = n.attr_f("alpha", op.alpha);
    op.gamma = n.attr_f("gamma", op.gamma);
    return op;
  }
  template <class T> T operator()(T x) const {
    return x > T(0) ? T(gamma) * x : T(gamma) * T(alpha) * std::expm1(x);
  }
};
struct CeluOp : CostlyFunctor {
  float alpha = 1.0f;
  static CeluOp from(const Node& n) { return {{}, n.attr_f("alpha", 1.0f)}; }
  template <class T> T operator()(T x) const {
    return x > T(0) ? x : T(alpha) * std::expm1(x / T(alpha));
  }
};
struct ThresholdedReluOp : CheapFunctor {
  float alpha = 1.0f;
  static ThresholdedReluOp from(const Node& n) { return {{}, n.attr_f("alpha", 1.0f)}; }
  template <class T> T operator()(T x) const { return x > T(alpha) ? x : T(0); }
};
struct GeluOp : CostlyFunctor {
  bool tanh_form = false;
  static GeluOp from(const Node& n) {
    std::string a = n.attr_s("approximate", "none");
    if (a != "none" && a != "tanh")
      throw Error(n.label() + ": approximate must be 'none' or 'tanh', got '" + a + "'");
    return {{}, a == "tanh"};
  }
  template <class T> T operator()(T x) const {
    if (tanh_form) {
      const T k = T(0.7978845608028654);  // sqrt(2 / pi)
      return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
    }
    return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
  }
};
struct ShrinkOp : CheapFunctor {
  float bias = 0.0f, lambd = 0.5f;
  static ShrinkOp from(const Node& n) { return {{}, n.attr_f("bias", 0.0f), n.attr_f("lambd", 0.5f)}; }
  template <class T> T operator()(T x) const {
    const double v = static_cast<double>(x);
    double r = 0.0;
    if (v < -lambd) r = v + bias;
    else if (v > lambd) r = v - bias;
    return float_to_saturated<T>(r);
  }
};
struct IsNaNOp : CheapFunctor {
  template <class T> bool operator()(T x) const { return std::isnan(x); }
};
struct IsInfOp : CheapFunctor {
  bool positive = true, negative = true;
  static IsInfOp from(const Node& n) {
    return {{}, n.attr_i("detect_positive", 1) != 0, n.attr_i("detect_negative", 1) != 0};
  }
  template <class T> bool operator()(T x) const {
    return std::isinf(x) && (x > 0 ? positive : negative);
  }
};
struct NotOp : CheapFunctor {
  bool operator()(bool x) const { return !x; }
};
struct BitwiseNotOp : CheapFunctor {
  template <class T> T operator()(T x) const { return static_cast<T>(~x); }
};

// ---- kernels -------------------------------------------------------------------------------

// Functors may provide a whole-run apply(x, y, n) when the per-element form vectorizes badly.
template <class Op, class T, class = void>
struct HasApply : std::false_type {};
template <class Op, class T>
struct HasApply<Op, T, std::void_t<decltype(std::declval<const Op&>().apply(
                             std::declval<const T*>(), std::declval<T*>(), int64_t(0)))>> : std::true_type {};

template <class In, class Out, class Op>
class UnaryKernel final : public OpKernel {
 public:
  explicit UnaryKernel(Op op) : op_(op) {}
  void run(KernelContext& ctx) const override {
    const In* x = ctx.input(0).data_as<In>();
    Out* y = ctx.output(0).data_as<Out>();
    parallel_ranges(ctx.pool, ctx.output(0).numel(), Op::kGrain, [&](int64_t b, int64_t e) {
      const Op op = op_;  // a local copy: stores through y cannot alias its parameters
      if constexpr (std::is_same_v<In, Out> && HasApply<Op, In>::value) {
        op.apply(x + b, y + b, e - b);
      } else {
        for (int64_t i = b; i < e; ++i) y[i] = static_cast<Out>(op(x[i]));
      }
    });
  }

 private:
  Op op_;
};

// Output = input dtype (or bool when Predicate) and shape.
template <int Types, bool Predicate = false>
void infer_unary(NodeContext& c) {
  check_input_dtype(c, 0, Types);
  c.set_output(0, Predicate ? DType::boolean : c.input_dtype(0), c.input_shape(0));
}

template <class Op, int Types, bool Predicate = false>
std::unique_ptr<OpKernel> create_unary(const NodeContext& c) {
  Op op = make_functor<Op>(c.node());
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> k;
  auto build = [&](auto tag) {
    using T = decltype(tag);
    if constexpr (Predicate) k = std::make_unique<UnaryKernel<T, bool, Op>>(op);
    else k = std::make_unique<UnaryKernel<T, T, Op>>(op);
  };
  if (is_half(t)) {
    if constexpr ((Types & kFloatTypes) != 0) build(float{});
    return std::make_unique<ViaFloatKernel>(std::move(k), t);
  }
  if (!visit_dtype<Types>(t, build)) c.fail(std::string("unsupported dtype ") + dtype_name(t));
  return k;
}

template <class Op, int Types, bool Predicate = false>
void add_unary(OpRegistry& r, const char* name) {
  r.add(OpDef{"", name, infer_unary<Types, Predicate>, create_unary<Op, Types, Predicate>});
}

// ---- Gelu on f32: the kernel registry's gelu_f32 ----------------------------------------------

class GeluF32Kernel final : public OpKernel {
 public:
  GeluF32Kernel(const kernels::IsaChoice& isa, bool tanh_form)
      : fn_(kernels::kernel_registry(isa).gelu_f32), form_(tanh_form ? kernels::GeluForm::tanh : kernels::GeluForm::erf) {}
  std::string name() const override { return fn_.name; }
  void run(KernelContext& ctx) const override {
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    parallel_ranges(ctx.pool, ctx.output(0).numel(), GeluOp::kGrain,
                    [&](int64_t b, int64_t e) { fn_.run(x + b, y + b, e - b, form_); });
  }

 private:
  kernels::KernelEntry<kernels::GeluF32Fn> fn_;
  kernels::GeluForm form_;
};

std::unique_ptr<OpKernel> create_gelu(const NodeContext& c) {
  const GeluOp op = GeluOp::from(c.node());  // validates `approximate`
  if (c.input_dtype(0) == DType::f32) return std::make_unique<GeluF32Kernel>(c.isa(), op.tanh_form);
  return create_unary<GeluOp, kFloatTypes>(c);
}

// ---- Clip -----------------------------------------------------------------------------------
// min and max are optional scalar inputs, read at run time (they need not be constants).

template <class T>
class ClipKernel final : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if constexpr (std::is_floating_point_v<T>) {
      lo = -std::numeric_limits<T>::infinity();
      hi = std::numeric_limits<T>::infinity();
    }
    if (ctx.has_input(1)) lo = scalar(ctx.input(1), "min");
    if (ctx.has_input(2)) hi = scalar(ctx.input(2), "max");
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    parallel_ranges(ctx.pool, ctx.output(0).numel(), kElementwiseGrain, [&, lo, hi](int64_t b, int64_t e) {
      const T l = lo, h = hi;
      for (int64_t i = b; i < e; ++i) y[i] = std::min(std::max(x[i], l), h);  // min > max gives max (spec)
    });
  }

 private:
  static T scalar(const Tensor& t, const char* what) {
    if (t.numel() != 1)
      throw Error(std::string("Clip: ") + what + " must hold one element, got shape " + shape_str(t.shape()));
    return *t.data_as<T>();
  }
};

void infer_clip(NodeContext& c) {
  check_input_dtype(c, 0, kNumericTypes);
  for (size_t i = 1; i < 3; ++i) {
    if (!c.has_input(i)) continue;
    check_same_dtype(c, i);
    c.check(shape_numel(c.input_shape(i)) == 1,
            std::string(i == 1 ? "min" : "max") + " must be a scalar, got shape " + shape_str(c.input_shape(i)));
  }
  c.set_output(0, c.input_dtype(0), c.input_shape(0));
}

std::unique_ptr<OpKernel> create_clip(const NodeContext& c) {
  DType t = c.input_dtype(0);
  std::unique_ptr<OpKernel> k;
  auto build = [&](auto tag) { k = std::make_unique<ClipKernel<decltype(tag)>>(); };
  if (is_half(t)) {
    build(float{});
    return std::make_unique<ViaFloatKernel>(std::move(k), t);
  }
  visit_dtype<kNumericTypes>(t, build);
  return k;
}

// ---- Identity, Dropout ----------------------------------------------------------------------

class CopyKernel final : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.data() != x.data() && x.nbytes() > 0) std::memcpy(y.data(), x.data(), x.nbytes());
  }
};

// Identity also passes a static sequence or an empty optional through (the compiler lets it
// take them).
void infer_identity(NodeContext& c) {
  DType t = c.input_dtype(0);
  c.check(dtype_size(t) > 0, std::string("unsupported dtype ") + dtype_name(t) + " for input 0");
  const Value& x = c.input(0);
  if (x.is_none)
    set_none_output(c, 0, t, x.is_sequence);
  else if (x.is_sequence)
    set_sequence_output(c, 0, t, x.seq_shapes);
  else
    c.set_output(0, t, c.input_shape(0));
}

std::unique_ptr<OpKernel> create_identity(const NodeContext&) { return std::make_unique<CopyKernel>(); }

// Inference Dropout is the identity with an all-true mask. Training mode is random unless the
// ratio is 0, so it is accepted only then (checked at run time when the inputs are not
// constants).
class DropoutKernel final : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    if (ctx.has_input(2) && ctx.input(2).numel() == 1 && *ctx.input(2).data_as<bool>()) {
      double ratio = ctx.has_input(1) ? tensor_scalar(ctx.input(1)) : 0.5;
      if (ratio != 0.0)
        throw Error("Dropout with training_mode=true and ratio " + std::to_string(ratio) +
                    " is random: only inference (or ratio 0) is supported");
    }
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.data() != x.data() && x.nbytes() > 0) std::memcpy(y.data(), x.data(), x.nbytes());
    if (ctx.has_output(1)) {
      Tensor& mask = ctx.output(1);
      std::memset(mask.data(), 1, mask.nbytes());
    }
  }
};

void infer_dropout(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  if (c.has_input(1)) {
    check_input_dtype(c, 1, kFloatTypes);
    c.check(shape_numel(c.input_shape(1)) == 1, "ratio must be a scalar");
  }
  if (c.has_input(2)) {
    c.check(c.input_dtype(2) == DType::boolean && shape_numel(c.input_shape(2)) == 1,
            "training_mode must be a bool scalar");
    const Tensor* training = c.input_const(2);
    const Tensor* ratio = c.input_const(1);
    if (training != nullptr && *training->data_as<bool>()) {
      double r = 0.5;
      if (c.has_input(1)) {
        c.check(ratio != nullptr, "training_mode=true needs a constant ratio of 0 (training Dropout is random)");
        r = tensor_scalar(*ratio);
      }
      c.check(r == 0.0, "training_mode=true with ratio " + std::to_string(r) +
                            " is random: only inference (or ratio 0) is supported");
    }
  }
  c.set_output(0, c.input_dtype(0), c.input_shape(0));
  c.set_output(1, DType::boolean, c.input_shape(0));
}

std::unique_ptr<OpKernel> create_dropout(const NodeContext&) { return std::make_unique<DropoutKernel>(); }

}  // namespace

void register_elementwise_unary_ops(OpRegistry& r) {
  constexpr int F = kFloatTypes;
  add_unary<AbsOp, kNumericTypes>(r, "Abs");
  add_unary<NegOp, kFloatTypes | kSignedTypes>(r, "Neg");
  add_unary<SignOp, kNumericTypes>(r, "Sign");
  add_unary<ReluOp, kFloatTypes | kSignedTypes>(r, "Relu");
  add_unary<FloorOp, F>(r, "Floor");
  add_unary<CeilOp, F>(r, "Ceil");
  add_unary<RoundOp, F>(r, "Round");
  add_unary<ReciprocalOp, F>(r, "Reciprocal");
  add_unary<SqrtOp, F>(r, "Sqrt");
  add_unary<ExpOp, F>(r, "Exp");
  add_unary<LogOp, F>(r, "Log");
  add_unary<SinOp, F>(r, "Sin");
  add_unary<CosOp, F>(r, "Cos");
  add_unary<TanOp, F>(r, "Tan");
  add_unary<AsinOp, F>(r, "Asin");
  add_unary<AcosOp, F>(r, "Acos");
  add_unary<AtanOp, F>(r, "Atan");
  add_unary<SinhOp, F>(r, "Sinh");
  add_unary<CoshOp, F>(r, "Cosh");
  add_unary<AsinhOp, F>(r, "Asinh");
  add_unary<AcoshOp, F>(r, "Acosh");
  add_unary<AtanhOp, F>(r, "Atanh");
  add_unary<TanhOp, F>(r, "Tanh");
  add_unary<ErfOp, F>(r, "Erf");
  add_unary<SigmoidOp, F>(r, "Sigmoid");
  add_unary<HardSigmoidOp, F>(r, "HardSigmoid");
  add_unary<HardSwishOp, F>(r, "HardSwish");
  add_unary<SoftplusOp, F>(r, "Softplus");
  add_unary<SoftsignOp, F>(r, "Softsign");
  add_unary<MishOp, F>(r, "Mish");
  r.add(OpDef{"", "Gelu", infer_unary<F>, create_gelu});
  r.add(OpDef{"com.microsoft", "Gelu", infer_unary<F>, create_gelu});  // ORT contrib, exact form
  add_unary<LeakyReluOp, F>(r, "LeakyRelu");
  add_unary<EluOp, F>(r, "Elu");
  add_unary<SeluOp, F>(r, "Selu");
  add_unary<CeluOp, F>(r, "Celu");
  add_unary<ThresholdedReluOp, F>(r, "ThresholdedRelu");
  add_unary<ShrinkOp, kNumericTypes>(r, "Shrink");
  add_unary<IsNaNOp, F, true>(r, "IsNaN");
  add_unary<IsInfOp, F, true>(r, "IsInf");
  add_unary<NotOp, kBoolType>(r, "Not");
  add_unary<BitwiseNotOp, kIntTypes>(r, "BitwiseNot");
  r.add(OpDef{"", "Clip", infer_clip, create_clip});
  r.add(OpDef{"", "Identity", infer_identity, create_identity});
  r.add(OpDef{"", "Dropout", infer_dropout, create_dropout});
}

float hardswish_reference(float x) { return HardSwishOp{}(x); }

}  // namespace octet::detail
