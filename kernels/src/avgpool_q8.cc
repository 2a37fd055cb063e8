// Picks the channels-last INT8 average pool for an ISA level (avgpool_q8.h).
#include "octet/kernels/avgpool_q8.h"

namespace octet::kernels {

AvgPoolNhwcQ8Fn avgpool_nhwc_q8_kernel(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return avgpool_nhwc_q8_avx512;
    case Isa::avx2:
      return avgpool_nhwc_q8_avx2;
    default:
      return avgpool_nhwc_q8_ref;
  }
}

const char* avgpool_nhwc_q8_name(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return "avgpool_nhwc_q8_avx512";
    case Isa::avx2:
      return "avgpool_nhwc_q8_avx2";
    default:
      return "avgpool_nhwc_q8_ref";
  }
}

}  // namespace octet::kernels
