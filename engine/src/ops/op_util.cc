#include "ops/op_util.h"

#include <algorithm>
#include <cmath>

namespace octet::detail {

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u)  // inf or nan
    return uint16_t(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
  if (absx >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds to inf
  if (absx < 0x38800000u) {                                 // subnormal or zero in half
    float a;
    std::memcpy(&a, &absx, 4);
    // Scale so the half subnormal unit becomes 1, then round to nearest even.
    float scaled = a * 16777216.0f;  // 2^24
    uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return uint16_t(sign | m);
  }
  uint32_t mant = absx & 0x7fffff;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return uint16_t(sign | h);
}

uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet nan
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

std::vector<int64_t> tensor_to_int64s(const Tensor& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  bool ok = true;
  visit_numeric(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data_as<T>();
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(p[i]);
      },
      [&] { ok = false; });
  if (!ok) throw Error(std::string("expected an integer tensor, got ") + dtype_name(t.dtype()));
  return out;
}

std::vector<float> tensor_to_floats(const Tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::f16 || t.dtype() == DType::bf16) {
    const uint16_t* p = t.data_as<uint16_t>();
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = t.dtype() == DType::f16 ? half_to_float(p[i]) : bf16_to_float(p[i]);
    return out;
  }
  bool ok = true;
  visit_numeric(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data_as<T>();
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(p[i]);
      },
      [&] { ok = false; });
  if (!ok) throw Error(std::string("expected a numeric tensor, got ") + dtype_name(t.dtype()));
  return out;
}

double tensor_scalar(const Tensor& t) {
  if (t.numel() != 1) throw Error("expected a one-element tensor, got shape " + shape_str(t.shape()));
  if (t.dtype() == DType::f64) return *t.data_as<double>();
  if (t.dtype() == DType::s64) return static_cast<double>(*t.data_as<int64_t>());
  return tensor_to_floats(t)[0];
}

int64_t normalize_axis(const NodeContext& ctx, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t i = static_cast<int64_t>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

bool broadcast_shapes(const Shape& a, const Shape& b, Shape* out) {
  size_t r = std::max(a.size(), b.size());
  Shape o(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) o[i] = da;
    else if (da == 1) o[i] = db;
    else return false;
  }
  *out = std::move(o);
  return true;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  std::vector<int64_t> in_st = strides_of(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : in_st[i];
  return st;
}

}  // namespace octet::detail
