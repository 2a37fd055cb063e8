// GEMV on the SIMD tables' panels with eight FMA chains in flight: 8 / (nr / 8) panels at a
// time, each column one chain from its bias (or zero) in increasing k, as the GEMM's tile.
#include <immintrin.h>

#include <algorithm>

#include "octet/kernels/gemv_f32.h"
#include "octet/kernels/isa.h"

namespace octet::kernels {
namespace {

constexpr int kLanes = 8;

// P panels of V vectors each starting at panel p; the last panel may hold `valid` < nr columns
// (then P == 1 and the columns past it go through a scratch row). The accumulators are named
// variables (an array of them was stored to the stack on every k).
template <int V, int P>
void panels(const float* x, const float* pb, int64_t K, int64_t nr, const float* bias, float* y, int64_t p,
            int64_t valid) {
  constexpr int kVecs = V * P;
  static_assert(kVecs <= 8, "eight accumulators at most");
  alignas(32) float scratch[8 * kLanes];
  const bool full = valid == int64_t(P) * nr;
  // Vector i is vector i % V of panel p + i / V: at base + (i / V) * K * nr + (i % V) * kLanes.
  auto offset = [&](int i) { return (i / V) * K * nr + (i % V) * kLanes; };
  const float* bias_p = bias ? bias + p * nr : nullptr;
  if (bias && !full) {
    std::fill(scratch, scratch + 8 * kLanes, 0.0f);
    std::copy(bias_p, bias_p + valid, scratch);
    bias_p = scratch;
  }
  auto init = [&](int i) {
    return bias_p ? _mm256_loadu_ps(bias_p + (i / V) * nr + (i % V) * kLanes) : _mm256_setzero_ps();
  };
  __m256 c0 = init(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  if constexpr (kVecs > 1) c1 = init(1);
  if constexpr (kVecs > 2) c2 = init(2);
  if constexpr (kVecs > 3) c3 = init(3);
  if constexpr (kVecs > 4) c4 = init(4);
  if constexpr (kVecs > 5) c5 = init(5);
  if constexpr (kVecs > 6) c6 = init(6);
  if constexpr (kVecs > 7) c7 = init(7);
  const float* b = pb + p * K * nr;
  const int64_t o1 = offset(1), o2 = offset(2), o3 = offset(3), o4 = offset(4), o5 = offset(5), o6 = offset(6),
                o7 = offset(7);
  for (int64_t k = 0; k < K; ++k, b += nr) {
    const __m256 xv = _mm256_broadcast_ss(x + k);
    c0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b), c0);
    if constexpr (kVecs > 1) c1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + o1), c1);
    if constexpr (kVecs > 2) c2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + o2), c2);
    if constexpr (kVecs > 3) c3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + o3), c3);
    if constexpr (kVecs > 4) c4 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + o4), c4);
    if constexpr (kVecs > 5) c5 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + o5), c5);
    if constexpr (kVecs > 6) c6 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + o6), c6);
    if constexpr (kVecs > 7) c7 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + o7), c7);
  }
  const __m256 acc[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
  if (full) {
    for (int i = 0; i < kVecs; ++i) _mm256_storeu_ps(y + p * nr + (i / V) * nr + (i % V) * kLanes, acc[i]);
  } else {
    for (int i = 0; i < kVecs; ++i) _mm256_store_ps(scratch + i * kLanes, acc[i]);
    std::copy(scratch, scratch + valid, y + p * nr);
  }
}

template <int V>
void gemv_v(const float* x, const PackedBF32& b, const float* bias, float* y, int64_t p0, int64_t p1) {
  constexpr int P = std::max(1, 8 / V);
  const int64_t K = b.K, N = b.N, nr = b.nr;
  const float* pb = b.data.as<float>();
  const int64_t full_panels = N / nr;  // panels with every column valid
  int64_t p = p0;
  for (; p + P <= std::min(p1, full_panels); p += P) panels<V, P>(x, pb, K, nr, bias, y, p, P * nr);
  for (; p < p1; ++p) panels<V, 1>(x, pb, K, nr, bias, y, p, std::min(nr, N - p * nr));
}

void gemv_avx2(const float* x, const PackedBF32& b, const float* bias, float* y, int64_t p0, int64_t p1) {
  if (b.isa == Isa::ref || b.nr % kLanes != 0) return gemv_packed_f32_ref(x, b, bias, y, p0, p1);
  switch (b.nr / kLanes) {
    case 1: return gemv_v<1>(x, b, bias, y, p0, p1);
    case 2: return gemv_v<2>(x, b, bias, y, p0, p1);
    case 3: return gemv_v<3>(x, b, bias, y, p0, p1);
    case 4: return gemv_v<4>(x, b, bias, y, p0, p1);
    case 6: return gemv_v<6>(x, b, bias, y, p0, p1);
    case 8: return gemv_v<8>(x, b, bias, y, p0, p1);
    default: return gemv_packed_f32_ref(x, b, bias, y, p0, p1);
  }
}

}  // namespace

GemvPackedF32Fn gemv_packed_f32_avx2() { return cpu_supports(Isa::avx2) ? gemv_avx2 : nullptr; }

}  // namespace octet::kernels
