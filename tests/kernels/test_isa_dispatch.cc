// ISA detection and capping (isa.cc), the kernel registry (registry.cc) and the thread pool's
// deterministic split (thread_pool.cc).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "octet/error.h"
#include "octet/kernels/registry.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/thread_pool.h"

namespace octet::kernels {
namespace {

// Sets OCTET_MAX_ISA for one scope and restores the previous value.
class ScopedMaxIsa {
 public:
  explicit ScopedMaxIsa(const char* value) {
    const char* old = std::getenv("OCTET_MAX_ISA");
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value)
      setenv("OCTET_MAX_ISA", value, 1);
    else
      unsetenv("OCTET_MAX_ISA");
  }
  ~ScopedMaxIsa() {
    if (had_)
      setenv("OCTET_MAX_ISA", old_.c_str(), 1);
    else
      unsetenv("OCTET_MAX_ISA");
  }

 private:
  bool had_ = false;
  std::string old_;
};

const Isa kLevels[] = {Isa::ref, Isa::avx2, Isa::avx512, Isa::vnni};

TEST(Isa, NamesAndOrder) {
  EXPECT_STREQ(isa_name(Isa::ref), "ref");
  EXPECT_STREQ(isa_name(Isa::avx2), "avx2");
  EXPECT_STREQ(isa_name(Isa::avx512), "avx512");
  EXPECT_STREQ(isa_name(Isa::vnni), "vnni");
  EXPECT_EQ((IsaChoice{Isa::avx2, true}.name()), "avx2_fast");
  EXPECT_EQ((IsaChoice{Isa::avx512, true}.name()), "avx512_fast");
  EXPECT_EQ((IsaChoice{Isa::vnni, true}.name()), "vnni");  // fast means nothing on vnni
  EXPECT_EQ((IsaChoice{Isa::ref, false}.name()), "ref");
}

TEST(Isa, SupportIsALadderUpToTheDetectedLevel) {
  const Isa max = cpu_max_isa();
  for (Isa l : kLevels)
    EXPECT_EQ(cpu_supports(l), static_cast<int>(l) <= static_cast<int>(max)) << isa_name(l);
  EXPECT_TRUE(cpu_supports(Isa::ref));
  EXPECT_NE(cpu_description().find(isa_name(max)), std::string::npos) << cpu_description();
}

TEST(Isa, UnsetOrAutoMeansTheCpuLevel) {
  {
    ScopedMaxIsa env(nullptr);
    EXPECT_EQ(env_max_isa(), cpu_max_isa());
    EXPECT_EQ(resolve_isa("auto").isa, cpu_max_isa());
    EXPECT_EQ(resolve_isa("").isa, cpu_max_isa());
  }
  ScopedMaxIsa env("auto");
  EXPECT_EQ(env_max_isa(), cpu_max_isa());
}

TEST(Isa, EnvCapsEveryLevelTheCpuHas) {
  for (Isa cap : kLevels) {
    if (!cpu_supports(cap)) continue;
    ScopedMaxIsa env(isa_name(cap));  // read again on each call
    EXPECT_EQ(env_max_isa(), cap);
    EXPECT_EQ(resolve_isa("auto").isa, cap);
    const std::vector<IsaChoice> avail = available_isas();
    ASSERT_FALSE(avail.empty());
    EXPECT_EQ(avail.front().isa, cap);  // best first
    EXPECT_EQ(avail.back().isa, Isa::ref);
    for (size_t i = 0; i < avail.size(); ++i) {
      EXPECT_LE(static_cast<int>(avail[i].isa), static_cast<int>(cap));
      if (i > 0) {
        EXPECT_LE(static_cast<int>(avail[i].isa), static_cast<int>(avail[i - 1].isa));
      }
    }
    std::set<std::string> names;
    for (const IsaChoice& c : avail) names.insert(c.name());
    EXPECT_EQ(names.size(), avail.size());
    EXPECT_EQ(names.count("avx2_fast"), cpu_supports(Isa::avx2) && cap >= Isa::avx2 ? 1u : 0u);
    EXPECT_EQ(names.count("avx512_fast"), cap >= Isa::avx512 ? 1u : 0u);
    // Explicit requests above the cap fail; at or below it they resolve.
    for (Isa l : kLevels) {
      if (static_cast<int>(l) > static_cast<int>(cap)) {
        EXPECT_THROW(resolve_isa(isa_name(l)), Error) << isa_name(l) << " over cap " << isa_name(cap);
      } else {
        EXPECT_EQ(resolve_isa(isa_name(l)).isa, l);
      }
    }
  }
}

TEST(Isa, FastVariantsResolve) {
  if (!cpu_supports(Isa::avx2)) GTEST_SKIP() << "CPU lacks avx2: " << cpu_description();
  ScopedMaxIsa env(nullptr);
  IsaChoice c = resolve_isa("avx2_fast");
  EXPECT_EQ(c.isa, Isa::avx2);
  EXPECT_TRUE(c.fast);
  EXPECT_FALSE(resolve_isa("avx2").fast);
}

TEST(Isa, BadValuesAreErrors) {
  {
    ScopedMaxIsa env("sse9");
    EXPECT_THROW(env_max_isa(), Error);
    EXPECT_THROW(available_isas(), Error);
    EXPECT_THROW(resolve_isa("auto"), Error);
  }
  ScopedMaxIsa env(nullptr);
  EXPECT_THROW(resolve_isa("avx1024"), Error);
  EXPECT_THROW(resolve_isa("AVX2"), Error);
  try {
    resolve_isa("bogus");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bogus"), std::string::npos) << e.what();
  }
}

TEST(Isa, LevelTheCpuLacksIsAnError) {
  if (cpu_max_isa() == Isa::vnni) GTEST_SKIP() << "this CPU has every level (" << cpu_description() << ")";
  const Isa above = static_cast<Isa>(static_cast<int>(cpu_max_isa()) + 1);
  EXPECT_THROW(resolve_isa(isa_name(above)), Error);
  ScopedMaxIsa env(isa_name(above));
  EXPECT_THROW(env_max_isa(), Error);
}

TEST(Dispatch, EveryAvailableChoiceHasAnFp32Table) {
  ScopedMaxIsa env(nullptr);
  for (const IsaChoice& c : available_isas()) {
    const KernelRegistry& t = kernel_registry(c);
    EXPECT_EQ(t.choice.isa, c.isa);
    EXPECT_EQ(t.choice.fast, c.fast);
    ASSERT_NE(t.gemm_f32, nullptr) << c.name();
    EXPECT_NE(t.gemm_f32->pack_b, nullptr);
    EXPECT_NE(t.gemm_f32->gemm, nullptr);
    EXPECT_GT(t.gemm_f32->mr, 0);
  }
  // The same choice always gives the same table.
  EXPECT_EQ(&kernel_registry(IsaChoice{Isa::ref, false}), &kernel_registry(IsaChoice{Isa::ref, false}));
}

TEST(Dispatch, GettersAreNullWithoutTheIsa) {
  EXPECT_NE(gemm_f32_ops_ref(), nullptr);
  EXPECT_EQ(gemm_f32_ops_avx2() != nullptr, cpu_supports(Isa::avx2));
  EXPECT_EQ(gemm_f32_ops_avx512() != nullptr, cpu_supports(Isa::avx512));
}

TEST(ThreadPool, SplitRangeCoversEvenly) {
  for (int64_t n : {0, 1, 2, 7, 100, 1001})
    for (int parts : {1, 2, 3, 8}) {
      int64_t next = 0, lo = n, hi = 0;
      for (int p = 0; p < parts; ++p) {
        int64_t b, e;
        split_range(n, parts, p, &b, &e);
        EXPECT_EQ(b, next);
        next = e;
        lo = std::min(lo, e - b);
        hi = std::max(hi, e - b);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(hi - lo, 1);
    }
}

TEST(ThreadPool, ParallelForRunsEachIndexOnceInFixedChunks) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 5, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::mutex mu;
      std::vector<std::pair<int64_t, int64_t>> chunks;
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
        std::lock_guard<std::mutex> lock(mu);
        chunks.push_back({b, e});
      });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << i;
      // Chunk boundaries depend only on n and the pool size.
      const int parts = static_cast<int>(std::min<int64_t>(n, threads));
      EXPECT_EQ(chunks.size(), static_cast<size_t>(parts));
      std::set<std::pair<int64_t, int64_t>> got(chunks.begin(), chunks.end()), want;
      for (int p = 0; p < parts; ++p) {
        int64_t b, e;
        split_range(n, parts, p, &b, &e);
        want.insert({b, e});
      }
      EXPECT_EQ(got, want);
    }
  }
}

TEST(ThreadPool, RunTasksUsesDistinctThreadsAndTheCaller) {
  ThreadPool pool(2);
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::vector<int> seen;
  for (int round = 0; round < 50; ++round) {  // the pool is reusable
    pool.run_tasks(2, [&](int t) {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
      seen.push_back(t);
    });
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 1u);
  // More tasks than threads are capped at the pool size.
  std::atomic<int> calls{0};
  pool.run_tasks(5, [&](int t) { EXPECT_LT(t, 2); calls++; });
  EXPECT_EQ(calls.load(), 2);
}

TEST(ThreadPool, SingleThreadRunsOnTheCaller) {
  ThreadPool pool(1);
  std::thread::id id;
  pool.parallel_for(10, [&](int64_t, int64_t) { id = std::this_thread::get_id(); });
  EXPECT_EQ(id, std::this_thread::get_id());
}

}  // namespace
}  // namespace octet::kernels
