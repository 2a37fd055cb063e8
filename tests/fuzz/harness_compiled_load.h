// fuzz_compiled_load: bytes -> CompiledModel::load_from_buffer -> Session::run, through the
// public API. A file whose header starts right gets its checksum recomputed first: otherwise
// nearly every mutation would stop at the checksum, and the manifest parser, the graph checks
// and the packed-weight checks behind it would go unexercised.
//
// Oracles, beyond "no crash, no sanitizer report, only octet::Error": a model that loads
// runs on zero inputs (when small) and returns exactly the outputs it announces.
#pragma once

#include <cstring>
#include <optional>
#include <string>

#include "fuzz/harness_model_load.h"
#include "runtime/compiled_file/checksum.h"
#include "runtime/compiled_file/compiled_file_format.h"

namespace octet::fuzz {

inline void fuzz_compiled_load_one(const uint8_t* data, size_t size, const ModelLoadLimits& limits = {}) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size >= detail::kCompiledHeaderBytes &&
      std::memcmp(bytes.data(), detail::kCompiledMagic, sizeof(detail::kCompiledMagic)) == 0) {
    const uint64_t sum = detail::block_checksum(reinterpret_cast<const unsigned char*>(bytes.data()), size,
                                                detail::kHdrChecksum, detail::kHdrChecksum + 8, 1);
    std::memcpy(&bytes[detail::kHdrChecksum], &sum, 8);
  }
  std::optional<CompiledModel> compiled;
  try {
    compiled = CompiledModel::load_from_buffer(bytes.data(), bytes.size(), 1);
  } catch (const Error& e) {
    check_clean_error(e);
    return;
  }
  (void)compiled->describe();
  (void)compiled->quantization_report();
  uint64_t input_bytes = 0;
  for (const TensorInfo& info : compiled->inputs()) {
    if (dtype_size(info.dtype) == 0) return;
    input_bytes += static_cast<uint64_t>(shape_numel(info.shape)) * dtype_size(info.dtype);
  }
  if (input_bytes > limits.max_run_input_bytes || compiled->arena_bytes() > limits.max_run_arena_bytes) return;
  std::map<std::string, Tensor> zeros;
  for (const TensorInfo& info : compiled->inputs()) zeros.emplace(info.name, Tensor(info.dtype, info.shape));
  Session session = compiled->create_session();
  run_checked(*compiled, session, zeros);
}

}  // namespace octet::fuzz
