// Throughput as OpenVINO's benchmark_app measures it: every stream (a Session on its own
// thread) warms up, then all run together for a fixed duration; the duration is cut into
// equal windows and the median window's rate is the figure, with latency median and p90.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "octet/octet.h"

namespace octet::bench {

struct ThroughputConfig {
  int streams = 1;
  int spin_us = -1;             // SessionOptions::spin_us; -1 = the engine's default
  double seconds = 3.0;
  double warmup_seconds = 0.5;  // at least one run per stream either way
  int windows = 5;              // repeated measurements inside the duration
  int batch = 1;                // inferences per run
};

struct ThroughputResult {
  double ips = 0;                    // median over windows, inferences per second
  std::vector<double> window_ips;
  double latency_median_ms = 0, latency_p90_ms = 0;  // per run (a whole batch)
  int64_t runs = 0;                  // completed inside the duration
  int batch = 1;
};

// Summarises completion times (seconds since the start) and latencies; exposed for tests.
ThroughputResult summarize_runs(const std::vector<double>& completion_s, const std::vector<double>& latency_ms,
                                double seconds, int windows, int batch);
// Nearest-rank percentile (p in [0,100]) of unsorted values; 0 when empty.
double percentile(std::vector<double> values, double p);

// Median of unsorted values (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

// progress(elapsed_fraction) is called from the calling thread about 10 times a second.
ThroughputResult measure_throughput(const CompiledModel& model, const std::map<std::string, Tensor>& inputs,
                                    const ThroughputConfig& config,
                                    const std::function<void(double)>& progress = nullptr);

}  // namespace octet::bench
