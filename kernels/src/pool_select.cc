// Picks the channels-last pooling kernels for an ISA level: INT8 average (avgpool_q8.h), FP32
// average (avgpool_f32.h) and max (maxpool_nhwc.h).
#include "octet/kernels/avgpool_f32.h"
#include "octet/kernels/avgpool_q8.h"
#include "octet/kernels/maxpool_nhwc.h"

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
