// Reference INT8 GEMM: plain C++, the ground truth every SIMD implementation is tested
// against. B is packed K x N (row k contiguous) with comp folded in; the accumulation is in
// uint32 (the int32 sum modulo 2^32, what every SIMD kernel computes, with no signed
// overflow); the epilogue is the normative u8s8_epilogue_row_ref.
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm_u8s8_common.h"

namespace octet::kernels {
namespace {

constexpr const char* kName = "gemm_u8s8_ref";

void pack_b(const int8_t* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
            const int32_t* bias_q, int32_t a_zero_point, PackedBU8S8* out) {
  detail::u8s8_pack_b(b, K, N, ldb, trans_b, bias_q, a_zero_point, Isa::ref, false,
                      detail::U8S8Layout{0, 1, 1}, K, out);
  detail::u8s8_report_pack(kName, K, N);
}

void gemm(int64_t M, const uint8_t* a, int64_t lda, const PackedBU8S8& b, void* out,
          int64_t ldc, const EpilogueQ& ep, ThreadPool* pool) {
  const detail::U8S8Epilogue e =
      detail::u8s8_check_call(kName, Isa::ref, false, M, lda, b, out, ldc, ep);
  const int64_t K = b.K, N = b.N;
  if (M == 0 || N == 0) return;
  const int ob = detail::u8s8_out_bytes(ep.out_type);
  const auto* bk = b.data.as<int8_t>();
  const auto* comp = b.comp.as<uint32_t>();
  auto rows = [&](int64_t m0, int64_t m1) {
    std::vector<uint32_t> acc(static_cast<size_t>(N));
    for (int64_t m = m0; m < m1; ++m) {
      for (int64_t n = 0; n < N; ++n) acc[n] = comp[n];
      for (int64_t k = 0; k < K; ++k) {
        const uint32_t av = a[m * lda + k];
        const int8_t* brow = bk + k * N;
        for (int64_t n = 0; n < N; ++n) acc[n] += av * static_cast<uint32_t>(int32_t(brow[n]));
      }
      detail::u8s8_epilogue_row_ref(reinterpret_cast<const int32_t*>(acc.data()), N, ep.scale,
                                    ep.residual  ? ep.residual + m * ep.ldr
                                    : ep.add_input ? ep.add_input + m * ep.ld_add : nullptr, e,
                                    static_cast<uint8_t*>(out) + m * ldc * ob);
    }
  };
  if (pool) pool->parallel_for(M, rows);
  else rows(0, M);
}

// A in segments: gathered into plain rows, then the plain GEMM.
void gemm_segmented(int64_t M, const uint8_t* a, int64_t lda, const ASegments& seg, const PackedBU8S8& b,
                    void* out, int64_t ldc, const EpilogueQ& ep, ThreadPool* pool) {
  detail::u8s8_check_call(kName, Isa::ref, false, M, lda, b, out, ldc, ep, &seg);
  const int64_t K = b.K;
  std::vector<uint8_t> rows(static_cast<size_t>(std::max<int64_t>(M * K, 1)));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t s = 0; s < seg.count; ++s)
      std::memcpy(rows.data() + m * K + s * seg.seg_k, a + m * lda + s * seg.stride, static_cast<size_t>(seg.seg_k));
  gemm(M, rows.data(), K, b, out, ldc, ep, pool);
}

}  // namespace

const GemmU8S8Ops* gemm_u8s8_ops_ref() {
  static const GemmU8S8Ops table{kName, 1, 1, pack_b, gemm, gemm_segmented};
  return &table;
}

}  // namespace octet::kernels
