// Picks the channels-last max pool for an ISA level (maxpool_nhwc.h).
#include "octet/kernels/maxpool_nhwc.h"

namespace octet::kernels {

MaxPoolNhwcFn maxpool_nhwc_kernel(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return maxpool_nhwc_avx512;
    case Isa::avx2:
      return maxpool_nhwc_avx2;
    default:
      return maxpool_nhwc_ref;
  }
}

const char* maxpool_nhwc_name(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return "maxpool_nhwc_avx512";
    case Isa::avx2:
      return "maxpool_nhwc_avx2";
    default:
      return "maxpool_nhwc_ref";
  }
}

}  // namespace octet::kernels
