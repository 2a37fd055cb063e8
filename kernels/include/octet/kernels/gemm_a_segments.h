// A GEMM's A matrix read in segments, for an implicit-GEMM convolution over an image in place
// (one segment per kernel row of taps): element (m, k) of A is at
//   a[m * lda + (k / seg_k) * stride + k % seg_k],   K = count * seg_k,
// in elements of A's type, where rows may overlap (lda smaller than K). Shared by the u8s8
// and FP32 GEMM families.
#pragma once

#include <cstdint>
#include <string>

namespace octet::kernels {

struct ASegments {
  int64_t count = 1, seg_k = 0, stride = 0;
};

// Empty when `seg` describes a K of B.K = K read within one K block of kc, with seg_k a
// multiple of `seg_k_multiple` and lda, stride not negative; else what is wrong.
inline std::string a_segments_problem(const ASegments& seg, int64_t K, int64_t kc, int64_t lda,
                                      int64_t seg_k_multiple) {
  if (seg.count < 1 || seg.seg_k < 1 || seg.seg_k % seg_k_multiple != 0 || seg.count * seg.seg_k != K ||
      lda < 0 || seg.stride < 0 || K > kc)
    return "bad A segments (" + std::to_string(seg.count) + " x " + std::to_string(seg.seg_k) +
           " for K=" + std::to_string(K) + ", seg_k a multiple of " + std::to_string(seg_k_multiple) +
           ", within one K block)";
  return {};
}

}  // namespace octet::kernels
