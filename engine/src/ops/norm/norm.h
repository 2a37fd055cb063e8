// The norm op family is split over two files; norm.cc's register_norm_ops calls this.
#pragma once

#include "ops/op_registry.h"

namespace octet::detail {
// Softmax, LogSoftmax, Hardmax (norm_softmax.cc).
void register_norm_softmax_ops(OpRegistry& r);
}  // namespace octet::detail
