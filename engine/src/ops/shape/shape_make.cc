// Ops that make or convert values: Cast, CastLike, ConstantOfShape, Range, EyeLike.
//
// Cast rules: int -> int wraps like C++ static_cast (two's complement, as numpy); float ->
// int truncates toward zero and saturates at the target's range (NaN -> 0; ONNX leaves
// out-of-range values undefined, saturation keeps it defined); anything -> bool is `!= 0`;
// f16 rounds to nearest even through float; float -> bf16 keeps the upper 16 bits (truncation),
// which is what the ONNX reference implementation and its Cast test data do for opsets 13-18
// (opset 19's Cast is where rounding rules for 8/16-bit floats were spelled out).
// Strings: to and from every numeric dtype but bool, with the text rules of ops/text/text_util.h
// (numpy's str of the value, as the ONNX reference); string -> string copies.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/shape/shape_util.h"
#include "ops/text/text_util.h"

namespace octet::detail {
namespace {

template <class D, class S>
D cast_value(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    return v != S(0);
  } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    if (std::isnan(v)) return D(0);
    constexpr S lo = static_cast<S>(std::numeric_limits<D>::min());
    constexpr S hi = static_cast<S>(std::numeric_limits<D>::max());
    if (v <= lo) return std::numeric_limits<D>::min();
    if (v >= hi) return std::numeric_limits<D>::max();
    return static_cast<D>(v);
  } else {
    return static_cast<D>(v);
  }
}

bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }

uint16_t float_to_bf16_truncate(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // keep NaN a NaN
  return uint16_t(u >> 16);
}

bool castable(DType t) {
  if (is_half(t)) return true;
  bool ok = true;
  visit_numeric(t, [](auto) {}, [&] { ok = false; });
  return ok;
}

}  // namespace

void cast_elements(DType from, const void* src, DType to, void* dst, int64_t n) {
  if (n <= 0) return;
  if (from == to) {
    std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(from));
    return;
  }
  // Half types go through float, in chunks to bound the temporary.
  if (is_half(from) || is_half(to)) {
    constexpr int64_t kChunk = 4096;
    float tmp[kChunk];
    for (int64_t b = 0; b < n; b += kChunk) {
      int64_t m = std::min(kChunk, n - b);
      if (is_half(from)) {
        const uint16_t* h = static_cast<const uint16_t*>(src) + b;
        for (int64_t i = 0; i < m; ++i) tmp[i] = from == DType::f16 ? half_to_float(h[i]) : bf16_to_float(h[i]);
      } else {
        cast_elements(from, static_cast<const char*>(src) + b * int64_t(dtype_size(from)), DType::f32, tmp, m);
      }
      if (is_half(to)) {
        uint16_t* h = static_cast<uint16_t*>(dst) + b;
        for (int64_t i = 0; i < m; ++i) h[i] = to == DType::f16 ? float_to_half(tmp[i]) : float_to_bf16_truncate(tmp[i]);
      } else {
        cast_elements(DType::f32, tmp, to, static_cast<char*>(dst) + b * int64_t(dtype_size(to)), m);
      }
    }
    return;
  }
  auto unsupported = [&] {
    throw Error(std::string("Cast: unsupported conversion ") + dtype_name(from) + " -> " + dtype_name(to));
  };
  visit_numeric(
      from,
      [&](auto s_tag) {
        using S = decltype(s_tag);
        const S* s = static_cast<const S*>(src);
        visit_numeric(
            to,
            [&](auto d_tag) {
              using D = decltype(d_tag);
              D* d = static_cast<D*>(dst);
              for (int64_t i = 0; i < n; ++i) d[i] = cast_value<D>(s[i]);
            },
            unsupported);
      },
      unsupported);
}

namespace {

// --- Cast / CastLike ------------------------------------------------------------------------

DType dtype_from_onnx(const NodeContext& ctx, int64_t code, const char* what) {
  DType t = static_cast<DType>(code);
  switch (t) {
    case DType::f32: case DType::u8: case DType::s8: case DType::u16: case DType::s16: case DType::s32:
    case DType::s64: case DType::boolean: case DType::f16: case DType::f64: case DType::u32: case DType::u64:
    case DType::bf16:
      return t;
    default: break;
  }
  ctx.fail(std::string("unsupported dtype ") + (code == 8 ? "string" : std::to_string(code)) + " for " + what);
}

void check_castable_input(const NodeContext& ctx, size_t i) {
  if (!castable(ctx.input_dtype(i)) && ctx.input_dtype(i) != DType::string)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(i)) + " for input " + std::to_string(i));
}

