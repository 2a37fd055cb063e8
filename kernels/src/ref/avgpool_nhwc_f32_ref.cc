// The channels-last FP32 average pool built with this folder's flags (avgpool_nhwc_f32_impl.h).
#include "ref/avgpool_nhwc_f32_impl.h"

namespace octet::kernels {

void avgpool_nhwc_f32_ref(const AvgPoolNhwcF32& p, int64_t oh0, int64_t oh1) {
  detail::avgpool_nhwc_f32_impl(p, oh0, oh1);
}

}  // namespace octet::kernels
