#include "bench_int8/sample_plan.h"

#include <algorithm>

#include "octet/octet.h"

namespace octet::bench {

const char* calibration_source_name(CalibrationSource s) {
  return s == CalibrationSource::train_split ? "train split" : "held-out slice";
}

std::vector<int64_t> spread_indices(int64_t size, int64_t count) {
  std::vector<int64_t> out;
  if (size <= 0 || count <= 0) return out;
  count = std::min(count, size);
  out.reserve(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    // (2k + 1) * size / (2 count) in integers: exact, strictly increasing since count <= size.
    out.push_back(((2 * k + 1) * size) / (2 * count));
  }
  return out;
}

SamplePlan plan_samples(int64_t dataset_size, int64_t train_size, int64_t calib_samples, int64_t limit) {
  if (dataset_size <= 0) throw Error("sample plan: the dataset is empty");
  if (calib_samples <= 0) throw Error("sample plan: calibration needs at least one sample");
  SamplePlan plan;
  std::vector<int64_t> remaining;
  if (train_size > 0) {
    plan.source = CalibrationSource::train_split;
    plan.calibration = spread_indices(train_size, calib_samples);
    remaining.resize(static_cast<size_t>(dataset_size));
    for (int64_t i = 0; i < dataset_size; ++i) remaining[i] = i;
  } else {
    plan.source = CalibrationSource::held_out_slice;
    if (calib_samples >= dataset_size)
      throw Error("sample plan: " + std::to_string(calib_samples) + " calibration samples would leave none of the " +
                  std::to_string(dataset_size) + " samples for evaluation (lower --calib-samples)");
    plan.calibration = spread_indices(dataset_size, calib_samples);
    std::vector<bool> held(static_cast<size_t>(dataset_size), false);
    for (int64_t i : plan.calibration) held[i] = true;
    for (int64_t i = 0; i < dataset_size; ++i)
      if (!held[i]) remaining.push_back(i);
  }
  if (limit > 0 && limit < static_cast<int64_t>(remaining.size())) {
    for (int64_t k : spread_indices(static_cast<int64_t>(remaining.size()), limit)) plan.evaluation.push_back(remaining[k]);
  } else {
    plan.evaluation = std::move(remaining);
  }
  return plan;
}

}  // namespace octet::bench
