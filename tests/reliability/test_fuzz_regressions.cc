// Replays every input committed to tests/fuzz/regressions/<target>/ through the same harness
// the fuzzer ran (tests/fuzz/harness_*.h), in the ordinary test build: an input that once
// crashed octet must now be handled (accepted, or refused with octet::Error). The dataset
// readers' regressions are replayed by the fuzz build (ctest -L fuzz, tests/fuzz/run_fuzz.sh),
// which compiles those readers in.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/harness_compiled_load.h"
#include "fuzz/harness_model_load.h"
#include "fuzz/harness_tensor_proto.h"
#include "reliability/reliability_util.h"

namespace octet::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> regression_inputs(const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(OCTET_SOURCE_DIR) / "tests" / "fuzz" / "regressions" / target;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.' && e.path().extension() != ".md")
        files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

template <class Harness>
void replay(const std::string& target, Harness&& harness) {
  const std::vector<fs::path> files = regression_inputs(target);
  std::cout << "[ replay   ] " << files.size() << " " << target << " regression inputs\n";
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.string());
    const std::string bytes = read_bytes(p);
    try {
      harness(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "regression input " << p.filename() << ": " << e.what();
    }
  }
}

TEST(FuzzRegressions, ModelLoad) {
  replay("fuzz_model_load", [](const uint8_t* d, size_t n) { fuzz::fuzz_model_load_one(d, n); });
}

TEST(FuzzRegressions, CompiledLoad) {
  replay("fuzz_compiled_load", [](const uint8_t* d, size_t n) { fuzz::fuzz_compiled_load_one(d, n); });
}

TEST(FuzzRegressions, TensorProto) {
  fuzz::ExternalDataFixture fixture;
  replay("fuzz_tensor_proto",
         [&](const uint8_t* d, size_t n) { fuzz::fuzz_tensor_proto_one(d, n, fixture.model_dir()); });
}

// The harnesses themselves: a valid input goes all the way through, a broken one is refused,
// and an internal failure disguised as octet::Error is recognised.
TEST(FuzzRegressions, HarnessesAcceptValidInputs) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 4});
  b.node("Relu", {"x"}, {"y"}, "relu");
  b.output("y", TP::FLOAT, {1, 4});
  const std::string model = b.bytes();
  EXPECT_NO_THROW(fuzz::fuzz_model_load_one(reinterpret_cast<const uint8_t*>(model.data()), model.size()));
  EXPECT_NO_THROW(fuzz::fuzz_model_load_one(reinterpret_cast<const uint8_t*>(model.data()), model.size() / 2));

  fuzz::ExternalDataFixture fixture;
  std::string tensor;
  tensor_f32("t", {2, 2}, {1, 2, 3, 4}).SerializeToString(&tensor);
  EXPECT_NO_THROW(fuzz::fuzz_tensor_proto_one(reinterpret_cast<const uint8_t*>(tensor.data()), tensor.size(),
                                              fixture.model_dir()));
  EXPECT_THROW(fuzz::check_clean_error(Error("Session::run: internal error: vector::_M_range_check")),
               fuzz::Finding);
  EXPECT_NO_THROW(fuzz::check_clean_error(Error("bad.onnx: node 'x' (Relu): cycle")));
}

// The external-data fixture's escape routes are really refused (the tensor fuzzer's oracle
// relies on them existing).
TEST(FuzzRegressions, TensorFixtureEscapesAreRefused) {
  fuzz::ExternalDataFixture fixture;
  for (const char* location : {"escape.bin", "up/secret.bin", "../secret.bin"}) {
    SCOPED_TRACE(location);
    const TP t = tensor_external("t", TP::UINT8, {16}, location);
    std::string bytes;
    t.SerializeToString(&bytes);
    EXPECT_NO_THROW(
        fuzz::fuzz_tensor_proto_one(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), fixture.model_dir()));
    frontend::TensorSource src{"t.pb", fixture.model_dir()};
    EXPECT_THROW(frontend::tensor_from_proto(t, src, "t"), Error);
  }
}

}  // namespace
}  // namespace octet::testing
