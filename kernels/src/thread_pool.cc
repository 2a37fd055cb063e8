#include "octet/kernels/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <exception>

namespace octet::kernels {
namespace {

constexpr int kSpinMicros = 100;

// Spins until ready() or kSpinMicros have passed; returns ready().
template <class Ready>
bool spin_until(Ready ready) {
  if (ready()) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      _mm_pause();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  size_ = threads;
  for (int i = 1; i < size_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto has_work = [&] {
      return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
    };
    if (!spin_until(has_work)) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, has_work);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    const std::function<void(int)>* job = job_;
    if (index < job_tasks_) (*job)(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The caller may be asleep: notify under the lock so the wake-up cannot be lost.
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_one();
    }
  }
}

void ThreadPool::run_tasks(int tasks, const std::function<void(int)>& fn) {
  tasks = std::min(tasks, size_);
  if (tasks <= 0) return;
  if (tasks == 1) {
    fn(0);
    return;
  }
  // An exception in any task is caught where it happens and rethrown here, after every
  // task has finished (a worker must never let one escape: that would terminate).
  std::vector<std::exception_ptr> errors(tasks);
  std::function<void(int)> guarded = [&](int t) {
    try {
      fn(t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  {
    // Under the lock so that a worker going to sleep either sees the new generation or is
    // already waiting when notify_all runs.
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &guarded;
    job_tasks_ = tasks;
    pending_.store(size_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  guarded(0);
  auto all_done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, all_done);
  }
  job_ = nullptr;
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int parts = static_cast<int>(std::min<int64_t>(n, size_));
  if (parts == 1) {
    fn(0, n);
    return;
  }
  run_tasks(parts, [&](int p) {
    int64_t b, e;
    split_range(n, parts, p, &b, &e);
    fn(b, e);
  });
}

}  // namespace octet::kernels
