// The kernel registry: one table per ISA level binding every kernel family to that level's
// implementation, with its packing and tile where the family has them and its own name. The
// tables are written out level by level in registry.cc (the idea of MLAS's platform.cpp and
// XNNPACK's gemm-config.c), so a level without a kernel of its own for a family visibly takes
// the level below, ending at the reference kernels; the engine never names an ISA-specific
// kernel. Levels above the CPU's are never handed out (resolve_isa refuses them).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "octet/kernels/avgpool_f32.h"
#include "octet/kernels/avgpool_q8.h"
#include "octet/kernels/dwconv.h"
#include "octet/kernels/dwconv_u8s8.h"
#include "octet/kernels/gelu_f32.h"
#include "octet/kernels/gemm_f32.h"
#include "octet/kernels/gemm_u8s8.h"
#include "octet/kernels/gemv_f32.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/layernorm_f32.h"
#include "octet/kernels/lookup_q8.h"
#include "octet/kernels/max_u8.h"
#include "octet/kernels/stripe_hash.h"
#include "octet/kernels/maxpool_nhwc.h"
#include "octet/kernels/qadd_q8.h"
#include "octet/kernels/quantize_q8.h"
#include "octet/kernels/softmax_f32.h"
#include "octet/kernels/transpose_u8.h"

namespace octet::kernels {

// A family whose implementation is one function.
template <class Fn>
struct KernelEntry {
  const char* name = nullptr;  // "<family>_<isa>": the implementation's own name
  Fn run = nullptr;
};

// The channels-last INT8 depthwise convolution. A level whose kernel reads the weights in a
// layout of its own (vnni) packs them first; when its packing declines a set of weights, the
// level below runs them (dwconv_nhwc_u8s8_prepare).
struct DwConvNhwcU8S8Ops {
  const char* name = nullptr;
  DwConvNhwcU8S8Fn run = nullptr;
  int64_t (*packed_bytes)(int64_t taps, int64_t channels) = nullptr;  // null: no packing
  bool (*pack)(const int32_t* weights, const int32_t* comp, const float* scale, int64_t taps, int64_t channels,
               void* out) = nullptr;
  const DwConvNhwcU8S8Ops* when_pack_declines = nullptr;
};

struct KernelRegistry {
  IsaChoice choice;
  // GEMM. gemm_u8s8 is exact unless choice.fast; gemm_u8s8_where_exact is this level's
  // saturating table, which gemm_u8s8_for_weights takes for weights it provably computes
  // exactly (null where there is none or gemm_u8s8 already saturates).
  const GemmF32Ops* gemm_f32 = nullptr;
  const GemmU8S8Ops* gemm_u8s8 = nullptr;
  const GemmU8S8Ops* gemm_u8s8_where_exact = nullptr;
  // One-row products on B packed by gemm_f32 (the recurrent ops' H R^T per time step).
  KernelEntry<GemvPackedF32Fn> gemv_packed_f32;
  // Whether a convolution's fused QLinearAdd belongs in the INT8 GEMM's epilogue (vnni: in
  // registers); elsewhere the epilogues work on tile rows too short for the add, which then
  // runs after the GEMM on whole rows with qadd_q8.
  bool qadd_in_gemm_epilogue = false;
  KernelEntry<PackIm2colF32> im2col_f32;
  // Depthwise convolution: planes (NCHW) and channels-last.
  const DwConvF32Ops* dwconv_f32 = nullptr;
  KernelEntry<DwConvNhwcF32Fn> dwconv_nhwc_f32;
  KernelEntry<DwConvU8S8Fn> dwconv_u8s8;
  const DwConvNhwcU8S8Ops* dwconv_nhwc_u8s8 = nullptr;
  // Pooling.
  KernelEntry<AvgPoolNhwcF32Fn> avgpool_nhwc_f32;
  KernelEntry<AvgPoolNhwcQ8Fn> avgpool_nhwc_q8;
  KernelEntry<MaxPoolNhwcFn> maxpool_nhwc;
  KernelEntry<MaxU8Fn> max_u8;
  // INT8 element-wise and data movement.
  KernelEntry<QAddQ8Fn> qadd_q8;
  KernelEntry<QuantizeF32Q8Fn> quantize_f32_q8;
  KernelEntry<DequantizeQ8F32Fn> dequantize_q8_f32;
  KernelEntry<LookupQ8Fn> lookup_q8;
  KernelEntry<TransposeU8Fn> transpose_u8;
  // Transformer float rows: layer normalisation, GELU, softmax along the last axis.
  KernelEntry<LayerNormF32Fn> layernorm_f32;
  KernelEntry<GeluF32Fn> gelu_f32;
  KernelEntry<SoftmaxF32Fn> softmax_f32;
  // The compiled-model file checksum's accumulation.
  KernelEntry<StripeHashFn> stripe_hash;
};

// The table of a resolved choice (resolve_isa). Built once, immutable afterwards.
const KernelRegistry& kernel_registry(const IsaChoice& choice);

// (family, implementation name) of every family of a table, in declaration order: what a
// level runs, for tests and tools. The test that walks every family at every level fails on
// a family it does not know.
std::vector<std::pair<std::string, std::string>> registry_entries(const KernelRegistry& r);

// The INT8 GEMM table for weights B (as GemmU8S8Ops::pack_b takes them): r.gemm_u8s8, or
// r.gemm_u8s8_where_exact when u8s8_fast_is_exact proves it exact for every activation.
const GemmU8S8Ops* gemm_u8s8_for_weights(const KernelRegistry& r, const int8_t* b, int64_t K, int64_t N, int64_t ldb,
                                         bool trans_b);

// Packs the depthwise weights (as DwConvU8S8Nhwc::weights, comp and scale) for `ops` into
// *packed when it packs, and returns the implementation that runs them: `ops`, or the level
// its packing falls back to (packed left empty).
const DwConvNhwcU8S8Ops& dwconv_nhwc_u8s8_prepare(const DwConvNhwcU8S8Ops& ops, const int32_t* weights,
                                                  const int32_t* comp, const float* scale, int64_t taps,
                                                  int64_t channels, std::vector<uint8_t>* packed);

}  // namespace octet::kernels
