#include "ops/op_registry.h"

namespace octet::detail {

const OpRegistry& OpRegistry::instance() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_conv_ops(r);
    register_matmul_ops(r);
    register_pool_ops(r);
    register_norm_ops(r);
    register_resize_ops(r);
    register_quant_ops(r);
    register_elementwise_ops(r);
    register_shape_ops(r);
    register_reduce_ops(r);
    register_layout_ops(r);
    register_loss_ops(r);
    register_linalg_ops(r);
    register_signal_ops(r);
    register_detection_ops(r);
    register_text_ops(r);
    register_recurrent_ops(r);
    register_control_flow_ops(r);
    register_sequence_ops(r);
    register_optional_ops(r);
    return r;
  }();
  return registry;
}

}  // namespace octet::detail
