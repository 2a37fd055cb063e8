#include "bench_int8/sample_inputs.h"

#include <cstring>
#include <filesystem>
#include <random>

namespace octet::bench {
namespace fs = std::filesystem;

Inputs load_test_inputs(const std::vector<TensorInfo>& inputs, const std::string& test_data_dir) {
  Inputs out;
  if (test_data_dir.empty()) return out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const fs::path file = fs::path(test_data_dir) / ("input_" + std::to_string(i) + ".pb");
    if (!fs::exists(file)) break;
    std::string name;
    Tensor t = load_tensor_pb(file.string(), &name);
    bool known = false;
    for (const TensorInfo& info : inputs) known |= info.name == name;
    out[known ? name : inputs[i].name] = t;
  }
  if (out.size() != inputs.size()) out.clear();  // partial test data is no sample
  return out;
}

std::vector<Inputs> synthetic_samples(const std::vector<TensorInfo>& inputs, int count, const std::string& test_data_dir) {
  std::vector<Inputs> samples;
  if (count <= 0) return samples;
  Inputs first = load_test_inputs(inputs, test_data_dir);
  if (!first.empty()) samples.push_back(std::move(first));
  for (int k = static_cast<int>(samples.size()); k < count; ++k) {
    std::mt19937 rng(static_cast<uint32_t>(k));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Inputs sample;
    for (const TensorInfo& info : inputs) {
      Shape shape = info.shape;
      for (int64_t& d : shape)
        if (d <= 0) d = 1;
      Tensor t(info.dtype, shape);
      const int64_t n = t.numel();
      switch (info.dtype) {
        case DType::f32:
          for (int64_t i = 0; i < n; ++i) t.data_as<float>()[i] = normal(rng);
          break;
        case DType::s64:
          for (int64_t i = 0; i < n; ++i) t.data_as<int64_t>()[i] = 1;
          break;
        case DType::s32:
          for (int64_t i = 0; i < n; ++i) t.data_as<int32_t>()[i] = 1;
          break;
        default:
          break;  // zeros
      }
      sample[info.name] = t;
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

Inputs tile_batch(const Inputs& sample, int batch) {
  if (batch == 1) return sample;
  Inputs out;
  for (const auto& [name, t] : sample) {
    if (t.rank() == 0 || t.shape()[0] != 1)
      throw Error("tile_batch: input " + name + " " + shape_str(t.shape()) + " has no batch dimension of 1");
    Shape shape = t.shape();
    shape[0] = batch;
    Tensor tiled(t.dtype(), shape);
    for (int b = 0; b < batch; ++b)
      std::memcpy(static_cast<char*>(tiled.data()) + b * t.nbytes(), t.data(), t.nbytes());
    out[name] = tiled;
  }
  return out;
}

}  // namespace octet::bench
