// fuzz_model_load: bytes -> Model::load_from_buffer -> CompiledModel::compile -> Session::run,
// through the public API only, the way an application that loads untrusted files uses it.
//
// Oracles, beyond "no crash, no sanitizer report, only octet::Error":
//  - a compiled model respects CompileOptions::max_memory_bytes;
//  - Session::run returns exactly the outputs CompiledModel::outputs() announces, with those
//    dtypes and shapes.
// A model that compiles with small inputs and a small arena runs twice: with zero inputs, and
// with inputs filled from the fuzz bytes themselves (so the fuzzer also steers runtime data:
// indices, NaNs, huge values). Then it is compiled for the best ISA of the machine and run
// again, which reaches the SIMD and JIT kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>

#include "fuzz/fuzz_common.h"
#include "octet/octet.h"

namespace octet::fuzz {

struct ModelLoadLimits {
  uint64_t max_memory_bytes = uint64_t(256) << 20;  // CompileOptions::max_memory_bytes
  uint64_t max_run_input_bytes = uint64_t(1) << 20;  // larger inputs: compile only
  uint64_t max_run_arena_bytes = uint64_t(64) << 20;
};

// Fills t with `pattern` repeated; booleans become 0/1 (the only values a bool tensor may hold).
inline void fill_from_pattern(Tensor& t, const uint8_t* pattern, size_t size) {
  if (size == 0 || t.nbytes() == 0) return;
  auto* out = static_cast<uint8_t*>(t.data());
  for (size_t i = 0; i < t.nbytes(); ++i) out[i] = pattern[i % size];
  if (t.dtype() == DType::boolean)
    for (size_t i = 0; i < t.nbytes(); ++i) out[i] = out[i] & 1;
}

inline void run_checked(const CompiledModel& compiled, Session& session, const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Tensor> outputs;
  try {
    outputs = session.run(inputs);
  } catch (const Error& e) {
    check_clean_error(e);
    return;
  }
  const std::vector<TensorInfo> declared = compiled.outputs();
  require(outputs.size() <= declared.size(), "Session::run returned more outputs than the model declares");
  for (const TensorInfo& info : declared) {
    auto it = outputs.find(info.name);
    require(it != outputs.end(), "Session::run did not return output '" + info.name + "'");
    require(it->second.dtype() == info.dtype && it->second.shape() == info.shape,
            "output '" + info.name + "' is " + dtype_name(it->second.dtype()) + " " + shape_str(it->second.shape()) +
                " but the compiled model announces " + dtype_name(info.dtype) + " " + shape_str(info.shape));
  }
}

// Returns true when the model compiled for `isa`.
inline bool compile_and_run(const Model& model, const std::string& isa, const uint8_t* data, size_t size,
                            const ModelLoadLimits& limits, bool run_zeros) {
  CompileOptions options;
  options.isa = isa;
  options.threads = 1;
  options.max_memory_bytes = limits.max_memory_bytes;
  std::optional<CompiledModel> compiled;
  try {
    compiled = CompiledModel::compile(model, options);
  } catch (const Error& e) {
    check_clean_error(e);
    return false;
  }
  require(compiled->arena_bytes() + compiled->weights_bytes() <= limits.max_memory_bytes,
          "compile accepted a model over CompileOptions::max_memory_bytes");
  (void)compiled->describe();

  uint64_t input_bytes = 0;
  for (const TensorInfo& info : compiled->inputs()) {
    if (dtype_size(info.dtype) == 0) return true;  // e.g. a string input: nothing to feed
    input_bytes += static_cast<uint64_t>(shape_numel(info.shape)) * dtype_size(info.dtype);
  }
  if (input_bytes > limits.max_run_input_bytes || compiled->arena_bytes() > limits.max_run_arena_bytes) return true;

  std::map<std::string, Tensor> zeros, patterned;
  for (const TensorInfo& info : compiled->inputs()) {
    zeros.emplace(info.name, Tensor(info.dtype, info.shape));
    Tensor t(info.dtype, info.shape);
    fill_from_pattern(t, data, size);
    patterned.emplace(info.name, t);
  }
  Session session = compiled->create_session();
  if (run_zeros) run_checked(*compiled, session, zeros);
  run_checked(*compiled, session, patterned);
  return true;
}

inline void fuzz_model_load_one(const uint8_t* data, size_t size, const ModelLoadLimits& limits = {}) {
  std::optional<Model> model;
  try {
    model = Model::load_from_buffer(data, size, "");
  } catch (const Error& e) {
    check_clean_error(e);
    return;
  }
  (void)model->inputs();
  (void)model->outputs();
  if (compile_and_run(*model, "ref", data, size, limits, /*run_zeros=*/true))
    compile_and_run(*model, "auto", data, size, limits, /*run_zeros=*/false);
}

}  // namespace octet::fuzz
