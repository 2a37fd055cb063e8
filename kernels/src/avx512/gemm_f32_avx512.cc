// AVX-512 FP32 GEMM table: the Xbyak-generated 14x32 micro-kernels (gemm_f32_avx512_jit.cc)
// under the shared blocking/threading driver (gemm_f32_driver.cc). This file only binds them;
// it is compiled with AVX-512 flags by folder convention and holds no vector code.
#include "gemm_f32_tile.h"

namespace octet::kernels {
namespace {

void pack_b_avx512(const float* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
                   PackedBF32* out) {
  detail::pack_b_f32_panels(detail::f32_family_avx512_jit(), b, K, N, ldb, trans_b, out);
}

void gemm_avx512(int64_t M, const float* a, int64_t lda, const PackedBF32& b, float* c,
                 int64_t ldc, const EpilogueF32& ep, ThreadPool* pool) {
  detail::gemm_f32_blocked(detail::f32_family_avx512_jit(), M, a, lda, b, c, ldc, ep, pool);
}

void gemm_segmented_avx512(int64_t M, const float* a, int64_t lda, const ASegments& seg, const PackedBF32& b,
                           float* c, int64_t ldc, const EpilogueF32& ep, ThreadPool* pool) {
  detail::gemm_f32_blocked(detail::f32_family_avx512_jit(), M, a, lda, b, c, ldc, ep, pool, &seg);
}

const GemmF32Ops kOps = {"gemm_f32_avx512_jit_14x32", 14, 32, pack_b_avx512, gemm_avx512,
                         gemm_segmented_avx512};

}  // namespace

// Null on a CPU without AVX-512 F/BW/DQ/VL, so these kernels can never be bound there.
const GemmF32Ops* gemm_f32_ops_avx512() {
  return cpu_supports(Isa::avx512) ? &kOps : nullptr;
}

}  // namespace octet::kernels
