// The per-thread scratch count that octet_run --memory reports: grows with a thread's scratch,
// falls back when the thread ends, and sees the INT8 GEMM's own scratch.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "octet/kernels/gemm_u8s8.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/thread_scratch.h"

namespace octet::kernels {
namespace {

TEST(ThreadScratch, CountedWhileTheThreadLivesAndReleasedAfter) {
  const size_t before = thread_scratch_bytes();
  size_t during = 0, grown = 0;
  std::thread t([&] {
    thread_local ThreadScratch s;
    s.get<float>(1000);
    during = thread_scratch_bytes();
    s.get<float>(500);  // smaller: no growth
    s.get<float>(3000);
    grown = thread_scratch_bytes();
  });
  t.join();
  // Other tests run on this thread only, so the count moves with this thread alone.
  EXPECT_EQ(during, before + 1000 * sizeof(float));
  EXPECT_EQ(grown, before + 3000 * sizeof(float));
  EXPECT_EQ(thread_scratch_bytes(), before);
}

TEST(ThreadScratch, TheInt8GemmsScratchIsCounted) {
  // The AVX2 exact table widens A into a per-thread panel, and a K above its K block keeps
  // partial sums between blocks: both are per-thread scratch (here in a thread of its own).
  if (!cpu_supports(Isa::avx2)) GTEST_SKIP() << "the AVX2 INT8 GEMM needs AVX2; this CPU lacks it";
  const GemmU8S8Ops* ops = gemm_u8s8_ops_avx2();
  const int64_t M = 16, N = 32, K = 5000;
  std::vector<int8_t> b(size_t(K * N), 1);
  std::vector<uint8_t> a(size_t(M * K), 2), out(size_t(M * N));
  std::vector<float> scale(size_t(N), 1e-4f);
  PackedBU8S8 packed;
  ops->pack_b(b.data(), K, N, N, false, nullptr, 0, &packed);
  EpilogueQ ep;
  ep.scale = scale.data();
  ep.out_type = QOutType::u8;
  const size_t before = thread_scratch_bytes();
  size_t during = 0;
  std::thread t([&] {
    ops->gemm(M, a.data(), K, packed, out.data(), N, ep, nullptr);
    during = thread_scratch_bytes();
  });
  t.join();
  EXPECT_GT(during, before) << ops->name;
  EXPECT_EQ(thread_scratch_bytes(), before);
}

}  // namespace
}  // namespace octet::kernels
