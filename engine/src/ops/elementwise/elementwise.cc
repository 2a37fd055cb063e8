// The elementwise op family: unary math and activations (elementwise_unary.cc), binary ops
// with broadcasting, variadic ops and Where (elementwise_binary.cc).
#include "ops/elementwise/elementwise_util.h"

namespace octet::detail {

void register_elementwise_ops(OpRegistry& r) {
  register_elementwise_unary_ops(r);
  register_elementwise_binary_ops(r);
}

}  // namespace octet::detail
