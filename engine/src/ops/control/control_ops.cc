#include "ops/control/control_ops.h"

namespace octet::detail {

void register_control_flow_ops(OpRegistry& r) {
  register_if_op(r);
  register_loop_op(r);
  register_scan_op(r);
  register_sequence_map_op(r);
}

}  // namespace octet::detail
