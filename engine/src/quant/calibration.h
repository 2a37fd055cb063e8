// Calibration: activation ranges from running the FP32 graph over sample inputs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "octet/octet.h"
#include "runtime/program.h"

namespace octet::detail {

struct Range {
  float lo = 0, hi = 0;
};

// A value histogram collected in one pass with bounded memory: 2 * kHalfBins bins over
// [-limit, limit] (64 KiB per tensor); when a value falls outside, limit doubles and
// neighbouring bins merge. limit is a power of two, so merged bins keep exact edges.
class Histogram {
 public:
  static constexpr int kHalfBins = 4096;
  void add(const float* x, int64_t n);
  float min() const { return min_; }
  float max() const { return max_; }
  bool empty() const { return count_ == 0; }
  double count() const { return count_; }
  // Exact zeros (ReLU outputs are half zeros): the u8 grid always holds 0 exactly, so the
  // entropy and MSE methods leave them out of the error they weigh.
  double zeros() const { return zeros_; }
  float limit() const { return limit_; }
  float bin_width() const { return limit_ / kHalfBins; }
  const std::vector<double>& bins() const { return bins_; }  // bin i covers [-limit + i*w, ...)
  int zero_bin() const { return kHalfBins; }                 // the bin 0 falls in

 private:
  void grow_to(float magnitude);
  std::vector<double> bins_;
  float limit_ = 0;
  float min_ = 0, max_ = 0;
  double count_ = 0;
  double zeros_ = 0;
};

// The clipping range each method picks from a histogram (always containing 0).
Range range_minmax(const Histogram& h);
Range range_percentile(const Histogram& h, double percentile);
Range range_entropy(const Histogram& h);
Range range_mse(const Histogram& h);
Range choose_range(const Histogram& h, CalibrationMethod method, double percentile);

// u8 asymmetric parameters for a range: scale = (hi - lo) / 255, zero point = round(-lo / scale).
void u8_params(const Range& r, float* scale, int32_t* zero_point);

// Runs the FP32 program over the samples and returns a histogram per f32 value name that
// `wanted` lists.
std::map<std::string, Histogram> collect_histograms(const std::shared_ptr<const Program>& fp32,
                                                    const std::vector<std::map<std::string, Tensor>>& samples,
                                                    const std::vector<std::string>& wanted);

}  // namespace octet::detail
