// The channels-last max pool built with this folder's flags (see maxpool_nhwc_impl.h).
#include "ref/maxpool_nhwc_impl.h"

namespace octet::kernels {

void maxpool_nhwc_avx2(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1) { detail::maxpool_nhwc_impl(p, oh0, oh1); }

}  // namespace octet::kernels
