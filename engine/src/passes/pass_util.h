// Small graph queries shared by the passes.
#pragma once

#include <cstddef>

#include "octet/graph/graph.h"

namespace octet::detail {

// Input i of node n as a constant one-element tensor (any dtype): true with *scalar (when
// given) the tensor, or null when the input is omitted; false when the input is there but is
// not a constant scalar.
inline bool const_scalar(const Graph& g, const Node& n, size_t i, const Tensor** scalar = nullptr) {
  const Tensor* t = nullptr;
  if (i < n.inputs.size() && n.inputs[i] >= 0) {
    const Value& v = g.values[n.inputs[i]];
    if (!v.is_const || v.data.numel() != 1) return false;
    t = &v.data;
  }
  if (scalar) *scalar = t;
  return true;
}

}  // namespace octet::detail
