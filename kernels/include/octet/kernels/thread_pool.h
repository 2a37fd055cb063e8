// A small fixed-size thread pool with a static, deterministic work split.
//
// Waking a sleeping thread through a condition variable costs tens of microseconds, as much as
// a whole mid-sized GEMM on one core: workers and the caller may first spin for a bounded
// time (spin_us) on atomics and only then sleep, as OpenMP runtimes do. Spinning burns CPU
// that other processes could use, so the spin is the owner's choice (0 = sleep at once).
//
// Instead of threads of its own, the pool can forward every parallel call to an external
// executor (a plain function object, so kernels/ knows nothing of the engine's API): the
// work split still depends only on n and size(), so results are the same on either.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace octet::kernels {

// An external executor: run(tasks, fn) must call fn(t) once for every t in [0, tasks)
// (tasks <= size), in any threads, and return when all have returned. fn never throws.
struct Executor {
  int size = 1;
  std::function<void(int tasks, const std::function<void(int task)>& fn)> run;
};

class ThreadPool {
 public:
  // threads <= 0: one per hardware thread. threads == 1 runs everything on the caller.
  // spin_us: how long workers and the caller spin before sleeping, in microseconds.
  explicit ThreadPool(int threads = 1, int spin_us = 0);
  // Starts no threads: parallel calls go to `executor` (executor.size >= 1, run set).
  explicit ThreadPool(Executor executor);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }
  int spin_us() const { return spin_us_; }
  bool external() const { return static_cast<bool>(external_.run); }
  // Calls fn(task, begin, end) over [0, n) cut into `size()` contiguous chunks (fewer when
  // n is small); chunk boundaries depend only on n and size(), so results that are
  // reduced per chunk are reproducible. The caller's thread runs chunk 0. Blocks until done.
  // Not reentrant: fn must not call parallel_for on the same pool.
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);
  // Runs fn(t) for t in [0, tasks) with tasks <= size(), one per thread.
  void run_tasks(int tasks, const std::function<void(int task)>& fn);

 private:
  void worker(int index);
  template <class Ready>
  bool spin_until(Ready ready) const;
  int size_ = 1;
  int spin_us_ = 0;
  Executor external_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  // job_ and job_tasks_ are written before generation_ is released and read after it is
  // acquired; pending_ counts workers still inside the current generation.
  const std::function<void(int)>* job_ = nullptr;
  int job_tasks_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

// Splits [0, n) into `parts` nearly equal contiguous ranges; returns range p.
inline void split_range(int64_t n, int parts, int p, int64_t* begin, int64_t* end) {
  int64_t base = n / parts, rem = n % parts;
  *begin = p * base + (p < rem ? p : rem);
  *end = *begin + base + (p < rem ? 1 : 0);
}

}  // namespace octet::kernels
