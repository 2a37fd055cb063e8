// The object-detection op family: NonMaxSuppression (non_max_suppression.cc) and RoiAlign
// (roi_align.cc).
#pragma once

#include "ops/op_registry.h"

namespace octet::detail {

// Called by register_detection_ops (detection.cc).
void register_non_max_suppression_ops(OpRegistry& r);  // non_max_suppression.cc
void register_roi_align_ops(OpRegistry& r);            // roi_align.cc

}  // namespace octet::detail
