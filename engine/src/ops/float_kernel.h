// The kernel of a float op for a node's dtype: make(T{}) with T = float or double, and for
// f16 / bf16 the f32 kernel run through ViaFloatKernel (widened in, narrowed out).
#pragma once

#include <memory>

#include "ops/elementwise/elementwise_util.h"

namespace octet::detail {

// Null when t is not a float dtype (the op's inference has refused it already).
template <class Make>
std::unique_ptr<OpKernel> make_float_kernel(DType t, Make&& make) {
  if (is_half(t)) return std::make_unique<ViaFloatKernel>(make(float{}), t);
  std::unique_ptr<OpKernel> k;
  visit_dtype<kFloatTypes>(t, [&](auto tag) { k = make(tag); });
  return k;
}

}  // namespace octet::detail
