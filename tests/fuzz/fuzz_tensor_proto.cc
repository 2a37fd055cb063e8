// libFuzzer entry point for harness_tensor_proto.h (TensorProto bytes -> Tensor).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz/harness_tensor_proto.h"

namespace {
std::unique_ptr<octet::fuzz::ExternalDataFixture> fixture;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture = std::make_unique<octet::fuzz::ExternalDataFixture>();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  octet::fuzz::fuzz_tensor_proto_one(data, size, fixture->model_dir());
  return 0;
}
