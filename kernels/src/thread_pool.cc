#include "octet/kernels/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>

namespace octet::kernels {

// Spins until ready() or spin_us_ have passed; returns ready(). spin_us_ == 0: one look.
template <class Ready>
bool ThreadPool::spin_until(Ready ready) const {
  if (ready()) return true;
  if (spin_us_ <= 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      _mm_pause();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

ThreadPool::ThreadPool(int threads, int spin_us) : spin_us_(std::max(0, spin_us)) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  size_ = threads;
  for (int i = 1; i < size_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::ThreadPool(Executor executor) : size_(executor.size), external_(std::move(executor)) {
  if (size_ < 1 || !external_.run) throw std::invalid_argument("ThreadPool: an executor needs size >= 1 and a run function");
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
  std::atomic<int> ran{0};
  std::function<void(int)> guarded = [&](int t) {
    ran.fetch_add(1, std::memory_order_relaxed);
    try {
      fn(t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  if (external_.run) {
    external_.run(tasks, guarded);
    // An executor that skipped or repeated a task would leave a silently wrong result.
    const int count = ran.load(std::memory_order_acquire);
    if (count != tasks)
      throw std::runtime_error("thread pool: the external executor ran " + std::to_string(count) + " calls for " +
                               std::to_string(tasks) + " tasks");
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
    return;
  }
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
