// Model discovery: manifests in the zoo's schema (as the zoo and tools/ write them), classic
// names, and model selection.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench_int8/catalog.h"

namespace octet::bench {
namespace {
namespace fs = std::filesystem;

class Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("octet-test-catalog-" + std::to_string(getpid()));
    fs::create_directories(root_ / "zoo" / "models");
    fs::create_directories(root_ / "zoo" / "datasets" / "digits");
    fs::create_directories(root_ / "tv");
    touch("zoo/models/digits.onnx");
    touch("zoo/models/mobilenet-v2-1.0-224.onnx");
    touch("zoo/datasets/digits/t10k-images-idx3-ubyte.gz");
    touch("zoo/datasets/digits/t10k-labels-idx1-ubyte.gz");
    touch("tv/resnet50.onnx");
    touch("tv/digits.onnx");
    write("zoo/manifest.json", R"json({
      "format_version": 1,
      "entries": [
        {"name": "digits", "file": "models/digits.onnx", "dataset": "digits-test",
         "inputs": [{"name": "x", "dtype": "float32", "shape": [1, 1, 28, 28]}],
         "metric": {"label_offset": 0}, "fp32_reference_accuracy": {"top1": 0.989},
         "pipeline": {"kind": "image", "color": "GRAY", "scale": 0.00392156862745098}},
        {"name": "mobilenet-v2-1.0-224", "file": "models/mobilenet-v2-1.0-224.onnx", "dataset": "imagenet",
         "inputs": [{"name": "input", "dtype": "float32", "shape": [1, 3, 224, 224]}],
         "metric": {"label_offset": 1}, "pipeline": {"kind": "image"}},
        {"name": "missing-file", "file": "models/nothing.onnx", "dataset": null}
      ],
      "datasets": {
        "digits-test": {"path": "datasets/digits", "format": "idx (gzip)",
                        "files": ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]},
        "imagenet": {"path": "datasets/imagenet", "format": "jpeg+labels", "label_file": "datasets/imagenet/labels.txt"}
      }})json");
    write("tv/manifest.json", R"json({
      "entries": [
        {"name": "resnet50", "file": "resnet50.onnx", "architecture_only": true, "dataset": null,
         "inputs": [{"name": "input", "dtype": "float32", "shape": ["batch", 3, 224, 224]}]},
        {"name": "digits", "file": "digits.onnx", "architecture_only": true, "dataset": null, "inputs": []}
      ]})json");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void touch(const std::string& rel) { std::ofstream((root_ / rel).string()) << "x"; }
  void write(const std::string& rel, const std::string& text) { std::ofstream((root_ / rel).string()) << text; }
  std::string dir(const std::string& rel) const { return (root_ / rel).string(); }

  fs::path root_;
};

TEST_F(Fixture, ReadsZooAndToolManifestsWithClassicNames) {
  std::vector<std::string> warnings;
  ModelSources s;
  s.zoo_dir = dir("zoo");
  s.models_dir = dir("tv");
  const std::vector<ModelEntry> models = discover_models(s, &warnings);
  ASSERT_EQ(models.size(), 4u);
  const ModelEntry& digits = models[0];
  EXPECT_EQ(digits.name, "digits");
  EXPECT_TRUE(digits.has_labelled_data());
  EXPECT_EQ(digits.dataset->root, dir("zoo/datasets/digits"));
  EXPECT_DOUBLE_EQ(*digits.reference_top1, 98.9);
  EXPECT_EQ(digits.inputs[0].shape, (std::vector<int64_t>{1, 1, 28, 28}));

  const ModelEntry& mobilenet = models[1];
  EXPECT_EQ(mobilenet.classic_row, "mobilenet-v2-1.0-224-TF");
  EXPECT_EQ(mobilenet.label_offset, 1);
  EXPECT_FALSE(mobilenet.has_labelled_data());  // its dataset folder is absent
  EXPECT_NE(mobilenet.no_data_reason.find("not found"), std::string::npos);

  const ModelEntry& resnet = models[2];
  EXPECT_EQ(resnet.name, "resnet-50");  // the classic table's name
  EXPECT_EQ(resnet.manifest_name, "resnet50");
  EXPECT_EQ(resnet.classic_row, "resnet-50-PYTORCH");
  EXPECT_EQ(resnet.source, ModelSource::torchvision);
  EXPECT_EQ(resnet.no_data_reason, "no labelled data");
  EXPECT_EQ(resnet.inputs[0].shape[0], -1);
  EXPECT_EQ(resnet.inputs[0].dim_names[0], "batch");

  EXPECT_EQ(models[3].name, "digits-torchvision");  // distinct from the zoo's trained one
  EXPECT_FALSE(warnings.empty());                    // missing-file, missing imagenet
}

TEST_F(Fixture, SelectsByPrintedOrManifestNameAndRejectsUnknownOnes) {
  ModelSources s;
  s.zoo_dir = dir("zoo");
  s.models_dir = dir("tv");
  const std::vector<ModelEntry> models = discover_models(s, nullptr);
  EXPECT_EQ(select_models(models, {}).size(), models.size());
  const auto picked = select_models(models, {"RESNET-50", "digits", "resnet50"});
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(picked[0].name, "resnet-50");
  EXPECT_EQ(picked[1].name, "digits");
  EXPECT_THROW(select_models(models, {"vgg-16"}), UsageError);
}

TEST(ClassicNames, TorchvisionAndZooRows) {
  EXPECT_EQ(classic_display_name("inception_v3", ModelSource::torchvision), "googlenet-v3");
  EXPECT_EQ(classic_row_for("googlenet-v3", ModelSource::torchvision), "googlenet-v3-tf");
  EXPECT_EQ(classic_row_for("resnet-18", ModelSource::torchvision), "resnet-18-pytorch");
  EXPECT_EQ(classic_row_for("mobilenet-v2", ModelSource::torchvision), "mobilenet-v2-PYTORCH");
  EXPECT_EQ(classic_row_for("densenet-121", ModelSource::torchvision), "densenet-121-TF");
  EXPECT_EQ(classic_row_for("mobilenet-v2-1.0-224", ModelSource::zoo), "mobilenet-v2-1.0-224-TF");
  EXPECT_EQ(classic_row_for("squeezenet1.1", ModelSource::zoo), "");
}

TEST(Sources, ExplicitDirectoriesMustExist) {
  Options o;
  o.zoo = "/nonexistent/zoo";
  EXPECT_THROW(resolve_sources(o), UsageError);
  o.zoo.clear();
  o.models_dir = "/nonexistent/models";
  EXPECT_THROW(resolve_sources(o), UsageError);
}

}  // namespace
}  // namespace octet::bench
