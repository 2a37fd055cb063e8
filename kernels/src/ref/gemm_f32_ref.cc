// Reference FP32 GEMM: plain C++, the ground truth every SIMD table is tested against.
// Per output element: acc = sum over k in increasing order of a[m,k] * b[k,n] (float
// multiply, then float add), then y = acc + bias[n], y = y + residual[m,n], activation.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "octet/error.h"
#include "octet/kernels/gemm_f32.h"

namespace octet::kernels {
namespace {

// Packed layout: B copied to K x N row-major (transposed if trans_b).
void pack_b_ref(const float* b, int64_t K, int64_t N, int64_t ldb, bool trans_b,
                PackedBF32* out) {
  if (K < 0 || N < 0) throw Error("gemm_f32 pack_b: negative size K=" + std::to_string(K) +
                                  " N=" + std::to_string(N));
  if (K > 0 && N > 0 && ldb < (trans_b ? K : N))
    throw Error("gemm_f32 pack_b: ldb=" + std::to_string(ldb) + " is smaller than a row of B");
  if (K > 0 && N > (int64_t(1) << 40) / K) throw Error("gemm_f32 pack_b: B is too large");
  out->isa = Isa::ref;
  out->K = K;
  out->N = N;
  out->nr = N;
  out->kc = K;
  out->data.resize(static_cast<size_t>(K * N) * sizeof(float));
  float* p = out->data.as<float>();
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) p[k * N + n] = trans_b ? b[n * ldb + k] : b[k * ldb + n];
  if (verbose())
    std::fprintf(stderr, "octet: gemm_f32 K=%lld N=%lld packed for gemm_f32_ref\n",
                 static_cast<long long>(K), static_cast<long long>(N));
}

float activate(float y, const EpilogueF32& ep) {
  switch (ep.act) {
    case Activation::none: return y;
    case Activation::relu: return y < 0.f ? 0.f : y;
    case Activation::clip: return y < ep.clip_lo ? ep.clip_lo : (y > ep.clip_hi ? ep.clip_hi : y);
    case Activation::hardswish: return hardswish(y);
  }
  return y;
}

void gemm_rows(int64_t m_begin, int64_t m_end, const float* a, int64_t lda,
               const PackedBF32& b, float* c, int64_t ldc, const EpilogueF32& ep) {
  const int64_t K = b.K, N = b.N;
  const float* pb = b.data.as<float>();
  std::vector<float> acc(static_cast<size_t>(N));
  for (int64_t m = m_begin; m < m_end; ++m) {
    for (int64_t n = 0; n < N; ++n) acc[n] = 0.f;
    // k outer, n inner: each acc[n] still sums its products in increasing k.
    for (int64_t k = 0; k < K; ++k) {
      const float av = a[m * lda + k];
      const float* brow = pb + k * N;
      for (int64_t n = 0; n < N; ++n) {
        float prod = av * brow[n];
        acc[n] = acc[n] + prod;
      }
    }
    for (int64_t n = 0; n < N; ++n) {
      float y = acc[n];
      if (ep.bias) y = y + ep.bias[n];
      if (ep.residual) y = y + ep.residual[m * ep.ldr + n];
      c[m * ldc + n] = activate(y, ep);
    }
  }
}

void gemm_ref(int64_t M, const float* a, int64_t lda, const PackedBF32& b, float* c,
              int64_t ldc, const EpilogueF32& ep, ThreadPool* pool) {
  if (b.isa != Isa::ref) throw Error("gemm_f32_ref: B was packed by another kernel table");
  if (M < 0) throw Error("gemm_f32_ref: negative M");
  if (M == 0 || b.N == 0) return;
  if (pool && pool->size() > 1) {
    // Rows are independent; each row is computed the same way on any thread.
    pool->parallel_for(M, [&](int64_t m0, int64_t m1) { gemm_rows(m0, m1, a, lda, b, c, ldc, ep); });
  } else {
    gemm_rows(0, M, a, lda, b, c, ldc, ep);
  }
}

// A in segments: gathered into plain rows, then the plain GEMM.
void gemm_segmented_ref(int64_t M, const float* a, int64_t lda, const ASegments& seg, const PackedBF32& b,
                        float* c, int64_t ldc, const EpilogueF32& ep, ThreadPool* pool) {
  if (b.isa != Isa::ref) throw Error("gemm_f32_ref: B was packed by another kernel table");
  if (M < 0) throw Error("gemm_f32_ref: negative M");
  if (M == 0 || b.N == 0) return;
  const std::string problem = a_segments_problem(seg, b.K, b.kc, lda, 1);
  if (!problem.empty()) throw Error("gemm_f32_ref: " + problem);
  const int64_t K = b.K;
  std::vector<float> rows(static_cast<size_t>(std::max<int64_t>(M * K, 1)));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t s = 0; s < seg.count; ++s)
      std::memcpy(rows.data() + m * K + s * seg.seg_k, a + m * lda + s * seg.stride,
                  static_cast<size_t>(seg.seg_k) * sizeof(float));
  gemm_ref(M, rows.data(), K, b, c, ldc, ep, pool);
}

}  // namespace

const GemmF32Ops* gemm_f32_ops_ref() {
  static const GemmF32Ops ops = {"gemm_f32_ref", 1, 1, pack_b_ref, gemm_ref, gemm_segmented_ref};
  return &ops;
}

}  // namespace octet::kernels
