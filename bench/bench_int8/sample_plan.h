// Which samples calibrate INT8 and which evaluate it. Calibration samples are never evaluated:
// they come from the training split where the dataset has one, otherwise from a held-out
// slice of the evaluation data, which FP32 and INT8 then both skip.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace octet::bench {

enum class CalibrationSource { train_split, held_out_slice };
const char* calibration_source_name(CalibrationSource s);  // "train split" / "held-out slice"

struct SamplePlan {
  CalibrationSource source = CalibrationSource::held_out_slice;
  std::vector<int64_t> calibration;  // indices into the training split or the dataset
  std::vector<int64_t> evaluation;   // indices into the dataset, ascending
};

// `count` indices spread evenly over [0, size): floor((k + 0.5) * size / count). Spreading
// matters: CIFAR's order is sorted by class, so a contiguous slice would be a single class.
std::vector<int64_t> spread_indices(int64_t size, int64_t count);

// dataset_size: evaluation data; train_size: 0 when there is no training split. limit caps
// the evaluation samples (0 = all), spread over the remaining ones. Throws octet::Error when
// the dataset cannot spare the calibration samples.
SamplePlan plan_samples(int64_t dataset_size, int64_t train_size, int64_t calib_samples, int64_t limit);

}  // namespace octet::bench
