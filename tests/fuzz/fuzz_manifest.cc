// libFuzzer entry point for harness_manifest.h (bench_int8's manifest reader).
#include <cstddef>
#include <cstdint>

#include "fuzz/harness_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  octet::fuzz::fuzz_manifest_one(data, size);
  return 0;
}
