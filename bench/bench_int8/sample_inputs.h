// Model inputs that do not come from a dataset: synthetic calibration samples for the
// architecture-only models, and batched copies of one sample for throughput runs.
#pragma once

#include <cstdint>
#include <vector>

#include "bench_int8/dataset.h"

namespace octet::bench {

// count samples for the model's inputs: float tensors N(0,1) from a fixed seed (sample k uses
// seed k), integer tensors all ones (a valid token id and attention mask). Dimensions that
// are not static are 1. When test_data_dir holds input_N.pb, they are sample 0.
std::vector<Inputs> synthetic_samples(const std::vector<TensorInfo>& inputs, int count, const std::string& test_data_dir);

// The sample repeated `batch` times along dimension 0 (which must be 1).
Inputs tile_batch(const Inputs& sample, int batch);

// Reads test_data_dir/input_N.pb into the model's input names (by the tensor's own name, or
// by position). Empty when there is no such file.
Inputs load_test_inputs(const std::vector<TensorInfo>& inputs, const std::string& test_data_dir);

}  // namespace octet::bench
