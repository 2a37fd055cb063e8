// The channels-last depthwise INT8 kernel built with this folder's ISA flags (see
// dwconv_nhwc_u8s8_impl.h).
#include "ref/dwconv_nhwc_u8s8_impl.h"

namespace octet::kernels {

void dwconv_nhwc_u8s8_ref(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch) {
  detail::dwconv_nhwc_u8s8_impl(p, oh0, oh1, scratch);
}

}  // namespace octet::kernels
