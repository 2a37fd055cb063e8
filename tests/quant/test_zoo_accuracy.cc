// A small zoo model keeps its accuracy in INT8 (mnist-8 on a slice of MNIST, read from the
// zoo's idx.gz files), and the accuracy-aware mode falls back layers when the budget says so.
#include <cstdio>
#include <filesystem>
#include <set>

#include "quant_test_util.h"
#include "runtime/program.h"

namespace octet::testing {
namespace {

// Decompresses a gzip file with the system's gzip (no zlib in this test binary).
std::vector<uint8_t> gunzip(const std::string& path) {
  std::vector<uint8_t> out;
  FILE* p = ::popen(("gzip -dc '" + path + "'").c_str(), "r");
  if (!p) return out;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.insert(out.end(), buf, buf + n);
  ::pclose(p);
  return out;
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

struct Mnist {
  std::vector<uint8_t> images, labels;  // after the IDX headers
  int64_t count = 0;
};

Mnist load_mnist(const std::string& dir) {
  Mnist m;
  std::vector<uint8_t> img = gunzip(dir + "/t10k-images-idx3-ubyte.gz");
  std::vector<uint8_t> lab = gunzip(dir + "/t10k-labels-idx1-ubyte.gz");
  if (img.size() < 16 || lab.size() < 8 || be32(img.data()) != 0x803 || be32(lab.data()) != 0x801) return m;
  m.count = be32(img.data() + 4);
  if (be32(img.data() + 8) != 28 || be32(img.data() + 12) != 28 || be32(lab.data() + 4) != m.count ||
      img.size() != 16 + static_cast<size_t>(m.count) * 784 || lab.size() != 8 + static_cast<size_t>(m.count))
    return Mnist{};
  m.images.assign(img.begin() + 16, img.end());
  m.labels.assign(lab.begin() + 8, lab.end());
  return m;
}

// The zoo's preprocessing for mnist-8: pixel / 255, [1, 1, 28, 28].
Sample mnist_sample(const Mnist& m, int64_t i) {
  Tensor t(DType::f32, {1, 1, 28, 28});
  for (int k = 0; k < 784; ++k) t.data_as<float>()[k] = m.images[i * 784 + k] * (1.0f / 255.0f);
  return {{"Input3", t}};
}

double accuracy(const CompiledModel& model, const Mnist& data, const std::vector<int64_t>& indices) {
  Session s = model.create_session();
  const std::string out = model.outputs()[0].name;
  int64_t correct = 0;
  for (int64_t i : indices) {
    const Tensor y = s.run(mnist_sample(data, i)).at(out);
    int best = 0;
    for (int c = 1; c < 10; ++c)
      if (y.data_as<float>()[c] > y.data_as<float>()[best]) best = c;
    correct += best == data.labels[i];
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(indices.size());
}

class ZooAccuracy : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string zoo = zoo_dir();
    if (zoo.empty()) GTEST_SKIP() << "../shared/zoo is absent";
    data_ = load_mnist(zoo + "/datasets/mnist-test");
    if (data_.count < 10000) GTEST_SKIP() << "cannot read the MNIST idx.gz files (gzip missing?)";
    model_ = std::make_unique<Model>(Model::load(zoo + "/models/mnist-8.onnx"));
    // Calibration: 100 samples spread over the first half; evaluation: a slice of the second.
    for (int64_t i = 0; i < 100; ++i) calibration_.push_back(mnist_sample(data_, i * 50));
    for (int64_t i = 5000; i < 6000; ++i) evaluation_.push_back(i);
  }
  Mnist data_;
  std::unique_ptr<Model> model_;
  std::vector<Sample> calibration_;
  std::vector<int64_t> evaluation_;
};

TEST_F(ZooAccuracy, Mnist8Int8WithinBudget) {
  const double fp32 = accuracy(CompiledModel::compile(*model_), data_, evaluation_);
  EXPECT_GT(fp32, 97.0);
  for (CalibrationMethod method : {CalibrationMethod::minmax, CalibrationMethod::entropy}) {
    const double int8 = accuracy(compile_int8(*model_, calibration_, "auto", method), data_, evaluation_);
    EXPECT_LE(fp32 - int8, 0.5) << "method " << static_cast<int>(method) << ": FP32 " << fp32 << " INT8 " << int8;
  }
}

TEST_F(ZooAccuracy, AccuracyAwareModeWithinBudgetNeedsNoFallback) {
  std::vector<int64_t> slice(evaluation_.begin(), evaluation_.begin() + 300);
  CompileOptions o;
  o.precision = Precision::int8;
  o.calibration_data = calibration_;
  o.accuracy_budget_points = 1.0;
  int evaluations = 0;
  o.evaluate = [&](const CompiledModel& m) {
    ++evaluations;
    return accuracy(m, data_, slice);
  };
  CompiledModel q = CompiledModel::compile(*model_, o);
  EXPECT_EQ(evaluations, 2);  // FP32 and INT8, once each
  for (const auto& e : q.quantization_report()) EXPECT_FALSE(e.fp32_fallback) << e.tensor;
}

TEST_F(ZooAccuracy, AccuracyAwareModeFallsBackLowestSqnrFirst) {
  std::vector<int64_t> slice(evaluation_.begin(), evaluation_.begin() + 200);
  // A budget no INT8 layer can meet: every quantized layer falls back, lowest SQNR first.
  CompileOptions o;
  o.precision = Precision::int8;
  o.calibration_data = calibration_;
  const auto plain = compile_int8(*model_, calibration_, "auto").quantization_report();
  o.accuracy_budget_points = -1000;
  o.evaluate = [&](const CompiledModel& m) { return accuracy(m, data_, slice); };
  CompiledModel q = CompiledModel::compile(*model_, o);
  std::vector<LayerError> fallbacks;
  for (const auto& e : q.quantization_report())
    if (e.fp32_fallback) fallbacks.push_back(e);
  ASSERT_EQ(fallbacks.size(), 3u);  // two Conv and the Gemm
  std::set<std::string> ops;
  for (const auto& f : fallbacks) {
    ops.insert(f.op);
    EXPECT_FALSE(f.note.empty());
    EXPECT_FALSE(f.node.empty());
  }
  EXPECT_EQ(ops, (std::set<std::string>{"Conv", "Gemm"}));
  // The first fallback was the layer with the lowest SQNR of the plain INT8 model.
  double lowest = 1e9;
  std::string lowest_node;
  for (const auto& e : plain)
    if ((e.op == "Conv" || e.op == "Gemm") && e.sqnr_db < lowest) {
      lowest = e.sqnr_db;
      lowest_node = e.node;
    }
  EXPECT_EQ(fallbacks[0].node, lowest_node);
  for (const auto& n : q.program()->graph.nodes) EXPECT_NE(n.op_type, "QLinearConv");
}

}  // namespace
}  // namespace octet::testing
