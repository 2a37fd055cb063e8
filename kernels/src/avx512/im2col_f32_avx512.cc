// AVX-512 im2col panel packer: the shared packer (ref/im2col_f32_impl.h) with this folder's
// flags: short runs copied with masked zmm moves.
#include "octet/kernels/isa.h"
#include "ref/im2col_f32_impl.h"

namespace octet::kernels {

// Null on a CPU without AVX-512 F/BW/DQ/VL, so this code can never be bound there.
PackIm2colF32 pack_im2col_f32_avx512() {
  return cpu_supports(Isa::avx512) ? im2col_pack_panel : nullptr;
}

}  // namespace octet::kernels
