// Packing of B into nr-wide panels for the SIMD FP32 tables (layout in gemm_f32_tile.h).
#include <cstdio>
#include <string>

#include "gemm_f32_tile.h"
#include "octet/error.h"

namespace octet::kernels::detail {

void pack_b_f32_panels(const F32KernelFamily& family, const float* b, int64_t K, int64_t N,
                       int64_t ldb, bool trans_b, PackedBF32* out) {
  const std::string where = std::string("gemm_f32 pack_b (") + family.name + "): ";
  if (K < 0 || N < 0)
    throw Error(where + "negative size K=" + std::to_string(K) + " N=" + std::to_string(N));
  if (K > 0 && N > 0 && ldb < (trans_b ? K : N))
    throw Error(where + "ldb=" + std::to_string(ldb) + " is smaller than a row of B");
  const int64_t nr = family.nr;
  const int64_t panels = (N + nr - 1) / nr;
  if (K > 0 && panels > (int64_t(1) << 40) / (K * nr)) throw Error(where + "B is too large");

  out->isa = family.isa;
  out->K = K;
  out->N = N;
  out->nr = nr;
  out->kc = f32_k_block(family, K);
  out->data.resize(static_cast<size_t>(panels * K * nr) * sizeof(float));  // zero-filled
  float* dst = out->data.as<float>();
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t n0 = p * nr;
    const int64_t cols = N - n0 < nr ? N - n0 : nr;
    float* panel = dst + p * K * nr;
    if (trans_b) {
      // B^T is N x K: walk each column of the panel along its contiguous k.
      for (int64_t j = 0; j < cols; ++j) {
        const float* src = b + (n0 + j) * ldb;
        for (int64_t k = 0; k < K; ++k) panel[k * nr + j] = src[k];
      }
    } else {
      for (int64_t k = 0; k < K; ++k) {
        const float* src = b + k * ldb + n0;
        for (int64_t j = 0; j < cols; ++j) panel[k * nr + j] = src[j];
      }
    }
  }
  if (verbose())
    std::fprintf(stderr, "octet: gemm_f32 K=%lld N=%lld packed for %s (tile %dx%d, kc %lld)\n",
                 static_cast<long long>(K), static_cast<long long>(N), family.name, family.mr,
                 family.nr, static_cast<long long>(out->kc));
}

int64_t f32_k_block(const F32KernelFamily& family, int64_t K) {
  const int64_t kc_max = family.kc_max;
  if (K <= kc_max) return K;
  const int64_t blocks = (K + kc_max - 1) / kc_max;
  int64_t kc = (K + blocks - 1) / blocks;  // balanced blocks
  kc = (kc + family.k_unroll - 1) / family.k_unroll * family.k_unroll;
  return kc;
}

}  // namespace octet::kernels::detail
