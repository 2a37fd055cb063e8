// The channels-last FP32 depthwise kernel built with this folder's ISA flags (see
// dwconv_nhwc_f32_impl.h).
#include "ref/dwconv_nhwc_f32_impl.h"

namespace octet::kernels {

void dwconv_nhwc_f32_avx512(const DwConvNhwcF32& p, int64_t oh0, int64_t oh1, float* scratch) {
  detail::dwconv_nhwc_f32_impl(p, oh0, oh1, scratch);
}

}  // namespace octet::kernels
