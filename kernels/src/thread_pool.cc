#include "octet/kernels/thread_pool.h"

#include <algorithm>
#include <exception>

namespace octet::kernels {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  size_ = threads;
  for (int i = 1; i < size_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* job;
    int tasks;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      tasks = job_tasks_;
    }
    if (index < tasks) (*job)(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
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
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &guarded;
    job_tasks_ = tasks;
    pending_ = size_ - 1;
    ++generation_;
  }
  wake_.notify_all();
  guarded(0);
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }
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
