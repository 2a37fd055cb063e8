// The machine's own peak: register-only loops of independent FMA / vpdpbusd chains, enough
// of them to hide the instruction latency, so that only the issue rate limits the loop.
// Each loop is compiled for its ISA with a target attribute and only called when the CPU
// has that ISA. Also registers the `peak/fma` and `peak/vnni` benchmarks.
#include "peak.h"

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "bench_util.h"
#include "octet/kernels/isa.h"

namespace octet::bench {
namespace {

constexpr int kChains = 12;                 // independent accumulators per loop
constexpr int64_t kLoopIters = int64_t(1) << 20;  // ~12M instructions per call

// Each call issues iters * kChains FMAs on ymm (8 lanes); returns a value that depends on
// every accumulator so the compiler keeps them. noipa: calls are neither hoisted nor merged.
__attribute__((target("avx2,fma"), noipa)) float fma_loop_ymm(int64_t iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(0.001f * float(i));
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

__attribute__((target("avx512f"), noipa)) float fma_loop_zmm(int64_t iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.001f * float(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);  // (GCC 12's _mm512_reduce_* warn spuriously)
  return out[0] + out[15];
}

__attribute__((target("avx512f,avx512vnni"), noipa)) int vnni_loop_zmm(int64_t iters) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  }
  __m512i s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_epi32(s, acc[i]);
  int out[16];
  _mm512_storeu_si512(out, s);
  return out[0] + out[15];
}

volatile float g_sink_f;
volatile int g_sink_i;

// Best of a few timed calls, in G(FL)OP/s, for `ops_per_iter` ops per loop iteration.
template <class Loop>
double best_rate(Loop loop, double ops_per_iter) {
  loop(kLoopIters / 16);  // warm up (clocks, AVX-512 power state)
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    auto t0 = std::chrono::steady_clock::now();
    loop(kLoopIters);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, ops_per_iter * double(kLoopIters) / s / 1e9);
  }
  return best;
}

double fma_ymm_ops() { return kChains * 8 * 2.0; }
double fma_zmm_ops() { return kChains * 16 * 2.0; }
double vnni_zmm_ops() { return kChains * 64 * 2.0; }  // 64 u8*s8 pairs, one mul + one add

void run_fma_ymm(int64_t iters) { g_sink_f = fma_loop_ymm(iters); }
void run_fma_zmm(int64_t iters) { g_sink_f = fma_loop_zmm(iters); }
void run_vnni(int64_t iters) { g_sink_i = vnni_loop_zmm(iters); }

bool has_avx512() { return kernels::cpu_supports(kernels::Isa::avx512); }
bool has_vnni() { return kernels::cpu_supports(kernels::Isa::vnni); }

}  // namespace

double peak_fma_gflops() {
  static const double peak = [] {
    double p = 0;
    if (kernels::cpu_supports(kernels::Isa::avx2)) p = best_rate(run_fma_ymm, fma_ymm_ops());
    if (has_avx512()) p = std::max(p, best_rate(run_fma_zmm, fma_zmm_ops()));
    return p;
  }();
  return peak;
}

double peak_vnni_gops() {
  static const double peak = has_vnni() ? best_rate(run_vnni, vnni_zmm_ops()) : 0.0;
  return peak;
}

namespace {

void bm_peak_fma(benchmark::State& state) {
  if (!kernels::cpu_supports(kernels::Isa::avx2)) {
    state.SkipWithError("CPU lacks AVX2+FMA");
    return;
  }
  const double peak = peak_fma_gflops();
  const bool zmm = has_avx512();
  for (auto _ : state) zmm ? run_fma_zmm(kLoopIters / 8) : run_fma_ymm(kLoopIters / 8);
  set_gemm_counters(state, (zmm ? fma_zmm_ops() : fma_ymm_ops()) * (kLoopIters / 8), peak, 1);
}

void bm_peak_vnni(benchmark::State& state) {
  if (!has_vnni()) {
    state.SkipWithError("CPU lacks AVX-512 VNNI");
    return;
  }
  const double peak = peak_vnni_gops();
  for (auto _ : state) run_vnni(kLoopIters / 8);
  set_gemm_counters(state, vnni_zmm_ops() * (kLoopIters / 8), peak, 1);
}

const bool registered = [] {
  benchmark::RegisterBenchmark("peak/fma", bm_peak_fma)->UseRealTime();
  benchmark::RegisterBenchmark("peak/vnni", bm_peak_vnni)->UseRealTime();
  return true;
}();

}  // namespace
}  // namespace octet::bench
