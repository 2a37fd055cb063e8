// Every model with reference data (the zoo's test_data_set_0, and the generated models in
// build/models: tools/export_torchvision.py's and tools/export_bert.py's exports) runs in FP32
// and matches its reference outputs. A generated model that was not exported is not listed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "octet/octet.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

struct ModelCase {
  std::string name, onnx, test_dir;
};
void PrintTo(const ModelCase& m, std::ostream* os) { *os << m.name; }

std::vector<ModelCase> find_models(const std::string& dir) {
  std::vector<ModelCase> out;
  if (dir.empty()) return out;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / (fs::exists(fs::path(dir) / "models") ? "models" : ""))) {
    if (e.path().extension() != ".onnx") continue;
    fs::path td = e.path().parent_path() / e.path().stem() / "test_data_set_0";
    if (fs::exists(td)) out.push_back({e.path().stem().string(), e.path().string(), td.string()});
  }
  std::sort(out.begin(), out.end(), [](const ModelCase& a, const ModelCase& b) { return a.name < b.name; });
  return out;
}

// Runs one model at one ISA against its reference outputs (rtol 1e-3, atol 1e-4).
void check_model(const ModelCase& m, const std::string& isa) {
  octet::Model model = octet::Model::load(m.onnx);
  octet::CompileOptions opt;
  opt.isa = isa;
  opt.threads = 2;
  octet::CompiledModel cm = octet::CompiledModel::compile(model, opt);
  std::map<std::string, octet::Tensor> feeds;
  std::vector<octet::TensorInfo> ins = cm.inputs();
  for (size_t i = 0; i < ins.size(); ++i) {
    std::string name;
    octet::Tensor t = octet::load_tensor_pb(m.test_dir + "/input_" + std::to_string(i) + ".pb", &name);
    feeds[name.empty() ? ins[i].name : name] = t;
  }
  octet::Session s = cm.create_session();
  auto outs = s.run(feeds);
  std::vector<octet::TensorInfo> outinfo = cm.outputs();
  for (size_t i = 0; i < outinfo.size(); ++i) {
    std::string path = m.test_dir + "/output_" + std::to_string(i) + ".pb";
    if (!fs::exists(path)) continue;
    std::string name;
    octet::Tensor want = octet::load_tensor_pb(path, &name);
    const octet::Tensor& got = outs.at(name.empty() ? outinfo[i].name : name);
    ASSERT_EQ(got.shape(), want.shape()) << m.name;
    ASSERT_EQ(got.dtype(), octet::DType::f32);
    double max_abs = 0;
    int64_t bad = 0;
    for (int64_t k = 0; k < got.numel(); ++k) {
      double a = got.data_as<float>()[k], b = want.data_as<float>()[k];
      double d = std::fabs(a - b);
      max_abs = std::max(max_abs, d);
      if (!(d <= 1e-4 + 1e-3 * std::fabs(b))) ++bad;
    }
    EXPECT_EQ(bad, 0) << m.name << " output " << i << " at " << isa << ": " << bad
                      << " elements out of tolerance, max abs err " << max_abs;
    std::printf("[   INFO   ] %s (%s) output %zu: max abs err %.3g\n", m.name.c_str(), isa.c_str(), i, max_abs);
  }
}

class ZooModel : public ::testing::TestWithParam<ModelCase> {};
class TorchvisionModel : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ZooModel, MatchesReferenceFp32) { check_model(GetParam(), "auto"); }
TEST_P(TorchvisionModel, MatchesTorchFp32) { check_model(GetParam(), "auto"); }

std::string case_name(const ::testing::TestParamInfo<ModelCase>& info) {
  std::string n = info.param.name;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModel, ::testing::ValuesIn(find_models(octet::testing::zoo_dir())), case_name);
INSTANTIATE_TEST_SUITE_P(Torchvision, TorchvisionModel,
                         ::testing::ValuesIn(find_models(octet::testing::generated_models_dir())), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ZooModel);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TorchvisionModel);

TEST(ModelSources, Present) {
  if (octet::testing::zoo_dir().empty())
    GTEST_SKIP() << "no model zoo (set OCTET_ZOO or place it at ../shared/zoo): zoo models not tested";
  if (octet::testing::generated_models_dir().empty())
    GTEST_SKIP() << "no generated models (run tools/export_torchvision.py --out build/models, "
                    "tools/export_bert.py)";
}

}  // namespace
