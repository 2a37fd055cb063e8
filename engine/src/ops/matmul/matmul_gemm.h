// The reference GEMM loops behind MatMul, Gemm and Conv (im2col): plain C++ that the
// compiler vectorises along N, cache-blocked over N and K.
//
// Every C element sums its K products in increasing k order, starting from the value C
// already holds, so results do not depend on blocking, on how the work is split, or on the
// number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "octet/kernels/thread_pool.h"

namespace octet::detail {

namespace gemm_detail {

// Integer products wrap (as in ONNX Runtime) instead of overflowing a signed type.
template <class T>
inline T mul_add(T c, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // Unsigned and at least as wide as int, so that the product cannot promote to int.
    using U = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
    return static_cast<T>(
        static_cast<U>(static_cast<U>(c) + static_cast<U>(a) * static_cast<U>(b)));
  } else {
    return c + a * b;
  }
}

// c_r[j] += a_r * b[j] for four rows r; b loaded once per column.
template <class T>
void axpy4(int64_t n, T a0, T a1, T a2, T a3, const T* __restrict b, T* __restrict c0,
           T* __restrict c1, T* __restrict c2, T* __restrict c3) {
  for (int64_t j = 0; j < n; ++j) {
    const T bj = b[j];
    c0[j] = mul_add(c0[j], a0, bj);
    c1[j] = mul_add(c1[j], a1, bj);
    c2[j] = mul_add(c2[j], a2, bj);
    c3[j] = mul_add(c3[j], a3, bj);
  }
}

template <class T>
void axpy1(int64_t n, T a, const T* __restrict b, T* __restrict c) {
  for (int64_t j = 0; j < n; ++j) c[j] = mul_add(c[j], a, b[j]);
}

}  // namespace gemm_detail

// C[M,N] += A[M,K] * B[K,N]; row-major with leading dimensions lda, ldb, ldc. Single thread.
template <class T>
void gemm_accumulate(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
                     int64_t ldb, T* C, int64_t ldc) {
  // A block of B (kBlockK x kBlockN) stays in L2 while rows of C stream through L1.
  constexpr int64_t kBlockN = 256, kBlockK = 128;
  for (int64_t j0 = 0; j0 < N; j0 += kBlockN) {
    const int64_t nb = std::min(kBlockN, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kBlockK) {
      const int64_t kb = std::min(kBlockK, K - k0);
      const T* b = B + k0 * ldb + j0;
      int64_t i = 0;
      for (; i + 4 <= M; i += 4) {
        const T* a = A + i * lda + k0;
        T* c = C + i * ldc + j0;
        for (int64_t k = 0; k < kb; ++k)
          gemm_detail::axpy4(nb, a[k], a[lda + k], a[2 * lda + k], a[3 * lda + k], b + k * ldb, c,
                             c + ldc, c + 2 * ldc, c + 3 * ldc);
      }
      for (; i < M; ++i) {
        const T* a = A + i * lda + k0;
        T* c = C + i * ldc + j0;
        for (int64_t k = 0; k < kb; ++k) gemm_detail::axpy1(nb, a[k], b + k * ldb, c);
      }
    }
  }
}

// The same, split over threads by rows of C (or by columns when there are few rows). pool
// may be null.
template <class T>
void gemm_accumulate(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
                     int64_t ldb, T* C, int64_t ldc, kernels::ThreadPool* pool) {
  const int threads = pool ? pool->size() : 1;
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (threads <= 1 || flops < 2e5) {
    gemm_accumulate(M, N, K, A, lda, B, ldb, C, ldc);
    return;
  }
  if (M >= 8 * threads) {
    const int64_t groups = (M + 3) / 4;  // whole 4-row groups per task
    pool->parallel_for(groups, [&](int64_t begin, int64_t end) {
      const int64_t r0 = begin * 4, r1 = std::min(M, end * 4);
      gemm_accumulate(r1 - r0, N, K, A + r0 * lda, lda, B, ldb, C + r0 * ldc, ldc);
    });
  } else {
    constexpr int64_t kColumnBlock = 64;
    const int64_t blocks = (N + kColumnBlock - 1) / kColumnBlock;
    pool->parallel_for(blocks, [&](int64_t begin, int64_t end) {
      const int64_t c0 = begin * kColumnBlock, c1 = std::min(N, end * kColumnBlock);
      gemm_accumulate(M, c1 - c0, K, A, lda, B + c0, ldb, C + c0, ldc);
    });
  }
}

}  // namespace octet::detail
