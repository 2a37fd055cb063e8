// The linear-algebra op family is split over several files; det.cc's register_linalg_ops
// calls the others' registration.
#pragma once

#include "ops/op_registry.h"

namespace octet::detail {
void register_einsum_ops(OpRegistry& r);  // Einsum (einsum.cc)
}  // namespace octet::detail
