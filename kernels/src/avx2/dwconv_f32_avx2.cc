// AVX2+FMA FP32 depthwise kernel: the shared plane kernel (ref/dwconv_f32_impl.h) compiled
// with this folder's flags, its interior loops vectorised 8 columns at a time.
#include "octet/kernels/isa.h"
#include "ref/dwconv_f32_impl.h"

namespace octet::kernels {

// Null on a CPU without AVX2, so this code can never be bound there.
const DwConvF32Ops* dwconv_f32_ops_avx2() {
  static const DwConvF32Ops ops = {"dwconv_f32_avx2", dw_accepts_any, dw_plane};
  return cpu_supports(Isa::avx2) ? &ops : nullptr;
}

}  // namespace octet::kernels
