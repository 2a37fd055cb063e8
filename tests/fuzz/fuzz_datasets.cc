// libFuzzer entry point for harness_datasets.h (IDX, JPEG, TSV and vocabulary readers).
#include <cstddef>
#include <cstdint>

#include "fuzz/harness_datasets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  octet::fuzz::fuzz_datasets_one(data, size);
  return 0;
}
