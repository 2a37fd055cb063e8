// One dispatch table per ISA level: each binds the kernels of that level to their packing
// routines and tile shapes, so a packed layout and the kernel that reads it never disagree.
#pragma once

#include "octet/kernels/dwconv.h"
#include "octet/kernels/gemm_f32.h"
#include "octet/kernels/gemm_u8s8.h"
#include "octet/kernels/isa.h"

namespace octet::kernels {

struct KernelTable {
  IsaChoice choice;
  const GemmF32Ops* gemm_f32 = nullptr;
  const GemmU8S8Ops* gemm_u8s8 = nullptr;
  const DwConvF32Ops* dwconv_f32 = nullptr;  // never null (the reference at the bottom)
  PackIm2colF32 pack_im2col_f32 = nullptr;   // never null (the reference at the bottom)
};

// The table for a resolved choice. Levels without a kernel of their own fall back to the
// next level down, ending at the reference kernels.
const KernelTable& kernel_table(const IsaChoice& choice);

}  // namespace octet::kernels
