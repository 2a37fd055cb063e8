// The zoo models that come with test data, and their test inputs, for suites that run every
// zoo model.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "octet/octet.h"
#include "test_support.h"

namespace octet::testing {

struct ZooModel {
  std::string name;  // "squeezenet1.1"
  std::string path;  // .../models/squeezenet1.1.onnx
  std::string dir;   // .../models/squeezenet1.1, which holds test_data_set_0/
};

// The zoo's models that have a test_data_set_0; empty when the zoo is absent.
inline std::vector<ZooModel> zoo_models_with_test_data() {
  namespace fs = std::filesystem;
  std::vector<ZooModel> models;
  const std::string zoo = zoo_dir();
  if (zoo.empty()) return models;
  for (const auto& entry : fs::directory_iterator(zoo + "/models")) {
    if (entry.path().extension() != ".onnx") continue;
    const std::string name = entry.path().stem().string();
    const std::string dir = zoo + "/models/" + name;
    if (fs::exists(dir + "/test_data_set_0")) models.push_back({name, entry.path().string(), dir});
  }
  return models;
}

// A zoo model's test_data_set_0 inputs by name (the TensorProto's, else the graph input's).
inline std::map<std::string, Tensor> zoo_test_inputs(const ZooModel& model, const std::vector<TensorInfo>& infos) {
  std::map<std::string, Tensor> inputs;
  for (size_t i = 0; i < infos.size(); ++i) {
    std::string name;
    Tensor t = load_tensor_pb(model.dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb", &name);
    inputs[name.empty() ? infos[i].name : name] = t;
  }
  return inputs;
}

}  // namespace octet::testing
