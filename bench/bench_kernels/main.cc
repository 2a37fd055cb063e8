// bench_kernels: Google Benchmark over the kernel variants, with oneDNN as the bar. The
// benchmarks register themselves (one file per kernel family); main adds the CPU and the
// measured peaks to the report's context.
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cstdio>
#include <string>

#include "bench_util.h"
#include "octet/kernels/isa.h"
#include "peak.h"

namespace octet::bench {

bool set_onednn_threads(int threads) {
  using SetThreads = void (*)(int);
  static const SetThreads set =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (!set) return false;
  set(threads);
  return true;
}

}  // namespace octet::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  char buf[64];
  benchmark::AddCustomContext("octet_cpu", octet::kernels::cpu_description());
  std::snprintf(buf, sizeof buf, "%.1f", octet::bench::peak_fma_gflops());
  benchmark::AddCustomContext("peak_fma_gflops_per_core", buf);
  std::snprintf(buf, sizeof buf, "%.1f", octet::bench::peak_vnni_gops());
  benchmark::AddCustomContext("peak_vnni_gops_per_core", buf);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
