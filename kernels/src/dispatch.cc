#include "octet/kernels/dispatch.h"

#include <mutex>

namespace octet::kernels {
namespace {

const GemmF32Ops* f32_for(Isa isa) {
  const GemmF32Ops* ops = nullptr;
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512: ops = gemm_f32_ops_avx512(); if (ops) return ops; [[fallthrough]];
    case Isa::avx2: ops = gemm_f32_ops_avx2(); if (ops) return ops; [[fallthrough]];
    case Isa::ref: break;
  }
  return gemm_f32_ops_ref();
}

const DwConvF32Ops* dwconv_f32_for(Isa isa) {
  const DwConvF32Ops* ops = nullptr;
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512: ops = dwconv_f32_ops_avx512(); if (ops) return ops; [[fallthrough]];
    case Isa::avx2: ops = dwconv_f32_ops_avx2(); if (ops) return ops; [[fallthrough]];
    case Isa::ref: break;
  }
  return dwconv_f32_ops_ref();
}

PackIm2colF32 im2col_f32_for(Isa isa) {
  PackIm2colF32 fn = nullptr;
  switch (isa) {
    case Isa::vnni:
    case Isa::avx512: fn = pack_im2col_f32_avx512(); if (fn) return fn; [[fallthrough]];
    case Isa::avx2: fn = pack_im2col_f32_avx2(); if (fn) return fn; [[fallthrough]];
    case Isa::ref: break;
  }
  return pack_im2col_f32_ref();
}

const GemmU8S8Ops* u8s8_for(Isa isa, bool fast) {
  const GemmU8S8Ops* ops = nullptr;
  switch (isa) {
    case Isa::vnni: ops = gemm_u8s8_ops_vnni(); if (ops) return ops; [[fallthrough]];
    case Isa::avx512:
      ops = fast ? gemm_u8s8_ops_avx512_fast() : gemm_u8s8_ops_avx512();
      if (ops) return ops;
      [[fallthrough]];
    case Isa::avx2:
      ops = fast ? gemm_u8s8_ops_avx2_fast() : gemm_u8s8_ops_avx2();
      if (ops) return ops;
      [[fallthrough]];
    case Isa::ref: break;
  }
  return gemm_u8s8_ops_ref();
}

}  // namespace

const KernelTable& kernel_table(const IsaChoice& choice) {
  // 4 levels x {exact, fast}; built once, immutable afterwards.
  static KernelTable tables[4][2];
  static std::once_flag once;
  std::call_once(once, [] {
    for (int l = 0; l < 4; ++l)
      for (int f = 0; f < 2; ++f) {
        Isa isa = static_cast<Isa>(l);
        bool fast = f == 1 && (isa == Isa::avx2 || isa == Isa::avx512);
        KernelTable& t = tables[l][f];
        t.choice = {isa, fast};
        t.gemm_f32 = f32_for(isa);
        t.gemm_u8s8 = u8s8_for(isa, fast);
        t.dwconv_f32 = dwconv_f32_for(isa);
        t.pack_im2col_f32 = im2col_f32_for(isa);
      }
  });
  return tables[static_cast<int>(choice.isa)][choice.fast ? 1 : 0];
}

}  // namespace octet::kernels
