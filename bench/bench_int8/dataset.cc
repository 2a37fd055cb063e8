#include "bench_int8/dataset.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace octet::bench {
namespace fs = std::filesystem;
namespace {

// Labels files hold "<path> <label>"; the path is everything before the last space.
void read_labels_file(const std::string& path, std::vector<std::string>* files, std::vector<int64_t>* labels) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t space = line.find_last_of(" \t");
    if (space == std::string::npos || space == 0)
      throw Error(path + ":" + std::to_string(number) + ": expected '<file> <label>'");
    const std::string label = line.substr(space + 1);
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(label.c_str(), &end, 10);
    if (label.empty() || errno != 0 || *end != '\0' || v < 0)
      throw Error(path + ":" + std::to_string(number) + ": label '" + label + "' is not a non-negative integer");
    files->push_back(line.substr(0, line.find_last_not_of(" \t", space) + 1));
    labels->push_back(v);
  }
  if (files->empty()) throw Error(path + ": no labelled samples");
}

const InputSpec& first_input(const ModelEntry& m) {
  if (m.inputs.empty()) throw Error(m.name + ": the manifest lists no inputs");
  return m.inputs[0];
}

// Dataset files by role: the IDX image and label files of a split.
std::pair<std::string, std::string> idx_files(const DatasetSpec& spec) {
  std::string images, labels;
  for (const std::string& f : spec.files) {
    if (f.find("images") != std::string::npos) images = f;
    if (f.find("labels") != std::string::npos) labels = f;
  }
  if (images.empty() || labels.empty())
    throw Error("dataset " + spec.name + ": the manifest does not name an images and a labels IDX file");
  return {images, labels};
}

std::string train_name(std::string test_file) {
  size_t at = test_file.find("t10k");
  if (at == std::string::npos) return "";
  return test_file.replace(at, 4, "train");
}

bool is_idx(const DatasetSpec& s) { return s.format.rfind("idx", 0) == 0; }

}  // namespace

// ---------------------------------------------------------------- JPEG folders

JpegFolderDataset::JpegFolderDataset(std::string root, const std::string& label_file, ImagePipeline pipeline,
                                     std::string input_name)
    : base_(std::move(root)), pipeline_(std::move(pipeline)), input_name_(std::move(input_name)) {
  read_labels_file(label_file, &files_, &labels_);
  std::error_code ec;
  if (!fs::exists(fs::path(base_) / files_[0], ec) && fs::exists(fs::path(base_) / "images" / files_[0], ec))
    base_ = (fs::path(base_) / "images").string();
}

Inputs JpegFolderDataset::inputs(int64_t i) const {
  const std::string path = (fs::path(base_) / files_.at(i)).string();
  const Image image = decode_jpeg_file(path, pipeline_.color);
  return {{input_name_, preprocess_image(image, pipeline_, path)}};
}

// ---------------------------------------------------------------- IDX

IdxDataset::IdxDataset(const std::string& images_path, const std::string& labels_path, ImagePipeline pipeline,
                       std::string input_name)
    : images_path_(images_path), images_(read_idx(images_path, 3)), labels_(read_idx(labels_path, 1)),
      pipeline_(std::move(pipeline)), input_name_(std::move(input_name)) {
  if (images_.count() != labels_.count())
    throw Error(images_path + ": " + std::to_string(images_.count()) + " images but " + labels_path + " has " +
                std::to_string(labels_.count()) + " labels");
  if (images_.dims[1] <= 0 || images_.dims[2] <= 0) throw Error(images_path + ": empty image dimensions");
}

Inputs IdxDataset::inputs(int64_t i) const {
  if (i < 0 || i >= size()) throw Error(images_path_ + ": sample " + std::to_string(i) + " out of range");
  Image image{static_cast<int>(images_.dims[1]), static_cast<int>(images_.dims[2]), 1, {}};
  const size_t item = static_cast<size_t>(images_.item_size());
  image.pixels.assign(images_.data.begin() + i * item, images_.data.begin() + (i + 1) * item);
  return {{input_name_, preprocess_image(image, pipeline_, describe(i))}};
}

std::string IdxDataset::describe(int64_t i) const { return images_path_ + "[" + std::to_string(i) + "]"; }

// ---------------------------------------------------------------- TSV text

