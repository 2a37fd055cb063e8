// Element-wise comparison of an output tensor with its reference, as numpy.allclose does it:
// |actual - expected| <= atol + rtol * |expected|, NaN equal to NaN, infinities equal when
// their signs agree. Shared by octet_run and the conformance runner (header-only).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "octet/octet.h"

namespace octet::tools {

inline float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FFu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float bfloat16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Element i of a tensor as double (int64 beyond 2^53 loses precision; comparisons of integer
// tensors use exact_equal instead).
inline double element_as_double(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data_as<float>()[i];
    case DType::f64: return t.data_as<double>()[i];
    case DType::f16: return half_to_float(t.data_as<uint16_t>()[i]);
    case DType::bf16: return bfloat16_to_float(t.data_as<uint16_t>()[i]);
    case DType::u8: return t.data_as<uint8_t>()[i];
    case DType::s8: return t.data_as<int8_t>()[i];
    case DType::u16: return t.data_as<uint16_t>()[i];
    case DType::s16: return t.data_as<int16_t>()[i];
    case DType::s32: return t.data_as<int32_t>()[i];
    case DType::s64: return static_cast<double>(t.data_as<int64_t>()[i]);
    case DType::u32: return t.data_as<uint32_t>()[i];
    case DType::u64: return static_cast<double>(t.data_as<uint64_t>()[i]);
    case DType::boolean: return t.data_as<uint8_t>()[i] != 0;
    default: return std::numeric_limits<double>::quiet_NaN();
  }
}

inline bool is_float_dtype(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

struct Comparison {
  std::string problem;  // non-empty when dtype or shape differ: nothing else is meaningful
  int64_t count = 0;    // elements compared
  int64_t mismatches = 0;
  double max_abs = 0;  // over finite differences
  double max_rel = 0;  // |a-b| / |b| where b != 0
  bool ok() const { return problem.empty() && mismatches == 0; }
};

inline Comparison compare_tensors(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  Comparison c;
  if (actual.dtype() != expected.dtype()) {
    c.problem = std::string("dtype ") + dtype_name(actual.dtype()) + ", expected " + dtype_name(expected.dtype());
    return c;
  }
  if (actual.shape() != expected.shape()) {
    c.problem = "shape " + shape_str(actual.shape()) + ", expected " + shape_str(expected.shape());
    return c;
  }
  c.count = expected.numel();
  if (expected.dtype() == DType::string) {  // exact, element by element
    for (int64_t i = 0; i < c.count; ++i)
      if (actual.data_as<std::string>()[i] != expected.data_as<std::string>()[i]) ++c.mismatches;
    return c;
  }
  const bool is_float = is_float_dtype(expected.dtype());
  const bool bytes_exact = !is_float;  // integers and bool: exact (atol < 1 makes allclose exact)
  const size_t esize = dtype_size(expected.dtype());
  for (int64_t i = 0; i < c.count; ++i) {
    if (bytes_exact) {
      const char* a = static_cast<const char*>(actual.data()) + i * esize;
      const char* b = static_cast<const char*>(expected.data()) + i * esize;
      bool equal = expected.dtype() == DType::boolean ? ((*a != 0) == (*b != 0)) : std::memcmp(a, b, esize) == 0;
      if (!equal) {
        ++c.mismatches;
        const double d = std::fabs(element_as_double(actual, i) - element_as_double(expected, i));
        c.max_abs = std::max(c.max_abs, d);
        const double eb = std::fabs(element_as_double(expected, i));
        if (eb > 0) c.max_rel = std::max(c.max_rel, d / eb);
      }
      continue;
    }
    const double a = element_as_double(actual, i), b = element_as_double(expected, i);
    if (std::isnan(a) || std::isnan(b)) {
      if (!(std::isnan(a) && std::isnan(b))) ++c.mismatches;
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b) ++c.mismatches;
      continue;
    }
    const double d = std::fabs(a - b);
    c.max_abs = std::max(c.max_abs, d);
    if (b != 0) c.max_rel = std::max(c.max_rel, d / std::fabs(b));
    if (!(d <= atol + rtol * std::fabs(b))) ++c.mismatches;
  }
  return c;
}

}  // namespace octet::tools
