// On the real zoo: every dataset's sample 0, through the manifest's preprocessing, equals that
// model's test_data_set_0 inputs; and the smoke run of the bench_int8 binary. Both skip when
// the zoo is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench_int8/catalog.h"
#include "bench_int8/dataset.h"
#include "bench_int8/peer_ort.h"
#include "test_support.h"

namespace octet::bench {
namespace {
namespace fs = std::filesystem;

std::vector<ModelEntry> zoo_models() {
  ModelSources s;
  s.zoo_dir = octet::testing::zoo_dir();
  return s.zoo_dir.empty() ? std::vector<ModelEntry>{} : discover_models(s, nullptr);
}

TEST(ZooData, SampleZeroEqualsTheReferenceTestData) {
  const std::vector<ModelEntry> models = zoo_models();
  if (models.empty()) GTEST_SKIP() << "model zoo absent (../shared/zoo or $OCTET_ZOO)";
  int checked = 0;
  for (const ModelEntry& m : models) {
    SCOPED_TRACE(m.name);
    EXPECT_EQ(m.error, "") << "every zoo entry is one bench_int8 reads";
    if (!m.has_labelled_data()) {
      // Data inside the zoo must be there; Fashion-MNIST comes from a Debian package.
      const bool in_zoo = m.dataset && m.dataset->root.rfind(octet::testing::zoo_dir(), 0) == 0;
      if (in_zoo) ADD_FAILURE() << m.name << ": " << m.no_data_reason;
      continue;
    }
    ASSERT_FALSE(m.test_data_dir.empty());
    const Inputs sample = open_dataset(m, Split::evaluation)->inputs(0);
    ASSERT_EQ(sample.size(), m.inputs.size());
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      std::string name;
      const Tensor want = load_tensor_pb(m.test_data_dir + "/input_" + std::to_string(i) + ".pb", &name);
      ASSERT_TRUE(sample.count(name)) << "no input named " << name;
      const Tensor& got = sample.at(name);
      ASSERT_EQ(got.dtype(), want.dtype()) << name;
      ASSERT_EQ(got.shape(), want.shape()) << name;
      if (want.dtype() == DType::f32) {
        double worst = 0;
        for (int64_t k = 0; k < want.numel(); ++k)
          worst = std::max(worst, double(std::abs(got.data_as<float>()[k] - want.data_as<float>()[k])));
        EXPECT_LE(worst, 1e-6) << name;
      } else {
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.nbytes())) << name;
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 6);
}

TEST(ZooData, FashionMnistCalibratesOnItsTrainingSplit) {
  for (const ModelEntry& m : zoo_models()) {
    if (m.name != "fmnist-resnet") continue;
    if (!m.has_labelled_data()) GTEST_SKIP() << "Fashion-MNIST not installed";
    EXPECT_TRUE(has_train_split(m));
    EXPECT_EQ(open_dataset(m, Split::train)->size(), 60000);
    return;
  }
  GTEST_SKIP() << "model zoo absent";
}

TEST(ZooData, EvalInputsFileHasTheDocumentedLayout) {
  Tensor a(DType::f32, {1, 2});
  a.data_as<float>()[1] = 1.5f;
  Tensor b(DType::s64, {1, 1});
  b.data_as<int64_t>()[0] = 7;
  const std::string path = (fs::temp_directory_path() / ("octet-evalinputs-" + std::to_string(getpid()))).string();
  write_eval_inputs(path, {{{"a", a}, {"b", b}}, {{"a", a}, {"b", b}}});
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(path);
  // magic 8 + counts 8 + input a (4+1+8+16) + input b (4+1+8+16) + 2 records of 8 + 8 bytes.
  ASSERT_EQ(bytes.size(), 8u + 8 + 29 + 29 + 2 * 16);
  EXPECT_EQ(bytes.substr(0, 8), "OCTEVAL1");
  EXPECT_EQ(bytes[8], 2);   // samples
  EXPECT_EQ(bytes[12], 2);  // inputs
}

// ONNX Runtime reads octet's OCTEVAL1 files: its FP32 arg-max on 20 MNIST samples equals the
// labels as often as octet's does. Runs where onnxruntime-node is installed ($OCTET_ORT_DIR or
// build/peers), since installing it needs the npm registry.
TEST(PeerOrt, EvalInputsRoundTripThroughOnnxRuntime) {
  const std::vector<ModelEntry> models = zoo_models();
  if (models.empty()) GTEST_SKIP() << "model zoo absent";
  std::string ort_dir = std::getenv("OCTET_ORT_DIR") ? std::getenv("OCTET_ORT_DIR") : "";
  if (ort_dir.empty()) ort_dir = std::string(OCTET_SOURCE_DIR) + "/build/peers";
  if (!fs::exists(fs::path(ort_dir) / "node_modules" / "onnxruntime-node"))
    GTEST_SKIP() << "onnxruntime-node not installed in " << ort_dir;
  const ModelEntry* mnist = nullptr;
  for (const ModelEntry& m : models)
    if (m.name == "mnist-8") mnist = &m;
  ASSERT_NE(mnist, nullptr);
  const OrtPeer peer = prepare_ort_peer(OCTET_SOURCE_DIR, ort_dir);
  const auto data = open_dataset(*mnist, Split::evaluation);
  const std::string work = (fs::temp_directory_path() / ("octet-ort-" + std::to_string(getpid()))).string();
  const std::vector<int64_t> predicted =
      ort_eval_argmax(peer, mnist->onnx_path, 1, 20, [&](int64_t k) { return data->inputs(k); }, work);
  fs::remove_all(work);
  ASSERT_EQ(predicted.size(), 20u);
  int hits = 0;
  for (int64_t k = 0; k < 20; ++k) hits += predicted[k] == data->label(k);
  EXPECT_GE(hits, 19);  // mnist-8 is 98.9 % accurate; a mangled file would score ~10 %
}

// The smoke run: bench_int8 end to end on mnist-8 (calibrate, INT8, QDQ export and
// re-import, accuracy and throughput), checked through its JSON report.
TEST(BenchInt8Smoke, Mnist8JsonHasFp32AndInt8Rows) {
  const std::string zoo = octet::testing::zoo_dir();
  if (zoo.empty()) GTEST_SKIP() << "model zoo absent (../shared/zoo or $OCTET_ZOO)";
  const std::string binary = std::string(OCTET_BINARY_DIR) + "/bench/bench_int8";
  ASSERT_TRUE(fs::exists(binary)) << binary << " not built";
  const std::string out = (fs::temp_directory_path() / ("octet-smoke-" + std::to_string(getpid()) + ".json")).string();
  const std::string command = shell_quote(binary) + " --zoo=" + shell_quote(zoo) +
                              " --models=mnist-8 --limit=50 --time=1 --peer=none --format=json --no-progress --out=" +
                              shell_quote(out) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string log;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) log.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 0) << log;
  std::ifstream in(out);
  ASSERT_TRUE(in) << "no JSON written; log:\n" << log;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(in)) << log;
  fs::remove(out);
  ASSERT_TRUE(j.contains("machine") && j.contains("config") && j.contains("rows"));
  ASSERT_EQ(j["rows"].size(), 1u);
  const nlohmann::json& row = j["rows"][0];
  EXPECT_EQ(row["model"], "mnist-8");
  EXPECT_EQ(row["samples"], 50);
  ASSERT_TRUE(row["fp32"].is_number()) << row.dump();
  EXPECT_GT(row["fp32"].get<double>(), 90.0);
  ASSERT_TRUE(row["fp32_ips"].is_number()) << row.dump();
  EXPECT_GT(row["fp32_ips"].get<double>(), 0.0);
  ASSERT_TRUE(row["int8"].is_number()) << "INT8 accuracy missing: " << row["error"].dump();
  EXPECT_GT(row["int8"].get<double>(), 90.0);
  ASSERT_TRUE(row["int8_ips"].is_number()) << row.dump();
  EXPECT_GT(row["int8_ips"].get<double>(), 0.0);
  EXPECT_TRUE(row["drop"].is_number());
  EXPECT_TRUE(row["agreement"].is_number());
  EXPECT_TRUE(row["speedup"].is_number());
  EXPECT_TRUE(row["int8_mem_mb"].is_number());
}

}  // namespace
}  // namespace octet::bench
