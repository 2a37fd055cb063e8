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
  ASSERT_EQ(models.size(), 5u);
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

  // A missing model file is that entry's error, listed (one error row), not skipped silently.
  EXPECT_EQ(models[2].name, "missing-file");
  EXPECT_NE(models[2].error.find("models/nothing.onnx is missing"), std::string::npos) << models[2].error;
  EXPECT_FALSE(models[2].has_labelled_data());

  const ModelEntry& resnet = models[3];
  EXPECT_EQ(resnet.name, "resnet-50");  // the classic table's name
  EXPECT_EQ(resnet.manifest_name, "resnet50");
  EXPECT_EQ(resnet.classic_row, "resnet-50-PYTORCH");
  EXPECT_EQ(resnet.source, ModelSource::torchvision);
  EXPECT_EQ(resnet.no_data_reason, "no labelled data");
  EXPECT_EQ(resnet.inputs[0].shape[0], -1);
  EXPECT_EQ(resnet.inputs[0].dim_names[0], "batch");

  EXPECT_EQ(models[4].name, "digits-torchvision");  // distinct from the zoo's trained one
  EXPECT_FALSE(warnings.empty());                    // missing-file, missing imagenet
}

// One hostile entry among good ones: each bad entry carries an error that names the manifest,
// the entry and the key; no raw JSON exception escapes and the good entries are untouched.
TEST_F(Fixture, EachMalformedEntryIsItsOwnErrorNamingTheKey) {
  fs::create_directories(root_ / "hostile" / "models");
  fs::create_directories(root_ / "hostile" / "datasets" / "digits");
  touch("hostile/models/m.onnx");
  touch("outside.onnx");
  touch("hostile/datasets/digits/t10k-images-idx3-ubyte.gz");
  touch("hostile/datasets/digits/t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(::symlink((root_ / "outside.onnx").c_str(), (root_ / "hostile" / "models" / "link.onnx").c_str()), 0);
  const std::string digits = R"("dataset": "digits", "metric": {"type": "top-1 accuracy"})";
  const std::string image = R"("kind": "image", "color": "GRAY")";
  write("hostile/manifest.json", R"json({"entries": [
      {"name": "good", "file": "models/m.onnx", "architecture_only": true},
      {"name": "null-size", "file": "models/m.onnx", )json" + digits + R"json(,
       "pipeline": {)json" + image + R"json(, "resize": {"size": [112, 112], "shorter_side": null}}},
      {"name": "crop-box", "file": "models/m.onnx", )json" + digits + R"json(,
       "pipeline": {)json" + image + R"json(, "crop_box": [1, 2, 3, 4]}},
      {"name": "wrong-type", "file": 42},
      {"name": "null-offset", "file": "models/m.onnx", "metric": {"label_offset": null}},
      {"name": "mean-string", "file": "models/m.onnx", )json" + digits + R"json(,
       "pipeline": {)json" + image + R"json(, "mean": "0.5"}},
      {"name": "escape", "file": "../outside.onnx"},
      {"name": "absolute", "file": ")json" + (root_ / "outside.onnx").string() + R"json("},
      {"name": "symlink-out", "file": "models/link.onnx"},
      {"name": "missing", "file": "models/absent.onnx"},
      {"name": "bad-format", "file": "models/m.onnx", "dataset": "parquet-set"},
      {"name": "bad-metric", "file": "models/m.onnx", "dataset": "digits", "metric": {"type": "mean IoU"},
       "pipeline": {)json" + image + R"json(}},
      {"name": "bad-shape", "file": "models/m.onnx", "inputs": [{"name": "x", "shape": [1, {"d": 2}]}]},
      {"name": "no-input-name", "file": "models/m.onnx", "inputs": [{"shape": [1]}]},
      17,
      {"file": "models/m.onnx"},
      {"name": "good-too", "file": "models/m.onnx", "architecture_only": true},
      {"name": "system-data", "file": "models/m.onnx", "dataset": "packaged", "pipeline": {)json" + image + R"json(}},
      {"name": "system-escape", "file": "models/m.onnx", "dataset": "dotdot", "pipeline": {)json" + image + R"json(}},
      {"name": "etc-data", "file": "models/m.onnx", "dataset": "etc", "pipeline": {)json" + image + R"json(}}
    ],
    "datasets": {
      "digits": {"path": "datasets/digits", "format": "idx (gzip)",
                 "files": ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]},
      "parquet-set": {"path": "datasets/digits", "format": "parquet"},
      "packaged": {"path": "/usr/share/datasets/octet-test-absent", "format": "idx (gzip)", "files": ["a.gz"]},
      "dotdot": {"path": "/usr/share/../../etc", "format": "idx (gzip)", "files": ["passwd"]},
      "etc": {"path": "/etc", "format": "idx (gzip)", "files": ["passwd"]}
    }})json");
  std::vector<std::string> warnings;
  const std::vector<ModelEntry> models = read_manifest(dir("hostile"), ModelSource::zoo, &warnings);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"good", ""},
      {"null-size", "pipeline.resize.size: is not supported by bench_int8 yet"},
      {"crop-box", "pipeline.crop_box: is not supported by bench_int8 yet"},
      {"wrong-type", "[wrong-type] file: is an integer, expected a string"},
      {"null-offset", "[null-offset] metric.label_offset: is null, expected an integer"},
      {"mean-string", "pipeline.mean: is a string, expected a list of numbers"},
      {"escape", "file: '../outside.onnx' leaves the manifest's folder"},
      {"absolute", "file: '" + (root_ / "outside.onnx").string() + "' is absolute"},
      {"symlink-out", "file: 'models/link.onnx' leaves the manifest's folder"},
      {"missing", "models/absent.onnx is missing"},
      {"bad-format", "[bad-format] datasets.parquet-set.format: 'parquet' is not a dataset format"},
      {"bad-metric", "metric.type: 'mean IoU' is not a metric bench_int8 computes"},
      {"bad-shape", "inputs[0].shape[1]: is an object, expected a dimension"},
      {"no-input-name", "inputs[0].name: is missing"},
      {"entry 15", "[entry 15]: is an integer, expected an object"},
      {"entry 16", "[entry 16] name: is missing"},
      {"good-too", ""},
      {"system-data", ""},  // a data set Debian installs under /usr/share, as the zoo's Fashion-MNIST
      {"system-escape", "datasets.dotdot.path: '/usr/share/../../etc' leaves /usr/share"},
      {"etc-data", "datasets.etc.path: '/etc' leaves /usr/share"},
  };
  ASSERT_EQ(models.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].first);
    EXPECT_EQ(models[i].manifest_name, expected[i].first);
    if (expected[i].second.empty()) {
      EXPECT_EQ(models[i].error, "");
      continue;
    }
    EXPECT_NE(models[i].error.find(expected[i].second), std::string::npos) << models[i].error;
    EXPECT_NE(models[i].error.find(dir("hostile") + "/manifest.json"), std::string::npos) << models[i].error;
  }
  EXPECT_NE(models[17].no_data_reason.find("not found"), std::string::npos);  // absent here: no data, no error
  // tools/' own manifests may name system datasets: only the zoo is confined to its folder.
  const std::vector<ModelEntry> local = read_manifest(dir("hostile"), ModelSource::local, nullptr);
  EXPECT_EQ(local[6].error, "");
  EXPECT_EQ(local[7].error, "");
}

TEST_F(Fixture, UnreadableManifestIsOneErrorEntryNotAThrow) {
  write("zoo/manifest.json", R"({"entries": [ {"name": "cut-off")");
  ModelSources s;
  s.zoo_dir = dir("zoo");
  s.models_dir = dir("tv");
  std::vector<ModelEntry> models;
  ASSERT_NO_THROW(models = discover_models(s, nullptr));
  ASSERT_EQ(models.size(), 3u);  // the broken zoo manifest, then the two torchvision entries
  EXPECT_NE(models[0].error.find("not valid JSON"), std::string::npos) << models[0].error;
  EXPECT_EQ(models[1].name, "resnet-50");
  EXPECT_EQ(models[1].error, "");
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
  EXPECT_EQ(classic_row_for("bert-base-cased", ModelSource::torchvision), "bert-base-cased");
  EXPECT_EQ(classic_row_for("bert-large", ModelSource::torchvision),
            "bert-large-uncased-whole-word-masking-squad-0001");
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
