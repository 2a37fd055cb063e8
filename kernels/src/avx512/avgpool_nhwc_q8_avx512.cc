// The channels-last INT8 average pool built with this folder's ISA flags (see
// avgpool_nhwc_q8_impl.h).
#include "ref/avgpool_nhwc_q8_impl.h"

namespace octet::kernels {

void avgpool_nhwc_q8_avx512(const AvgPoolNhwcQ8& p, int64_t oh0, int64_t oh1, void* scratch) {
  detail::avgpool_nhwc_q8_impl(p, oh0, oh1, scratch);
}

}  // namespace octet::kernels
