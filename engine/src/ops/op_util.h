// Small helpers shared by the reference operators: dtype dispatch, axes, broadcasting.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ops/op_registry.h"

namespace octet::detail {

// IEEE half / bfloat16 conversions (round to nearest even), for f16/bf16 tensors.
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
inline float bf16_to_float(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bf16(float f);

// Calls fn(T{}) with T the C++ type of dtype, for the numeric dtypes listed in the name;
// otherwise calls on_other(). f16/bf16 are not C++ arithmetic types and are not dispatched.
template <class Fn, class Other>
void visit_numeric(DType t, Fn&& fn, Other&& on_other) {
  switch (t) {
    case DType::f32: fn(float{}); break;
    case DType::f64: fn(double{}); break;
    case DType::s8: fn(int8_t{}); break;
    case DType::u8: fn(uint8_t{}); break;
    case DType::s16: fn(int16_t{}); break;
    case DType::u16: fn(uint16_t{}); break;
    case DType::s32: fn(int32_t{}); break;
    case DType::u32: fn(uint32_t{}); break;
    case DType::s64: fn(int64_t{}); break;
    case DType::u64: fn(uint64_t{}); break;
    case DType::boolean: fn(bool{}); break;
    default: on_other(); break;
  }
}

// A tensor's values as int64 (for shape-like inputs: s32/s64 and other integer types).
std::vector<int64_t> tensor_to_int64s(const Tensor& t);
// A tensor's values as float (any numeric dtype, f16 and bf16 included).
std::vector<float> tensor_to_floats(const Tensor& t);
// Scalar helpers for one-element tensors.
double tensor_scalar(const Tensor& t);

// Normalises a possibly negative axis into [0, rank); fails through ctx when out of range.
int64_t normalize_axis(const NodeContext& ctx, int64_t axis, int64_t rank);

// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& s);

// Numpy multidirectional broadcasting of two shapes; false when incompatible.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape* out);

// For an output index space `out` and an input shape broadcast into it, the input's strides
// aligned to out's rank (0 where the input is broadcast).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

}  // namespace octet::detail
