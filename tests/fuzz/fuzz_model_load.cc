// libFuzzer entry point for harness_model_load.h (ONNX bytes -> load -> compile -> run).
#include <cstddef>
#include <cstdint>

#include "fuzz/harness_model_load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  octet::fuzz::fuzz_model_load_one(data, size);
  return 0;
}
