// Picks the channels-last FP32 average pool for an ISA level (avgpool_f32.h).
#include "octet/kernels/avgpool_f32.h"

namespace octet::kernels {

AvgPoolNhwcF32Fn avgpool_nhwc_f32_kernel(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return avgpool_nhwc_f32_avx512;
    case Isa::avx2:
      return avgpool_nhwc_f32_avx2;
    default:
      return avgpool_nhwc_f32_ref;
  }
}

const char* avgpool_nhwc_f32_name(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return "avgpool_nhwc_f32_avx512";
    case Isa::avx2:
      return "avgpool_nhwc_f32_avx2";
    default:
      return "avgpool_nhwc_f32_ref";
  }
}

}  // namespace octet::kernels
