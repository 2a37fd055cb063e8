// The depthwise INT8 plane kernel built with this folder's ISA flags (see dwconv_u8s8_impl.h).
#include "ref/dwconv_u8s8_impl.h"

namespace octet::kernels {

void dwconv_u8s8_ref(const DwConvU8S8Plane& p, void* scratch) { detail::dwconv_u8s8_plane_impl(p, scratch); }

}  // namespace octet::kernels
