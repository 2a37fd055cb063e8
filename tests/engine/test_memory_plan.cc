#include <gtest/gtest.h>

#include <random>

#include "runtime/memory_plan.h"

using octet::detail::BufferRequest;
using octet::detail::plan_memory;

namespace {

bool overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1) { return a0 < b1 && b0 < a1; }

TEST(MemoryPlan, LiveBuffersNeverShareBytes) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> reqs;
    int n = 1 + rng() % 40;
    for (int i = 0; i < n; ++i) {
      BufferRequest r;
      r.bytes = 1 + rng() % 5000;
      r.first = rng() % 30;
      r.last = r.first + rng() % 10;
      reqs.push_back(r);
    }
    auto plan = plan_memory(reqs);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(plan.offsets[i] % 64, 0);
      EXPECT_LE(plan.offsets[i] + reqs[i].bytes, plan.total_bytes);
      for (int j = i + 1; j < n; ++j) {
        bool live_together = !(reqs[i].last < reqs[j].first || reqs[j].last < reqs[i].first);
        if (live_together) {
          EXPECT_FALSE(overlaps(plan.offsets[i], plan.offsets[i] + reqs[i].bytes, plan.offsets[j],
                                plan.offsets[j] + reqs[j].bytes))
              << "buffers " << i << " and " << j << " collide";
        }
      }
    }
  }
}

TEST(MemoryPlan, ChainReusesMemory) {
  // A chain a -> b -> c -> d: each buffer dies after the next step, so two slots suffice.
  std::vector<BufferRequest> reqs = {{1024, 0, 1}, {1024, 1, 2}, {1024, 2, 3}, {1024, 3, 4}};
  auto plan = plan_memory(reqs);
  EXPECT_EQ(plan.total_bytes, 2048);
}

TEST(MemoryPlan, EmptyPlan) {
  auto plan = plan_memory({});
  EXPECT_EQ(plan.total_bytes, 0);
}

}  // namespace
