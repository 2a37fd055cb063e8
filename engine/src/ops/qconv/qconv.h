// INT8 convolution (QLinearConv, octet.QLinearConvNhwc): an ordered list of implementations
// (qconv_impls.cc), each saying why it declines a node, ending in the reference kernel for
// QLinearConv (qconv_reference.cc) and in an Error for octet.QLinearConvNhwc (the layout pass
// makes that op only where an implementation accepts it).
#pragma once

#include <memory>

#include "ops/op_registry.h"

namespace octet::detail {

// QLinearConv's kernel: the first implementation that accepts the node.
std::unique_ptr<OpKernel> create_qlinear_conv_kernel(const NodeContext& ctx);
// The reference kernel at the end of that list (qconv_reference.cc).
std::unique_ptr<OpKernel> create_qlinear_conv_reference(const NodeContext& ctx);

// Whether a QLinearConv node can run as octet.QLinearConvNhwc (the same inputs and
// attributes, input and output [N, H, W, C]): 2-D and an implementation of that op accepts
// it. The layout pass asks this.
bool qlinear_conv_has_channels_last_kernel(const NodeContext& ctx);
void register_qlinear_conv_nhwc_op(OpRegistry& r);

}  // namespace octet::detail
