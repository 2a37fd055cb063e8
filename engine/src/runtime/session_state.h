// Per-session execution state: the arena, the thread pool and the profile.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <memory>
#include <vector>

#include "octet/kernels/aligned_buffer.h"
#include "octet/kernels/thread_pool.h"
#include "runtime/program.h"

namespace octet::detail {

struct SessionState {
  // The compiler's own runs (calibration, reports) use the defaults.
  explicit SessionState(std::shared_ptr<const Program> p, const SessionOptions& options = {});
  // A subgraph's session inside a running kernel (If, Loop, Scan): its own arena, the
  // caller's thread pool (kernels run one after another, so sharing it is safe).
  SessionState(std::shared_ptr<const Program> p, kernels::ThreadPool* borrowed);

  // Runs once. Outputs named in `into` are written to the caller's tensors (checked against
  // the compiled dtype and shape) and left out of the returned map; the others are returned.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs,
                                    const std::map<std::string, Tensor>* into = nullptr);

  std::shared_ptr<const Program> program;
  kernels::AlignedBuffer arena;
  std::unique_ptr<kernels::ThreadPool> pool;
  kernels::ThreadPool* borrowed_pool = nullptr;  // used instead of `pool` when set
  std::shared_ptr<ThreadPoolInterface> external_pool;  // kept alive while `pool` forwards to it
  // Called after each step with every value it wrote (calibration, per-layer error reports).
  std::function<void(int value_id, const Tensor& value)> observer;
  bool profiling = false;
  std::vector<double> step_ms;     // accumulated per step
  std::vector<int64_t> step_calls;
};

}  // namespace octet::detail
