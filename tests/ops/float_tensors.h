// Tensors written and read as plain values, for op tests that build graphs through the public
// API (control flow, sequences, optionals).
#pragma once

#include <cstdint>
#include <vector>

#include "octet/octet.h"

namespace octet::testing {

inline Tensor f32(Shape shape, std::vector<float> v) {
  Tensor t(DType::f32, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data_as<float>()[i] = v[i];
  return t;
}

inline Tensor boolean(bool b) {
  Tensor t(DType::boolean, {});
  *static_cast<uint8_t*>(t.data()) = b ? 1 : 0;
  return t;
}

inline std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data_as<float>(), t.data_as<float>() + t.numel());
}

}  // namespace octet::testing
