// Labelled datasets in their native form, preprocessed on demand into model inputs:
// JPEG folders with a labels file (ImageNet, CIFAR), IDX files (MNIST, Fashion-MNIST) and
// TSV sentences (SST-2). Sample i is the i-th sample in the dataset order the zoo defines.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_int8/catalog.h"
#include "bench_int8/idx.h"
#include "bench_int8/preprocess.h"
#include "bench_int8/tokenizer.h"
#include "octet/octet.h"

namespace octet::bench {

using Inputs = std::map<std::string, Tensor>;

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual int64_t label(int64_t i) const = 0;
  // The model inputs of sample i (batch 1). Throws octet::Error naming the source file.
  virtual Inputs inputs(int64_t i) const = 0;
  // Where sample i comes from, for messages ("images/x.JPEG", "t10k-images...[17]").
  virtual std::string describe(int64_t i) const = 0;
};

// "<relative path> <label>" lines; paths resolve against root, or root/images when the first
// one is not found there (the ImageNet layout).
class JpegFolderDataset : public Dataset {
 public:
  JpegFolderDataset(std::string root, const std::string& label_file, ImagePipeline pipeline,
                    std::string input_name);
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  int64_t label(int64_t i) const override { return labels_.at(i); }
  Inputs inputs(int64_t i) const override;
  std::string describe(int64_t i) const override { return files_.at(i); }

 private:
  std::string base_;  // directory the relative paths resolve against
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
  ImagePipeline pipeline_;
  std::string input_name_;
};

class IdxDataset : public Dataset {
 public:
  IdxDataset(const std::string& images_path, const std::string& labels_path, ImagePipeline pipeline,
             std::string input_name);
  int64_t size() const override { return images_.count(); }
  int64_t label(int64_t i) const override { return labels_.data.at(i); }
  Inputs inputs(int64_t i) const override;
  std::string describe(int64_t i) const override;

 private:
  std::string images_path_;
  IdxArray images_, labels_;
  ImagePipeline pipeline_;
  std::string input_name_;
};

class TextDataset : public Dataset {
 public:
  // ids_input / mask_input: the graph input names; seq_len: their length.
  TextDataset(const std::string& tsv_path, const std::string& vocab_path, std::string ids_input,
              std::string mask_input, int seq_len);
  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  int64_t label(int64_t i) const override { return samples_.at(i).label; }
  Inputs inputs(int64_t i) const override;
  std::string describe(int64_t i) const override;

 private:
  std::string path_;
  std::vector<TextSample> samples_;
  WordTokenizer tokenizer_;
  std::string ids_input_, mask_input_;
  int seq_len_;
};

enum class Split { evaluation, train };

// The model's evaluation dataset, or its training split (same format and preprocessing) where
// one exists beside it (Fashion-MNIST's train-*-ubyte.gz). Throws octet::Error.
std::unique_ptr<Dataset> open_dataset(const ModelEntry& model, Split split);
bool has_train_split(const ModelEntry& model);

}  // namespace octet::bench
