// The kernel registry (registry.h), written out level by level: each level starts from the
// table of the level below and replaces the families it has kernels of its own for.
#include "octet/kernels/registry.h"

#include <mutex>

#include "octet/error.h"

namespace octet::kernels {
namespace {

// A level's ops table where the CPU has it (the getters return null otherwise), else the one below.
template <class Ops>
const Ops* or_below(const Ops* own, const Ops* below) {
  return own ? own : below;
}

KernelRegistry ref_level() {
  static const DwConvNhwcU8S8Ops dwconv_nhwc_u8s8{"dwconv_nhwc_u8s8_ref", dwconv_nhwc_u8s8_ref};
  KernelRegistry r;
  r.choice = {Isa::ref, false};
  r.gemm_f32 = gemm_f32_ops_ref();
  r.gemm_u8s8 = gemm_u8s8_ops_ref();
  r.gemv_packed_f32 = {"gemv_packed_f32_ref", gemv_packed_f32_ref};
  r.im2col_f32 = {"im2col_f32_ref", pack_im2col_f32_ref()};
  r.dwconv_f32 = dwconv_f32_ops_ref();
  r.dwconv_nhwc_f32 = {"dwconv_nhwc_f32_ref", dwconv_nhwc_f32_ref};
  r.dwconv_u8s8 = {"dwconv_u8s8_ref", dwconv_u8s8_ref};
  r.dwconv_nhwc_u8s8 = &dwconv_nhwc_u8s8;
  r.avgpool_nhwc_f32 = {"avgpool_nhwc_f32_ref", avgpool_nhwc_f32_ref};
  r.avgpool_nhwc_q8 = {"avgpool_nhwc_q8_ref", avgpool_nhwc_q8_ref};
  r.maxpool_nhwc = {"maxpool_nhwc_ref", maxpool_nhwc_ref};
  r.max_u8 = {"max_u8_ref", max_u8_ref};
  r.qadd_q8 = {"qadd_q8_ref", qadd_q8_ref};
  r.quantize_f32_q8 = {"quantize_f32_q8_ref", quantize_f32_q8_ref};
  r.dequantize_q8_f32 = {"dequantize_q8_f32_ref", dequantize_q8_f32_ref};
  r.lookup_q8 = {"lookup_q8_ref", lookup_q8_ref};  // one portable kernel for every level
  r.transpose_u8 = {"transpose_u8_ref", transpose_u8_ref};
  r.stripe_hash = {"stripe_hash_ref", stripe_hash_ref};
  r.layernorm_f32 = {"layernorm_f32_ref", layernorm_f32_ref};
  r.gelu_f32 = {"gelu_f32_ref", gelu_f32_ref};
  r.softmax_f32 = {"softmax_f32_ref", softmax_f32_ref};
  return r;
}

KernelRegistry avx2_level(bool fast) {
  static const DwConvNhwcU8S8Ops dwconv_nhwc_u8s8{"dwconv_nhwc_u8s8_avx2", dwconv_nhwc_u8s8_avx2};
  KernelRegistry r = ref_level();
  r.choice = {Isa::avx2, fast};
  r.gemm_f32 = or_below(gemm_f32_ops_avx2(), r.gemm_f32);
  r.gemm_u8s8 = fast ? gemm_u8s8_ops_avx2_fast() : gemm_u8s8_ops_avx2();
  r.gemm_u8s8_where_exact = fast ? nullptr : gemm_u8s8_ops_avx2_fast();
  if (GemvPackedF32Fn gemv = gemv_packed_f32_avx2()) r.gemv_packed_f32 = {"gemv_packed_f32_avx2", gemv};
  if (PackIm2colF32 im2col = pack_im2col_f32_avx2()) r.im2col_f32 = {"im2col_f32_avx2", im2col};
  r.dwconv_f32 = or_below(dwconv_f32_ops_avx2(), r.dwconv_f32);
  r.dwconv_nhwc_f32 = {"dwconv_nhwc_f32_avx2", dwconv_nhwc_f32_avx2};
  r.dwconv_u8s8 = {"dwconv_u8s8_avx2", dwconv_u8s8_avx2};
  r.dwconv_nhwc_u8s8 = &dwconv_nhwc_u8s8;
  r.avgpool_nhwc_f32 = {"avgpool_nhwc_f32_avx2", avgpool_nhwc_f32_avx2};
  r.avgpool_nhwc_q8 = {"avgpool_nhwc_q8_avx2", avgpool_nhwc_q8_avx2};
  r.maxpool_nhwc = {"maxpool_nhwc_avx2", maxpool_nhwc_avx2};
  r.max_u8 = {"max_u8_avx2", max_u8_avx2};
  r.qadd_q8 = {"qadd_q8_avx2", qadd_q8_avx2};
  r.quantize_f32_q8 = {"quantize_f32_q8_avx2", quantize_f32_q8_avx2};
  r.dequantize_q8_f32 = {"dequantize_q8_f32_avx2", dequantize_q8_f32_avx2};
  r.transpose_u8 = {"transpose_u8_avx2", transpose_u8_avx2};
  r.stripe_hash = {"stripe_hash_avx2", stripe_hash_avx2};
  r.layernorm_f32 = {"layernorm_f32_avx2", layernorm_f32_avx2};
  r.gelu_f32 = {"gelu_f32_avx2", gelu_f32_avx2};
  r.softmax_f32 = {"softmax_f32_avx2", softmax_f32_avx2};
  return r;
}

// Not here, so the avx2 kernels run: quantize / dequantize, max_u8, transpose_u8, stripe_hash.
KernelRegistry avx512_level(bool fast) {
  static const DwConvNhwcU8S8Ops dwconv_nhwc_u8s8{"dwconv_nhwc_u8s8_avx512", dwconv_nhwc_u8s8_avx512};
  KernelRegistry r = avx2_level(fast);
  r.choice = {Isa::avx512, fast};
  r.gemm_f32 = or_below(gemm_f32_ops_avx512(), r.gemm_f32);
  r.gemm_u8s8 = fast ? gemm_u8s8_ops_avx512_fast() : gemm_u8s8_ops_avx512();
  r.gemm_u8s8_where_exact = fast ? nullptr : gemm_u8s8_ops_avx512_fast();
  if (PackIm2colF32 im2col = pack_im2col_f32_avx512()) r.im2col_f32 = {"im2col_f32_avx512", im2col};
  r.dwconv_f32 = or_below(dwconv_f32_ops_avx512(), r.dwconv_f32);
  r.dwconv_nhwc_f32 = {"dwconv_nhwc_f32_avx512", dwconv_nhwc_f32_avx512};
  r.dwconv_u8s8 = {"dwconv_u8s8_avx512", dwconv_u8s8_avx512};
  r.dwconv_nhwc_u8s8 = &dwconv_nhwc_u8s8;
  r.avgpool_nhwc_f32 = {"avgpool_nhwc_f32_avx512", avgpool_nhwc_f32_avx512};
  r.avgpool_nhwc_q8 = {"avgpool_nhwc_q8_avx512", avgpool_nhwc_q8_avx512};
  r.maxpool_nhwc = {"maxpool_nhwc_avx512", maxpool_nhwc_avx512};
  r.qadd_q8 = {"qadd_q8_avx512", qadd_q8_avx512};
  r.layernorm_f32 = {"layernorm_f32_avx512", layernorm_f32_avx512};
  r.gelu_f32 = {"gelu_f32_avx512", gelu_f32_avx512};
  r.softmax_f32 = {"softmax_f32_avx512", softmax_f32_avx512};
  return r;
}

// VNNI changes the INT8 GEMM (vpdpbusd) and the channels-last INT8 depthwise convolution;
// everything else is the avx512 level's.
KernelRegistry vnni_level() {
  static const DwConvNhwcU8S8Ops dwconv_nhwc_u8s8{"dwconv_nhwc_u8s8_vnni", dwconv_nhwc_u8s8_vnni,
                                                  dwconv_nhwc_u8s8_vnni_bytes, dwconv_nhwc_u8s8_pack_vnni,
                                                  avx512_level(false).dwconv_nhwc_u8s8};
  KernelRegistry r = avx512_level(false);
  r.choice = {Isa::vnni, false};
  r.gemm_u8s8 = gemm_u8s8_ops_vnni();
  r.gemm_u8s8_where_exact = nullptr;
  r.qadd_in_gemm_epilogue = true;
  r.dwconv_nhwc_u8s8 = &dwconv_nhwc_u8s8;
  return r;
}

}  // namespace

const KernelRegistry& kernel_registry(const IsaChoice& choice) {
  // 4 levels x {exact, fast}, built once for the levels this CPU has.
  static KernelRegistry tables[4][2];
  static std::once_flag once;
  std::call_once(once, [] {
    for (int f = 0; f < 2; ++f) {
      tables[0][f] = ref_level();
      if (cpu_supports(Isa::avx2)) tables[1][f] = avx2_level(f == 1);
      if (cpu_supports(Isa::avx512)) tables[2][f] = avx512_level(f == 1);
      if (cpu_supports(Isa::vnni)) tables[3][f] = vnni_level();
    }
  });
  if (!cpu_supports(choice.isa))
    throw Error(std::string("kernel registry: ") + isa_name(choice.isa) + " requested but this CPU (" +
                cpu_description() + ") lacks it");
  return tables[static_cast<int>(choice.isa)][choice.fast ? 1 : 0];
}

std::vector<std::pair<std::string, std::string>> registry_entries(const KernelRegistry& r) {
  return {{"gemm_f32", r.gemm_f32->name},
          {"gemm_u8s8", r.gemm_u8s8->name},
          {"gemm_u8s8_where_exact", r.gemm_u8s8_where_exact ? r.gemm_u8s8_where_exact->name : "-"},
          {"gemv_packed_f32", r.gemv_packed_f32.name},
          {"im2col_f32", r.im2col_f32.name},
          {"dwconv_f32", r.dwconv_f32->name},
          {"dwconv_nhwc_f32", r.dwconv_nhwc_f32.name},
          {"dwconv_u8s8", r.dwconv_u8s8.name},
          {"dwconv_nhwc_u8s8", r.dwconv_nhwc_u8s8->name},
          {"avgpool_nhwc_f32", r.avgpool_nhwc_f32.name},
          {"avgpool_nhwc_q8", r.avgpool_nhwc_q8.name},
          {"maxpool_nhwc", r.maxpool_nhwc.name},
          {"max_u8", r.max_u8.name},
          {"qadd_q8", r.qadd_q8.name},
          {"quantize_f32_q8", r.quantize_f32_q8.name},
          {"dequantize_q8_f32", r.dequantize_q8_f32.name},
          {"lookup_q8", r.lookup_q8.name},
          {"transpose_u8", r.transpose_u8.name},
          {"stripe_hash", r.stripe_hash.name},
          {"layernorm_f32", r.layernorm_f32.name},
          {"gelu_f32", r.gelu_f32.name},
          {"softmax_f32", r.softmax_f32.name}};
}

const GemmU8S8Ops* gemm_u8s8_for_weights(const KernelRegistry& r, const int8_t* b, int64_t K, int64_t N, int64_t ldb,
                                         bool trans_b) {
  if (r.gemm_u8s8_where_exact && u8s8_fast_is_exact(b, K, N, ldb, trans_b)) return r.gemm_u8s8_where_exact;
  return r.gemm_u8s8;
}

const DwConvNhwcU8S8Ops& dwconv_nhwc_u8s8_prepare(const DwConvNhwcU8S8Ops& ops, const int32_t* weights,
                                                  const int32_t* comp, const float* scale, int64_t taps,
                                                  int64_t channels, std::vector<uint8_t>* packed) {
  packed->clear();
  if (!ops.pack) return ops;
  packed->resize(static_cast<size_t>(ops.packed_bytes(taps, channels)));
  if (ops.pack(weights, comp, scale, taps, channels, packed->data())) return ops;
  packed->clear();
  return *ops.when_pack_declines;
}

}  // namespace octet::kernels
