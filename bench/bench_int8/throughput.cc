#include "bench_int8/throughput.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

namespace octet::bench {
namespace {
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * double(values.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(values.size()))) - 1;
  return values[index];
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t m = values.size();
  return m % 2 ? values[m / 2] : 0.5 * (values[m / 2 - 1] + values[m / 2]);
}

ThroughputResult summarize_runs(const std::vector<double>& completion_s, const std::vector<double>& latency_ms,
                                double seconds, int windows, int batch) {
  ThroughputResult r;
  r.batch = batch;
  windows = std::max(1, windows);
  std::vector<double> done;
  for (double t : completion_s)
    if (t > 0 && t <= seconds) done.push_back(t);
  std::sort(done.begin(), done.end());
  r.runs = static_cast<int64_t>(done.size());
  // Repeated measurements: the completions (all streams merged) cut into `windows` groups of
  // consecutive runs; each group's rate is its runs over the time they took. Grouping by runs
  // rather than by fixed time slices keeps the rate exact instead of quantised to whole runs.
  const int64_t n = r.runs;
  if (n >= windows) {
    for (int k = 0; k < windows; ++k) {
      const int64_t first = k * n / windows, last = (k + 1) * n / windows;  // [first, last)
      const double begin = first == 0 ? 0.0 : done[first - 1];
      const double span = done[last - 1] - begin;
      if (last > first && span > 0) r.window_ips.push_back(double(last - first) * batch / span);
    }
  }
  if (!r.window_ips.empty()) {
    r.ips = median(r.window_ips);
  } else if (n > 0) {
    r.ips = double(n) * batch / done.back();
  }
  r.latency_median_ms = percentile(latency_ms, 50);
  r.latency_p90_ms = percentile(latency_ms, 90);
  return r;
}

ThroughputResult measure_throughput(const CompiledModel& model, const std::map<std::string, Tensor>& inputs,
                                    const ThroughputConfig& config, const std::function<void(double)>& progress) {
  const int streams = std::max(1, config.streams);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, abort{false};
  Clock::time_point start, end;  // written before `go` is released
  std::mutex mu;
  std::exception_ptr failure;
  std::vector<std::vector<double>> completions(streams), latencies(streams);

  auto worker = [&](int s) {
    try {
      SessionOptions session_options;
      if (config.spin_us >= 0) session_options.spin_us = config.spin_us;
      Session session = model.create_session(session_options);
      const Clock::time_point warm_start = Clock::now();
      do {
        session.run(inputs);
      } while (seconds_between(warm_start, Clock::now()) < config.warmup_seconds && !abort);
      ++ready;
      while (!go && !abort) std::this_thread::yield();
      while (!abort) {
        const Clock::time_point t0 = Clock::now();
        if (t0 >= end) break;
        session.run(inputs);
        const Clock::time_point t1 = Clock::now();
        completions[s].push_back(seconds_between(start, t1));
        latencies[s].push_back(1e3 * seconds_between(t0, t1));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      abort = true;
      ++ready;  // never leave the coordinator waiting
    }
  };

  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) threads.emplace_back(worker, s);
  while (ready < streams && !abort) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.seconds));
  go = true;
  while (!abort && Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (progress) progress(std::min(1.0, seconds_between(start, Clock::now()) / config.seconds));
  }
  for (std::thread& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);

  std::vector<double> all_completions, all_latencies;
  for (int s = 0; s < streams; ++s) {
    all_completions.insert(all_completions.end(), completions[s].begin(), completions[s].end());
    all_latencies.insert(all_latencies.end(), latencies[s].begin(), latencies[s].end());
  }
  ThroughputResult r = summarize_runs(all_completions, all_latencies, config.seconds, config.windows, config.batch);
  // Runs longer than the duration / windows: too few to repeat; use every completed run,
  // including the last ones that ended after the duration.
  if (r.runs < 2L * config.windows && !all_completions.empty()) {
    const double last = *std::max_element(all_completions.begin(), all_completions.end());
    r.runs = static_cast<int64_t>(all_completions.size());
    r.ips = last > 0 ? double(r.runs) * config.batch / last : 0;
    r.window_ips.assign(1, r.ips);
  }
  return r;
}

}  // namespace octet::bench
