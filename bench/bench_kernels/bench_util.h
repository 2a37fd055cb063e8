// Helpers shared by the bench_kernels benchmarks (FP32 and INT8 GEMM families): the shape
// list, deterministic random fills, benchmark naming/registration and the GOPS / pct_peak
// counters.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "octet/kernels/isa.h"
#include "octet/kernels/thread_pool.h"

namespace octet::bench {

// C[M,N] = A[M,K] * B[K,N]. `big` shapes also get a 2-thread variant.
struct GemmShape {
  int64_t m, n, k;
  bool big;
  std::string name() const {
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  }
  double ops() const { return 2.0 * double(m) * double(n) * double(k); }  // one mul + one add
};

// 1024^3; resnet-50 convolutions seen as GEMM; bert-base; small ones (the last two, big=false).
inline const std::vector<GemmShape>& gemm_shapes() {
  static const std::vector<GemmShape> shapes = {
      {1024, 1024, 1024, true},
      {3136, 64, 576, true},  {784, 128, 1152, true}, {196, 256, 2304, true},
      {49, 512, 4608, true},  {3136, 256, 64, true},  {49, 2048, 512, true},
      {128, 768, 768, true},  {128, 3072, 768, true}, {128, 768, 3072, true},
      {64, 64, 64, false},    {1, 1000, 2048, false},
  };
  return shapes;
}

// The fastest single iteration, in wall-clock seconds (benchdnn's "min" time). On a shared
// machine the mean absorbs other processes' time slices; the best iteration does not.
class BestIteration {
 public:
  void start() { t0_ = std::chrono::steady_clock::now(); }
  void stop() {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    if (best_ <= 0 || s < best_) best_ = s;
  }
  double seconds() const { return best_; }

 private:
  std::chrono::steady_clock::time_point t0_;
  double best_ = 0;
};

// Sets `GOPS` (ops/s / 1e9, a rate over the benchmark's time, real time when UseRealTime)
// and `pct_peak` (GOPS as a percentage of peak_gops_per_thread * threads; omitted when the
// peak is unknown, i.e. <= 0). With best_seconds > 0 (BestIteration::seconds()), also
// `GOPS_best` and `pct_peak_best` from the fastest iteration. Call once, after the loop.
inline void set_gemm_counters(benchmark::State& state, double ops_per_iter,
                              double peak_gops_per_thread, int threads, double best_seconds = 0) {
  state.counters["GOPS"] =
      benchmark::Counter(ops_per_iter / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  if (peak_gops_per_thread > 0)
    state.counters["pct_peak"] = benchmark::Counter(
        100.0 * ops_per_iter / 1e9 / (peak_gops_per_thread * threads),
        benchmark::Counter::kIsIterationInvariantRate);
  if (best_seconds > 0) {
    const double best_gops = ops_per_iter / best_seconds / 1e9;
    state.counters["GOPS_best"] = best_gops;
    if (peak_gops_per_thread > 0)
      state.counters["pct_peak_best"] = 100.0 * best_gops / (peak_gops_per_thread * threads);
  }
}

// "gemm_f32/avx512/1024x1024x1024" or ".../threads:2" (threads > 1).
inline std::string gemm_bench_name(const std::string& family, const std::string& impl,
                                   const GemmShape& s, int threads) {
  std::string name = family + "/" + impl + "/" + s.name();
  if (threads > 1) name += "/threads:" + std::to_string(threads);
  return name;
}

// Registers fn(state) under gemm_bench_name(...), measured in real time (our kernels run on
// their own pool threads, so the caller's CPU time would undercount).
inline benchmark::internal::Benchmark* register_gemm_bench(
    const std::string& family, const std::string& impl, const GemmShape& s, int threads,
    std::function<void(benchmark::State&)> fn) {
  return benchmark::RegisterBenchmark(gemm_bench_name(family, impl, s, threads).c_str(),
                                      [fn](benchmark::State& st) { fn(st); })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

// One pool per thread count, created on first use and kept for the process (benchmarks
// must not pay for thread creation). Returns null for threads <= 1.
inline kernels::ThreadPool* bench_pool(int threads) {
  if (threads <= 1) return nullptr;
  static std::unique_ptr<kernels::ThreadPool> pools[65];
  if (threads > 64) threads = 64;
  if (!pools[threads]) pools[threads] = std::make_unique<kernels::ThreadPool>(threads);
  return pools[threads].get();
}

// Whether benchmarks of `isa` may run: the CPU has it and OCTET_MAX_ISA allows it (so that
// OCTET_MAX_ISA=avx2 emulates an AVX2-only machine). Otherwise *why says why not.
inline bool bench_isa_allowed(kernels::Isa isa, std::string* why) {
  if (!kernels::cpu_supports(isa)) {
    *why = std::string("this CPU lacks ") + kernels::isa_name(isa) + " (" +
           kernels::cpu_description() + ")";
    return false;
  }
  try {
    const kernels::Isa cap = kernels::env_max_isa();
    if (static_cast<int>(isa) > static_cast<int>(cap)) {
      *why = std::string("OCTET_MAX_ISA caps the ISA at ") + kernels::isa_name(cap);
      return false;
    }
  } catch (const std::exception& e) {
    *why = e.what();
    return false;
  }
  return true;
}

// Deterministic fills (the same seed gives the same data in every run).
inline void fill_uniform(float* p, size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (size_t i = 0; i < n; ++i) p[i] = d(rng);
}
inline void fill_u8(uint8_t* p, size_t n, uint32_t seed, int lo = 0, int hi = 255) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(d(rng));
}
inline void fill_s8(int8_t* p, size_t n, uint32_t seed, int lo = -127, int hi = 127) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<int8_t>(d(rng));
}

// Makes the oneDNN benchmarks use `threads` OpenMP threads on the calling thread (Debian's
// oneDNN runs on OpenMP; the symbol is looked up at run time so that bench_kernels need not
// link OpenMP itself). Returns false when that is impossible (then skip the benchmark: its
// thread count would be wrong). Defined in main.cc.
bool set_onednn_threads(int threads);

}  // namespace octet::bench
