// The control-flow family (If, Loop, Scan, SequenceMap): ops whose attributes hold subgraphs.
#pragma once

#include "ops/op_registry.h"

namespace octet::detail {

void register_if_op(OpRegistry& r);
void register_loop_op(OpRegistry& r);
void register_scan_op(OpRegistry& r);
void register_sequence_map_op(OpRegistry& r);

}  // namespace octet::detail
