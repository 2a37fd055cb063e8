// Reference FP32 depthwise kernel: the shared plane kernel compiled for baseline x86-64.
#include "ref/dwconv_f32_impl.h"

namespace octet::kernels {

const DwConvF32Ops* dwconv_f32_ops_ref() {
  static const DwConvF32Ops ops = {"dwconv_f32_ref", dw_accepts_any, dw_plane};
  return &ops;
}

}  // namespace octet::kernels