TextDataset::TextDataset(const std::string& tsv_path, const std::string& vocab_path, std::string ids_input,
                         std::string mask_input, int seq_len)
    : path_(tsv_path), samples_(read_labelled_tsv(tsv_path)), tokenizer_(WordTokenizer::load(vocab_path)),
      ids_input_(std::move(ids_input)), mask_input_(std::move(mask_input)), seq_len_(seq_len) {}

Inputs TextDataset::inputs(int64_t i) const {
  const EncodedText encoded = tokenizer_.encode(samples_.at(i).text, seq_len_);
  Tensor ids(DType::s64, {1, seq_len_}), mask(DType::s64, {1, seq_len_});
  std::copy(encoded.input_ids.begin(), encoded.input_ids.end(), ids.data_as<int64_t>());
  std::copy(encoded.attention_mask.begin(), encoded.attention_mask.end(), mask.data_as<int64_t>());
  Inputs out{{ids_input_, ids}};
  if (!mask_input_.empty()) out.emplace(mask_input_, mask);
  return out;
}

std::string TextDataset::describe(int64_t i) const { return path_ + ":" + std::to_string(i + 2); }

// ---------------------------------------------------------------- factory

bool has_train_split(const ModelEntry& m) {
  if (!m.has_labelled_data() || !is_idx(*m.dataset)) return false;
  auto [images, labels] = idx_files(*m.dataset);
  const std::string ti = train_name(images), tl = train_name(labels);
  std::error_code ec;
  return !ti.empty() && !tl.empty() && fs::exists(fs::path(m.dataset->root) / ti, ec) &&
         fs::exists(fs::path(m.dataset->root) / tl, ec);
}

std::unique_ptr<Dataset> open_dataset(const ModelEntry& m, Split split) {
  if (!m.has_labelled_data()) throw Error(m.name + ": " + (m.no_data_reason.empty() ? "no dataset" : m.no_data_reason));
  const DatasetSpec& spec = *m.dataset;
  const std::string context = m.manifest_dir + "/manifest.json [" + m.manifest_name + "]";
  if (split == Split::train && !has_train_split(m)) throw Error(m.name + ": dataset " + spec.name + " has no training split");

  if (is_idx(spec)) {
    auto [images, labels] = idx_files(spec);
    if (split == Split::train) {
      images = train_name(images);
      labels = train_name(labels);
    }
    return std::make_unique<IdxDataset>((fs::path(spec.root) / images).string(), (fs::path(spec.root) / labels).string(),
                                        parse_image_pipeline(m.pipeline, context), first_input(m).name);
  }
  if (spec.format.rfind("jpeg", 0) == 0) {
    if (spec.label_file.empty()) throw Error(context + ": dataset " + spec.name + " has no label_file");
    return std::make_unique<JpegFolderDataset>(spec.root, spec.label_file, parse_image_pipeline(m.pipeline, context),
                                               first_input(m).name);
  }
  if (spec.format == "tsv") {
    if (spec.files.empty()) throw Error(context + ": dataset " + spec.name + " names no TSV file");
    if (m.vocab_path.empty()) throw Error(context + ": a text model without a vocab_file");
    // Inputs by name where the exporter used the usual ones, else by position.
    std::string ids = first_input(m).name, mask;
    for (const InputSpec& in : m.inputs) {
      if (in.name == "input_ids") ids = in.name;
      if (in.name == "attention_mask") mask = in.name;
    }
    if (mask.empty() && m.inputs.size() > 1) mask = m.inputs[1].name;
    const InputSpec& ids_spec = *std::find_if(m.inputs.begin(), m.inputs.end(), [&](const InputSpec& s) { return s.name == ids; });
    if (ids_spec.shape.size() != 2 || ids_spec.shape[1] <= 1 || ids_spec.shape[1] > 65536)
      throw Error(context + ": input " + ids + " is not [1, sequence length]");
    return std::make_unique<TextDataset>((fs::path(spec.root) / spec.files[0]).string(), m.vocab_path, ids, mask,
                                         static_cast<int>(ids_spec.shape[1]));
  }
  throw Error(context + ": dataset format '" + spec.format + "' is not supported (jpeg+labels, idx, tsv)");
}

}  // namespace octet::bench
