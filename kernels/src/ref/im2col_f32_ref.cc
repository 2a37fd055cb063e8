// Reference im2col panel packer: the shared packer compiled for baseline x86-64.
#include "ref/im2col_f32_impl.h"

namespace octet::kernels {

PackIm2colF32 pack_im2col_f32_ref() { return im2col_pack_panel; }

}  // namespace octet::kernels
