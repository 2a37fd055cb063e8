// AVX2 im2col panel packer: the shared packer (ref/im2col_f32_impl.h) with this folder's flags.
#include "octet/kernels/isa.h"
#include "ref/im2col_f32_impl.h"

namespace octet::kernels {

// Null on a CPU without AVX2, so this code can never be bound there.
PackIm2colF32 pack_im2col_f32_avx2() {
  return cpu_supports(Isa::avx2) ? im2col_pack_panel : nullptr;
}

}  // namespace octet::kernels
