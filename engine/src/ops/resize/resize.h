// The resize op family is split over two files; resize.cc's register_resize_ops calls this.
#pragma once

#include "ops/op_registry.h"

namespace octet::detail {
void register_grid_sample_ops(OpRegistry& r);  // GridSample (grid_sample.cc)
}  // namespace octet::detail
