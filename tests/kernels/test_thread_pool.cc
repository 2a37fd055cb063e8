// kernels::ThreadPool's spin setting and its external-executor mode: the same chunks either
// way, every task run once, and exceptions from any thread reach the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "octet/kernels/thread_pool.h"

namespace octet::kernels {
namespace {

// Runs task 0 on the caller and the others each on a fresh std::thread; counts its calls.
struct CountingExecutor {
  std::atomic<int> calls{0}, tasks_run{0};
  Executor make(int size) {
    return Executor{size, [this](int tasks, const std::function<void(int)>& fn) {
                      calls++;
                      std::vector<std::thread> threads;
                      for (int t = 1; t < tasks; ++t)
                        threads.emplace_back([&, t] {
                          tasks_run++;
                          fn(t);
                        });
                      tasks_run++;
                      fn(0);
                      for (std::thread& th : threads) th.join();
                    }};
  }
};

std::set<std::pair<int64_t, int64_t>> chunks_of(ThreadPool& pool, int64_t n) {
  std::mutex mu;
  std::set<std::pair<int64_t, int64_t>> chunks;
  pool.parallel_for(n, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(mu);
    chunks.insert({b, e});
  });
  return chunks;
}

TEST(ThreadPoolModes, SpinSettingIsKeptAndNegativeMeansNone) {
  EXPECT_EQ(ThreadPool(2).spin_us(), 0);
  EXPECT_EQ(ThreadPool(2, 250).spin_us(), 250);
  EXPECT_EQ(ThreadPool(2, -5).spin_us(), 0);
  for (int spin : {0, 50}) {  // both settings finish every call (no lost wake-up without a spin)
    ThreadPool pool(3, spin);
    std::atomic<int> sum{0};
    for (int round = 0; round < 200; ++round)
      pool.parallel_for(30, [&](int64_t b, int64_t e) { sum += static_cast<int>(e - b); });
    EXPECT_EQ(sum.load(), 200 * 30);
  }
}

TEST(ThreadPoolModes, ExternalExecutorGetsTheSameChunks) {
  CountingExecutor ex;
  ThreadPool external(ex.make(3));
  ThreadPool internal(3);
  EXPECT_TRUE(external.external());
  EXPECT_FALSE(internal.external());
  EXPECT_EQ(external.size(), 3);
  for (int64_t n : {2, 3, 7, 1000}) EXPECT_EQ(chunks_of(external, n), chunks_of(internal, n)) << n;
  EXPECT_EQ(ex.calls.load(), 4);
  EXPECT_EQ(ex.tasks_run.load(), 2 + 3 + 3 + 3);
  // One chunk runs on the caller without asking the executor.
  chunks_of(external, 1);
  EXPECT_EQ(ex.calls.load(), 4);
}

TEST(ThreadPoolModes, TaskExceptionsReachTheCaller) {
  CountingExecutor ex;
  ThreadPool external(ex.make(2));
  ThreadPool internal(2);
  for (ThreadPool* pool : {&external, &internal}) {
    // Task 1 runs on another thread in both pools.
    EXPECT_THROW(pool->run_tasks(2, [](int t) { if (t == 1) throw std::out_of_range("task 1"); }), std::out_of_range);
    // The pool still works afterwards.
    std::atomic<int> n{0};
    pool->run_tasks(2, [&](int) { n++; });
    EXPECT_EQ(n.load(), 2);
  }
}

TEST(ThreadPoolModes, ExecutorThatSkipsATaskIsAnError) {
  ThreadPool skipping(Executor{2, [](int, const std::function<void(int)>& fn) { fn(0); }});
  EXPECT_THROW(skipping.run_tasks(2, [](int) {}), std::runtime_error);
  ThreadPool repeating(Executor{2, [](int tasks, const std::function<void(int)>& fn) {
                                  for (int t = 0; t < tasks; ++t) fn(t);
                                  fn(0);
                                }});
  EXPECT_THROW(repeating.run_tasks(2, [](int) {}), std::runtime_error);
  EXPECT_THROW(ThreadPool(Executor{0, [](int, const std::function<void(int)>&) {}}), std::invalid_argument);
  EXPECT_THROW(ThreadPool(Executor{2, nullptr}), std::invalid_argument);
}

}  // namespace
}  // namespace octet::kernels