// A conversion from or to string must be one string_castable covers (bool is not).
void check_string_conversion(const NodeContext& ctx, DType from, DType to) {
  if (from != DType::string && to != DType::string) return;
  const DType other = from == DType::string ? to : from;
  if (other != DType::string && !string_castable(other))
    ctx.fail(std::string("unsupported conversion ") + dtype_name(from) + " -> " + dtype_name(to) +
             ": strings convert to and from numeric dtypes only");
}

void infer_cast(NodeContext& ctx) {
  check_castable_input(ctx, 0);
  if (!ctx.node().has_attr("to")) ctx.fail("the 'to' attribute is required");
  const int64_t code = ctx.node().attr_i("to", 0);
  const DType to = code == static_cast<int64_t>(DType::string) ? DType::string
                                                               : dtype_from_onnx(ctx, code, "attribute 'to'");
  check_string_conversion(ctx, ctx.input_dtype(0), to);
  ctx.set_output(0, to, ctx.input_shape(0));
}

void infer_cast_like(NodeContext& ctx) {
  check_castable_input(ctx, 0);
  check_castable_input(ctx, 1);
  check_string_conversion(ctx, ctx.input_dtype(0), ctx.input_dtype(1));
  ctx.set_output(0, ctx.input_dtype(1), ctx.input_shape(0));
}

class CastKernel : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (x.dtype() == DType::string && y.dtype() == DType::string)
      std::copy(x.data_as<std::string>(), x.data_as<std::string>() + x.numel(), y.data_as<std::string>());
    else if (x.dtype() == DType::string)
      strings_to_numbers(x.data_as<std::string>(), y.dtype(), y.data(), x.numel());
    else if (y.dtype() == DType::string)
      numbers_to_strings(x.dtype(), x.data(), y.data_as<std::string>(), x.numel());
    else
      cast_elements(x.dtype(), x.data(), y.dtype(), y.data(), x.numel());
  }
};

std::unique_ptr<OpKernel> create_cast(const NodeContext&) { return std::make_unique<CastKernel>(); }

// --- ConstantOfShape ------------------------------------------------------------------------

Tensor constant_of_shape_value(const NodeContext& ctx) {
  const Attribute* a = ctx.node().attr("value");
  if (!a) return Tensor(DType::f32, {1});  // default: float 0
  if (a->kind != Attribute::Kind::tensor) ctx.fail("attribute 'value' must be a tensor");
  if (a->t.numel() != 1) ctx.fail("attribute 'value' must hold one element");
  if (dtype_size(a->t.dtype()) == 0)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(a->t.dtype()) + " for attribute 'value'");
  return a->t;
}

Shape constant_of_shape_dims(const NodeContext& ctx) {
  if (ctx.input_shape(0).size() != 1) ctx.fail("the shape input must be 1-D");
  Shape out = const_input_ints(ctx, 0, "ConstantOfShape's input");
  for (int64_t d : out)
    if (d < 0) ctx.fail("negative dimension " + std::to_string(d));
  return out;
}

void infer_constant_of_shape(NodeContext& ctx) {
  ctx.set_output(0, constant_of_shape_value(ctx).dtype(), constant_of_shape_dims(ctx));
}

class FillKernel : public OpKernel {
 public:
  explicit FillKernel(Tensor value) : value_(std::move(value)) {}
  void run(KernelContext& ctx) const override {
    Tensor& y = ctx.output(0);
    fill_elements(y.data(), y.numel(), value_.data(), dtype_size(value_.dtype()));
  }

 private:
  Tensor value_;
};

std::unique_ptr<OpKernel> create_constant_of_shape(const NodeContext& ctx) {
  return std::make_unique<FillKernel>(constant_of_shape_value(ctx));
}

// --- Range ----------------------------------------------------------------------------------

