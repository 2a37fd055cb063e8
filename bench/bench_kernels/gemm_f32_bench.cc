// gemm_f32/<impl>/<M>x<N>x<K>[/threads:2]: octet's FP32 tables (B packed ahead of time, as
// the engine does) against oneDNN's dnnl_sgemm (row-major, B unpacked) in the same process.
#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "bench_util.h"
#include "octet/kernels/aligned_buffer.h"
#include "octet/kernels/gemm_f32.h"
#include "octet/kernels/isa.h"
#include "peak.h"

namespace octet::bench {
namespace {

using kernels::AlignedBuffer;

// A, B and C of one shape, filled once.
struct F32Operands {
  AlignedBuffer a, b, c;
  explicit F32Operands(const GemmShape& s)
      : a(size_t(s.m * s.k) * 4), b(size_t(s.k * s.n) * 4), c(size_t(s.m * s.n) * 4) {
    fill_uniform(a.as<float>(), size_t(s.m * s.k), 1);
    fill_uniform(b.as<float>(), size_t(s.k * s.n), 2);
  }
};

void bm_octet(benchmark::State& state, const std::string& impl, GemmShape s, int threads) {
  const kernels::Isa isa = impl == "avx512" ? kernels::Isa::avx512
                           : impl == "avx2" ? kernels::Isa::avx2
                                            : kernels::Isa::ref;
  std::string why;
  if (!bench_isa_allowed(isa, &why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const kernels::GemmF32Ops* ops = isa == kernels::Isa::avx512 ? kernels::gemm_f32_ops_avx512()
                                   : isa == kernels::Isa::avx2 ? kernels::gemm_f32_ops_avx2()
                                                               : kernels::gemm_f32_ops_ref();
  if (!ops) {
    state.SkipWithError(("no FP32 table for " + impl).c_str());
    return;
  }
  F32Operands x(s);
  kernels::PackedBF32 packed;
  ops->pack_b(x.b.as<float>(), s.k, s.n, s.n, false, &packed);
  kernels::ThreadPool* pool = bench_pool(threads);
  const kernels::EpilogueF32 ep;
  ops->gemm(s.m, x.a.as<float>(), s.k, packed, x.c.as<float>(), s.n, ep, pool);  // warm up
  BestIteration best;
  for (auto _ : state) {
    best.start();
    ops->gemm(s.m, x.a.as<float>(), s.k, packed, x.c.as<float>(), s.n, ep, pool);
    benchmark::ClobberMemory();
    best.stop();
  }
  set_gemm_counters(state, s.ops(), peak_fma_gflops(), threads, best.seconds());
}

void bm_onednn(benchmark::State& state, GemmShape s, int threads) {
  if (!set_onednn_threads(threads)) {
    state.SkipWithError("cannot set oneDNN's OpenMP thread count (omp_set_num_threads not found)");
    return;
  }
  F32Operands x(s);
  auto call = [&] {
    return dnnl_sgemm('N', 'N', s.m, s.n, s.k, 1.f, x.a.as<float>(), s.k, x.b.as<float>(), s.n,
                      0.f, x.c.as<float>(), s.n);
  };
  if (call() != dnnl_success) {
    state.SkipWithError("dnnl_sgemm failed");
    return;
  }
  BestIteration best;
  for (auto _ : state) {
    best.start();
    call();
    benchmark::ClobberMemory();
    best.stop();
  }
  set_gemm_counters(state, s.ops(), peak_fma_gflops(), threads, best.seconds());
  set_onednn_threads(1);
}

const bool registered = [] {
  for (const GemmShape& s : gemm_shapes()) {
    for (int threads : {1, 2}) {
      if (threads == 2 && !s.big) continue;
      // The reference is ~100x slower: only the small shapes, single-threaded.
      if (threads == 1 && !s.big)
        register_gemm_bench("gemm_f32", "ref", s, 1,
                            [s](benchmark::State& st) { bm_octet(st, "ref", s, 1); });
      for (const char* impl : {"avx2", "avx512"})
        register_gemm_bench("gemm_f32", impl, s, threads, [s, impl, threads](benchmark::State& st) {
          bm_octet(st, impl, s, threads);
        });
      register_gemm_bench("gemm_f32", "onednn", s, threads,
                          [s, threads](benchmark::State& st) { bm_onednn(st, s, threads); });
    }
  }
  return true;
}();

}  // namespace
}  // namespace octet::bench
