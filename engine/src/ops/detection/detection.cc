// The detection family's registration.
#include "ops/detection/detection.h"

namespace octet::detail {

void register_detection_ops(OpRegistry& r) {
  register_non_max_suppression_ops(r);
  register_roi_align_ops(r);
}

}  // namespace octet::detail