int64_t range_count(const NodeContext& ctx) {
  DType t = ctx.input_dtype(0);
  if (t != DType::f32 && t != DType::f64 && t != DType::s16 && t != DType::s32 && t != DType::s64)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for input 0");
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.input_dtype(i) != t) ctx.fail("start, limit and delta must have the same dtype");
    const Tensor& v = require_const_input(ctx, i, "Range's inputs");
    if (v.numel() != 1) ctx.fail("start, limit and delta must be scalars");
  }
  if (t == DType::f32 || t == DType::f64) {
    double start = tensor_scalar(*ctx.input_const(0)), limit = tensor_scalar(*ctx.input_const(1)),
           delta = tensor_scalar(*ctx.input_const(2));
    if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta))
      ctx.fail("delta must be non-zero and the bounds finite");
    double n = std::ceil((limit - start) / delta);
    if (n > 1e12) ctx.fail("the range is absurdly long");
    return n > 0 ? static_cast<int64_t>(n) : 0;
  }
  int64_t start = tensor_to_int64s(*ctx.input_const(0))[0], limit = tensor_to_int64s(*ctx.input_const(1))[0],
          delta = tensor_to_int64s(*ctx.input_const(2))[0];
  if (delta == 0) ctx.fail("delta must be non-zero");
  // Values come from s16/s32/s64 inputs; in int64 only an s64 span can overflow.
  __int128 span = static_cast<__int128>(limit) - start;
  __int128 n = delta > 0 ? (span + delta - 1) / delta : (span + delta + 1) / delta;
  if (n > (__int128(1) << 40)) ctx.fail("the range is absurdly long");
  return n > 0 ? static_cast<int64_t>(n) : 0;
}

void infer_range(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), {range_count(ctx)}); }

class RangeKernel : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    Tensor& y = ctx.output(0);
    visit_numeric(
        y.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          if constexpr (!std::is_same_v<T, bool>) {
            T start = *ctx.input(0).data_as<T>(), delta = *ctx.input(2).data_as<T>();
            T* out = y.data_as<T>();
            for (int64_t i = 0; i < y.numel(); ++i) out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
          }
        },
        [] {});
  }
};

std::unique_ptr<OpKernel> create_range(const NodeContext&) { return std::make_unique<RangeKernel>(); }

// --- EyeLike --------------------------------------------------------------------------------

DType eye_like_dtype(const NodeContext& ctx) {
  if (ctx.input_shape(0).size() != 2) ctx.fail("expected a 2-D input");
  DType t = ctx.node().has_attr("dtype") ? dtype_from_onnx(ctx, ctx.node().attr_i("dtype", 1), "attribute 'dtype'")
                                         : ctx.input_dtype(0);
  if (!castable(t)) ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for the output");
  return t;
}

void infer_eye_like(NodeContext& ctx) { ctx.set_output(0, eye_like_dtype(ctx), ctx.input_shape(0)); }

class EyeLikeKernel : public OpKernel {
 public:
  explicit EyeLikeKernel(int64_t k) : k_(k) {}
  void run(KernelContext& ctx) const override {
    Tensor& y = ctx.output(0);
    const size_t e = dtype_size(y.dtype());
    if (y.numel() == 0) return;
    std::memset(y.data(), 0, y.nbytes());
    float one_f = 1.0f;
    char one[16];
    cast_elements(DType::f32, &one_f, y.dtype(), one, 1);
    const int64_t rows = y.shape()[0], cols = y.shape()[1];
    char* out = static_cast<char*>(y.data());
    for (int64_t i = 0; i < rows; ++i) {
      int64_t j = i + k_;
      if (j >= 0 && j < cols) std::memcpy(out + (i * cols + j) * int64_t(e), one, e);
    }
  }

 private:
  int64_t k_;
};

std::unique_ptr<OpKernel> create_eye_like(const NodeContext& ctx) {
  int64_t k = ctx.node().attr_i("k", 0);
  k = std::max<int64_t>(std::min<int64_t>(k, INT64_MAX / 2), INT64_MIN / 2);  // i + k cannot overflow
  return std::make_unique<EyeLikeKernel>(k);
}

}  // namespace

void register_shape_make_ops(OpRegistry& r) {
  OpDef cast{"", "Cast", infer_cast, create_cast};
  cast.strings = true;  // to / from string
  r.add(cast);
  OpDef cast_like{"", "CastLike", infer_cast_like, create_cast};
  cast_like.strings = true;
  r.add(cast_like);
  r.add(OpDef{"", "ConstantOfShape", infer_constant_of_shape, create_constant_of_shape});
  r.add(OpDef{"", "Range", infer_range, create_range});
  r.add(OpDef{"", "EyeLike", infer_eye_like, create_eye_like});
}

}  // namespace octet::detail
