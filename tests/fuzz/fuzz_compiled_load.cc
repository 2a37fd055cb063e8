// libFuzzer entry point for harness_compiled_load.h (compiled-model bytes -> load -> run).
//
// Seeds: compiled files are made by this build, so the binary writes its own. With
// OCTET_FUZZ_COMPILED_SEEDS=OUT and OCTET_FUZZ_ONNX_SEEDS=DIR set, LLVMFuzzerInitialize
// compiles every ONNX model of DIR (FP32 on the reference level and on the best one) and
// writes the compiled files to OUT (run_fuzz.sh does this before fuzzing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz/harness_compiled_load.h"

namespace {

void write_seeds(const char* onnx_dir, const char* out_dir) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  int written = 0;
  for (const auto& entry : fs::directory_iterator(onnx_dir)) {
    std::ifstream f(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), {});
    for (const char* isa : {"ref", "auto"}) {
      try {
        octet::Model model = octet::Model::load_from_buffer(bytes.data(), bytes.size(), "");
        octet::CompileOptions options;
        options.isa = isa;
        options.threads = 1;
        options.max_memory_bytes = uint64_t(64) << 20;
        octet::CompiledModel compiled = octet::CompiledModel::compile(model, options);
        const fs::path out = fs::path(out_dir) / (entry.path().filename().string() + "." + isa + ".ocm");
        compiled.save(out.string());
        if (fs::file_size(out) > 131072) fs::remove(out);  // keep executions fast
        else ++written;
      } catch (const octet::Error&) {
        // not every seed model compiles: skip it
      }
    }
  }
  std::fprintf(stderr, "fuzz_compiled_load: wrote %d compiled seeds to %s\n", written, out_dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* out = std::getenv("OCTET_FUZZ_COMPILED_SEEDS");
  const char* onnx = std::getenv("OCTET_FUZZ_ONNX_SEEDS");
  if (out && onnx) write_seeds(onnx, out);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  octet::fuzz::fuzz_compiled_load_one(data, size);
  return 0;
}
