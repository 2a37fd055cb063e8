// gemm_u8s8/<impl>/<M>x<N>x<K>[/threads:2]: octet's INT8 tables (B packed ahead of time, as
// the engine does; s32 output, the same work as oneDNN's) against oneDNN's dnnl_gemm_u8s8s32
// (row-major, B unpacked, no offsets) in the same process. pct_peak is against peak/vnni for
// every impl: it is the machine's INT8 peak, whichever instructions reach for it.
#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "bench_util.h"
#include "octet/kernels/aligned_buffer.h"
#include "octet/kernels/gemm_u8s8.h"
#include "octet/kernels/isa.h"
#include "peak.h"

namespace octet::bench {
namespace {

using kernels::AlignedBuffer;

// A, B and C of one shape, filled once. Weights in [-64, 64] so that the fast impls compute
// the same (exact) result as the others.
struct U8S8Operands {
  AlignedBuffer a, b, c;
  explicit U8S8Operands(const GemmShape& s)
      : a(size_t(s.m * s.k)), b(size_t(s.k * s.n)), c(size_t(s.m * s.n) * 4) {
    fill_u8(a.as<uint8_t>(), size_t(s.m * s.k), 1);
    fill_s8(b.as<int8_t>(), size_t(s.k * s.n), 2, -64, 64);
  }
};

struct ImplInfo {
  const char* name;
  const kernels::GemmU8S8Ops* (*ops)();
  kernels::Isa isa;
};

const ImplInfo kImpls[] = {
    {"ref", kernels::gemm_u8s8_ops_ref, kernels::Isa::ref},
    {"avx2", kernels::gemm_u8s8_ops_avx2, kernels::Isa::avx2},
    {"avx2_fast", kernels::gemm_u8s8_ops_avx2_fast, kernels::Isa::avx2},
    {"avx512", kernels::gemm_u8s8_ops_avx512, kernels::Isa::avx512},
    {"avx512_fast", kernels::gemm_u8s8_ops_avx512_fast, kernels::Isa::avx512},
    {"vnni", kernels::gemm_u8s8_ops_vnni, kernels::Isa::vnni},
};

void bm_octet(benchmark::State& state, const ImplInfo& impl, GemmShape s, int threads) {
  if (!kernels::cpu_supports(impl.isa)) {
    state.SkipWithError(
        (std::string("this CPU lacks ") + kernels::isa_name(impl.isa) + " (" +
         kernels::cpu_description() + ")").c_str());
    return;
  }
  const kernels::GemmU8S8Ops* ops = impl.ops();
  U8S8Operands x(s);
  kernels::PackedBU8S8 packed;
  ops->pack_b(x.b.as<int8_t>(), s.k, s.n, s.n, false, nullptr, 0, &packed);
  kernels::ThreadPool* pool = bench_pool(threads);
  kernels::EpilogueQ ep;
  ep.out_type = kernels::QOutType::s32;
  auto call = [&] {
    ops->gemm(s.m, x.a.as<uint8_t>(), s.k, packed, x.c.data(), s.n, ep, pool);
  };
  call();  // warm up (and JIT)
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, s.ops(), peak_vnni_gops(), threads);
}

void bm_onednn(benchmark::State& state, GemmShape s, int threads) {
  U8S8Operands x(s);
  set_onednn_threads(threads);
  const int32_t c_offset = 0;
  auto call = [&] {
    return dnnl_gemm_u8s8s32('N', 'N', 'F', s.m, s.n, s.k, 1.f, x.a.as<uint8_t>(), s.k, 0,
                             x.b.as<int8_t>(), s.n, 0, 0.f, x.c.as<int32_t>(), s.n, &c_offset);
  };
  if (call() != dnnl_success) {
    state.SkipWithError("dnnl_gemm_u8s8s32 failed");
    return;
  }
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, s.ops(), peak_vnni_gops(), threads);
  set_onednn_threads(1);
}

const bool registered = [] {
  for (const GemmShape& s : gemm_shapes()) {
    for (int threads : {1, 2}) {
      if (threads == 2 && !s.big) continue;
      for (const ImplInfo& impl : kImpls) {
        // The reference is ~100x slower: only the small shapes, single-threaded.
        if (impl.isa == kernels::Isa::ref && (threads > 1 || s.big)) continue;
        register_gemm_bench("gemm_u8s8", impl.name, s, threads,
                            [&impl, s, threads](benchmark::State& st) {
                              bm_octet(st, impl, s, threads);
                            });
      }
      register_gemm_bench("gemm_u8s8", "onednn", s, threads,
                          [s, threads](benchmark::State& st) { bm_onednn(st, s, threads); });
    }
  }
  return true;
}();

}  // namespace
}  // namespace octet::bench
