// Picks the channels-last depthwise kernels (INT8 and FP32) and the INT8 plane kernels for an
// ISA level (dwconv_u8s8.h, dwconv.h).
#include "octet/kernels/dwconv.h"
#include "octet/kernels/dwconv_u8s8.h"

namespace octet::kernels {

DwConvU8S8Fn dwconv_u8s8_kernel(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return dwconv_u8s8_avx512;
    case Isa::avx2:
      return dwconv_u8s8_avx2;
    default:
      return dwconv_u8s8_ref;
  }
}

const char* dwconv_u8s8_name(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return "dwconv_u8s8_avx512";
    case Isa::avx2:
      return "dwconv_u8s8_avx2";
    default:
      return "dwconv_u8s8_ref";
  }
}

DwConvNhwcU8S8Fn dwconv_nhwc_u8s8_kernel(Isa isa) {
  switch (isa) {
    case Isa::vnni:
      return dwconv_nhwc_u8s8_vnni;
    case Isa::avx512:
      return dwconv_nhwc_u8s8_avx512;
    case Isa::avx2:
      return dwconv_nhwc_u8s8_avx2;
    default:
      return dwconv_nhwc_u8s8_ref;
  }
}

const char* dwconv_nhwc_u8s8_name(Isa isa) {
  switch (isa) {
    case Isa::vnni:
      return "dwconv_nhwc_u8s8_vnni";
    case Isa::avx512:
      return "dwconv_nhwc_u8s8_avx512";
    case Isa::avx2:
      return "dwconv_nhwc_u8s8_avx2";
    default:
      return "dwconv_nhwc_u8s8_ref";
  }
}

DwConvNhwcF32Fn dwconv_nhwc_f32_kernel(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return dwconv_nhwc_f32_avx512;
    case Isa::avx2:
      return dwconv_nhwc_f32_avx2;
    default:
      return dwconv_nhwc_f32_ref;
  }
}

const char* dwconv_nhwc_f32_name(Isa isa) {
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512:
      return "dwconv_nhwc_f32_avx512";
    case Isa::avx2:
      return "dwconv_nhwc_f32_avx2";
    default:
      return "dwconv_nhwc_f32_ref";
  }
}

}  // namespace octet::kernels
