// bench_int8, the main job's program, against a zoo whose manifest mixes good entries with
// hostile ones (wrong types, nulls, missing keys and files, paths leaving the zoo, unknown
// formats and metrics): every good row is measured, each bad entry is one error row naming
// its key, and the exit status says that rows failed. Runs the built binary end to end;
// builds without the benchmarks (the sanitizer builds) skip.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reliability/reliability_util.h"

namespace octet::testing {
namespace {
namespace fs = std::filesystem;

const std::string kBenchInt8 = std::string(OCTET_BINARY_DIR) + "/bench/bench_int8";

// y = x * W (Gemm), 1 x 16 -> 1 x 8: fast on the reference kernels in FP32 and INT8.
void save_tiny_model(const std::string& path) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 16});
  std::vector<float> w(16 * 8);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 37) % 17) / 17.0f - 0.5f;
  b.initializer(tensor_f32("w", {16, 8}, w));
  b.node("Gemm", {"x", "w"}, {"y"}, "gemm");
  b.output("y", TP::FLOAT, {1, 8});
  b.save(path);
}

struct BenchRun {
  int status = -1;
  std::string stderr_text;
  nlohmann::json report;
};

BenchRun run_bench(const std::string& zoo, const std::string& empty_dir, const std::string& out_dir) {
  const std::string json_path = out_dir + "/report.json", err_path = out_dir + "/stderr.txt";
  const std::string command = kBenchInt8 + " --zoo=" + zoo + " --models-dir=" + empty_dir + " --local-dir=" + empty_dir +
                              " --isa=ref --mode=throughput --time=0.02 --calib-samples=2 --peer=none --no-progress"
                              " --format=json --out=" + json_path + " 2>" + err_path;
  BenchRun r;
  const int raw = std::system(command.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream err(err_path);
  std::stringstream s;
  s << err.rdbuf();
  r.stderr_text = s.str();
  std::ifstream in(json_path);
  if (in) r.report = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return r;
}

const nlohmann::json* row_of(const nlohmann::json& report, const std::string& model) {
  if (!report.is_object() || !report.contains("rows")) return nullptr;
  for (const auto& row : report["rows"])
    if (row.value("model", "") == model) return &row;
  return nullptr;
}

TEST(HostileManifests, OneBadEntryFailsOneRowAndTheRunSaysSo) {
  if (!fs::exists(kBenchInt8)) GTEST_SKIP() << kBenchInt8 << " is not built in this build (benchmarks off)";
  TempDir tmp;
  const std::string zoo = tmp.file("zoo"), empty = tmp.file("empty"), out = tmp.file("out");
  for (const std::string& d : {zoo + "/models", zoo + "/datasets/digits", empty, out}) fs::create_directories(d);
  save_tiny_model(zoo + "/models/tiny.onnx");
  save_tiny_model(tmp.file("outside.onnx"));
  for (const char* f : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    std::ofstream(zoo + "/datasets/digits/" + f) << "not read in throughput mode";
  std::ofstream(zoo + "/manifest.json") << R"json({
    "entries": [
      {"name": "good-a", "file": "models/tiny.onnx", "architecture_only": true,
       "inputs": [{"name": "x", "dtype": "float32", "shape": [1, 16]}]},
      {"name": "face-null", "file": "models/tiny.onnx", "dataset": "digits", "metric": {"type": "top-1 accuracy"},
       "pipeline": {"kind": "image", "color": "GRAY", "resize": {"shorter_side": null, "interpolation": "bilinear"}}},
      {"name": "wrong-type", "file": ["models/tiny.onnx"]},
      {"name": "missing-file", "file": "models/absent.onnx"},
      {"name": "escapes", "file": "../outside.onnx"},
      {"name": "bad-format", "file": "models/tiny.onnx", "dataset": "weird"},
      {"name": "bad-metric", "file": "models/tiny.onnx", "dataset": "digits", "metric": {"type": "COCO mAP"},
       "pipeline": {"kind": "image", "color": "GRAY"}},
      {"name": "good-b", "file": "models/tiny.onnx", "architecture_only": true}
    ],
    "datasets": {
      "digits": {"path": "datasets/digits", "format": "idx (gzip)",
                 "files": ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]},
      "weird": {"path": "datasets/digits", "format": "hdf5"}
    }})json";

  const BenchRun r = run_bench(zoo, empty, out);
  EXPECT_EQ(r.status, 1) << r.stderr_text;
  EXPECT_CONTAINS(r.stderr_text, "6 of 8 models had errors");
  EXPECT_EQ(r.stderr_text.find("json.exception"), std::string::npos) << r.stderr_text;
  ASSERT_TRUE(r.report.is_object()) << "no JSON report written; stderr:\n" << r.stderr_text;

  for (const char* good : {"good-a", "good-b"}) {
    const nlohmann::json* row = row_of(r.report, good);
    ASSERT_NE(row, nullptr) << good;
    EXPECT_TRUE((*row)["error"].is_null()) << (*row)["error"];
    EXPECT_TRUE((*row)["speedup"].is_number()) << good << " was not measured";
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"face-null", "pipeline.resize.shorter_side: is null, expected an integer"},
      {"wrong-type", "file: is an array, expected a string"},
      {"missing-file", "models/absent.onnx is missing"},
      {"escapes", "'../outside.onnx' leaves the manifest's folder"},
      {"bad-format", "'hdf5' is not a dataset format"},
      {"bad-metric", "'COCO mAP' is not a metric bench_int8 computes"},
  };
  for (const auto& [model, reason] : bad) {
    const nlohmann::json* row = row_of(r.report, model);
    ASSERT_NE(row, nullptr) << model;
    EXPECT_TRUE((*row)["failed"].get<bool>()) << model;
    ASSERT_TRUE((*row)["error"].is_string()) << model;
    EXPECT_CONTAINS((*row)["error"].get<std::string>(), reason);
    EXPECT_CONTAINS((*row)["error"].get<std::string>(), "[" + model + "]");
  }
}

TEST(HostileManifests, AllGoodEntriesExitZero) {
  if (!fs::exists(kBenchInt8)) GTEST_SKIP() << kBenchInt8 << " is not built in this build (benchmarks off)";
  TempDir tmp;
  const std::string zoo = tmp.file("zoo"), empty = tmp.file("empty"), out = tmp.file("out");
  for (const std::string& d : {zoo + "/models", empty, out}) fs::create_directories(d);
  save_tiny_model(zoo + "/models/tiny.onnx");
  std::ofstream(zoo + "/manifest.json")
      << R"({"entries": [{"name": "only", "file": "models/tiny.onnx", "architecture_only": true}]})";
  const BenchRun r = run_bench(zoo, empty, out);
  EXPECT_EQ(r.status, 0) << r.stderr_text;
  const nlohmann::json* row = row_of(r.report, "only");
  ASSERT_NE(row, nullptr);
  EXPECT_TRUE((*row)["speedup"].is_number());
  EXPECT_CONTAINS(r.report["notes"].dump(), "ONNX Runtime was not measured in this run (--peer=none)");
}

}  // namespace
}  // namespace octet::testing
