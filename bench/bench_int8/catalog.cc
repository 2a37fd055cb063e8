#include "bench_int8/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "bench_int8/manifest_json.h"
#include "bench_int8/preprocess.h"
#include "octet/octet.h"

#ifndef OCTET_SOURCE_DIR
#define OCTET_SOURCE_DIR "."
#endif

namespace octet::bench {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Other spellings of the classic names that exporters use.
const std::map<std::string, std::string>& name_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"resnet18", "resnet-18"},         {"resnet50", "resnet-50"},
      {"mobilenet_v2", "mobilenet-v2"},  {"mobilenetv2", "mobilenet-v2"},
      {"densenet121", "densenet-121"},   {"inception-v3", "googlenet-v3"},
      {"inception_v3", "googlenet-v3"},  {"inceptionv3", "googlenet-v3"},
  };
  return aliases;
}

std::string existing_dir(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_directory(path, ec) ? fs::absolute(path).lexically_normal().string() : "";
}

bool inside(const fs::path& path, const fs::path& dir) {
  const fs::path rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

// Where Debian packages install data sets (the zoo names Fashion-MNIST at
// /usr/share/datasets/fashion-mnist, from the package dataset-fashion-mnist).
constexpr const char* kSystemData = "/usr/share";

// In the zoo every path must stay inside the manifest's folder, as written and after symlinks
// are followed.
void check_confined(const ManifestNode& node, const std::string& key, const std::string& value,
                    const fs::path& resolved, const std::string& dir) {
  std::error_code ec;
  const fs::path root = fs::path(dir).lexically_normal();
  const fs::path real = fs::weakly_canonical(resolved, ec);
  const fs::path real_root = fs::weakly_canonical(root, ec);
  if (!inside(resolved, root) || (!real.empty() && !real_root.empty() && !inside(real, real_root)))
    node.fail(key, "'" + value + "' leaves " + (dir == kSystemData ? std::string(kSystemData) : "the manifest's folder " + dir));
}

enum class PathKind { in_zoo, in_zoo_or_system_data };

// A path named by a manifest, resolved against the manifest's folder. In the zoo (`confine`)
// it must stay inside that folder; a data set's folder may instead be an absolute path under
// /usr/share (kind in_zoo_or_system_data). Any other absolute path is refused there.
std::string manifest_path(const ManifestNode& node, const std::string& key, const std::string& value,
                          const std::string& dir, bool confine, PathKind kind = PathKind::in_zoo) {
  if (value.empty()) node.fail(key, "is an empty path");
  if (value.find('\0') != std::string::npos) node.fail(key, "contains a NUL character");
  const fs::path p(value);
  const fs::path resolved = (p.is_absolute() ? p : fs::path(dir) / p).lexically_normal();
  if (confine) {
    if (p.is_absolute() && kind == PathKind::in_zoo_or_system_data) {
      check_confined(node, key, value, resolved, kSystemData);
    } else if (p.is_absolute()) {
      node.fail(key, "'" + value + "' is absolute; the zoo's paths are relative to its folder");
    } else {
      check_confined(node, key, value, resolved, dir);
    }
  }
  return resolved.string();
}

std::vector<InputSpec> parse_inputs(const ManifestNode& entry) {
  std::vector<InputSpec> inputs;
  for (const ManifestNode& item : entry.array_or_empty("inputs")) {
    InputSpec in;
    in.name = item.string("name");
    in.dtype = item.string_or("dtype", "float32");
    for (const ManifestNode& d : item.array_or_empty("shape")) {
      const nlohmann::json& v = d.json();
      if (v.is_number_integer() && v.get<int64_t>() > 0) {
        if (v.get<int64_t>() > (int64_t(1) << 31)) d.fail("", "dimension " + v.dump() + " is out of range");
        in.shape.push_back(v.get<int64_t>());
        in.dim_names.emplace_back();
      } else if (v.is_string() || v.is_null() || (v.is_number_integer() && v.get<int64_t>() <= 0)) {
        in.shape.push_back(-1);  // symbolic
        in.dim_names.push_back(v.is_string() ? v.get<std::string>() : std::string());
      } else {
        d.fail("", "is " + ManifestNode::type_name(v) + ", expected a dimension (an integer or a name)");
      }
    }
    if (in.shape.size() > 8) item.fail("shape", "has " + std::to_string(in.shape.size()) + " dimensions (at most 8)");
    inputs.push_back(std::move(in));
  }
  return inputs;
}

// The dataset formats bench_int8 reads (dataset.cc).
bool dataset_format_supported(const std::string& format) {
  return format.rfind("idx", 0) == 0 || format.rfind("jpeg", 0) == 0 || format == "tsv";
}

DatasetSpec parse_dataset(const ManifestNode& datasets, const std::string& name, const std::string& dir, bool confine) {
  const ManifestNode d = datasets.object(name);
  DatasetSpec spec;
  spec.name = name;
  spec.root = manifest_path(d, "path", d.string("path"), dir, confine, PathKind::in_zoo_or_system_data);
  // A data set's own files stay inside its folder, wherever that is.
  const std::string data_dir = fs::path(d.string("path")).is_absolute() ? spec.root : dir;
  spec.format = d.string("format");
  if (!dataset_format_supported(spec.format))
    d.fail("format", "'" + spec.format + "' is not a dataset format bench_int8 reads (idx, jpeg+labels, tsv)");
  for (const std::string& f : d.strings_or("files")) {
    if (f.empty() || fs::path(f).is_absolute()) d.fail("files", "'" + f + "' is not a file name inside the dataset's folder");
    if (confine) check_confined(d, "files", f, (fs::path(spec.root) / f).lexically_normal(), data_dir);
    spec.files.push_back(f);
  }
  if (d.has("label_file")) {
    spec.label_file = manifest_path(d, "label_file", d.string("label_file"), dir, confine,
                                    PathKind::in_zoo_or_system_data);
    if (confine) check_confined(d, "label_file", d.string("label_file"), spec.label_file, data_dir);
  }
  return spec;
}

// The metrics bench_int8 computes: classification accuracy (arg-max against the label).
bool metric_supported(const std::string& type) {
  return type.empty() || type == "accuracy" || type.rfind("top-1", 0) == 0;
}

// The files a dataset needs, for a clear "not found" note.
std::string missing_dataset_file(const DatasetSpec& spec) {
  std::error_code ec;
  if (spec.root.empty() || !fs::is_directory(spec.root, ec)) return spec.root.empty() ? "(no path)" : spec.root;
  if (!spec.label_file.empty() && !fs::exists(spec.label_file, ec)) return spec.label_file;
  for (const std::string& f : spec.files)
    if (!fs::exists(fs::path(spec.root) / f, ec)) return (fs::path(spec.root) / f).string();
  return "";
}

// Fills `m` from one manifest entry; throws octet::Error naming the entry and the key.
void read_entry(const ManifestNode& e, const ManifestNode& datasets, const std::string& dir, bool confine,
                ModelEntry& m, std::vector<std::string>* warnings) {
  const std::string context = e.describe();
  m.onnx_path = manifest_path(e, "file", e.string_or("file", m.manifest_name + ".onnx"), dir, confine);
  std::error_code ec;
  if (!fs::is_regular_file(m.onnx_path, ec)) e.fail("file", "model file " + m.onnx_path + " is missing");
  if (e.has("test_data")) {
    const ManifestNode td = e.object("test_data");
    if (td.has("dir")) {
      const std::string path = manifest_path(td, "dir", td.string("dir"), dir, confine);
      if (fs::is_directory(path, ec)) m.test_data_dir = path;
    }
  }
  m.inputs = parse_inputs(e);
  m.pipeline = e.has("pipeline") ? e.json()["pipeline"] : nlohmann::json();
  if (!m.pipeline.is_null() && !m.pipeline.is_object())
    e.fail("pipeline", "is " + ManifestNode::type_name(m.pipeline) + ", expected an object");
  std::string metric_type;
  if (e.has("metric")) {
    const ManifestNode metric = e.object("metric");
    m.label_offset = static_cast<int>(metric.integer_or("label_offset", 0, -1000000, 1000000));
    metric_type = metric.string_or("type", "");
  }
  if (e.has("fp32_reference_accuracy")) {
    const ManifestNode r = e.object("fp32_reference_accuracy");
    if (r.has("top1")) {
      const double top1 = r.number_or("top1", 0);
      if (!(top1 >= 0 && top1 <= 1)) r.fail("top1", "is not a fraction in [0, 1]");
      m.reference_top1 = 100.0 * top1;
    }
  }
  if (e.has("vocab_file")) m.vocab_path = manifest_path(e, "vocab_file", e.string("vocab_file"), dir, confine);

  const bool architecture_only = e.boolean_or("architecture_only", false);
  const std::string dataset_name = e.string_or("dataset", "");
  if (architecture_only || dataset_name.empty()) {
    m.no_data_reason = "no labelled data";
    return;
  }
  // The preprocessing is checked here, so that a bad one is this entry's error row in every
  // mode (a throughput-only run never opens the dataset).
  if (!m.pipeline.is_null()) {
    const std::string kind = ManifestNode(m.pipeline, context, "pipeline").string_or("kind", "image");
    if (kind == "image") parse_image_pipeline(m.pipeline, context);
    else if (kind != "text") e.fail("pipeline.kind", "'" + kind + "' is not supported (image, text)");
  }
  if (!metric_supported(metric_type))
    e.fail("metric.type", "'" + metric_type + "' is not a metric bench_int8 computes (top-1 accuracy, accuracy)");
  // The manifest's datasets section, read as part of this entry: its errors name the entry.
  const ManifestNode entry_datasets(datasets.json(), context, "datasets");
  if (!entry_datasets.has(dataset_name)) {
    m.no_data_reason = "dataset " + dataset_name + " not described in the manifest";
  } else {
    m.dataset = parse_dataset(entry_datasets, dataset_name, dir, confine);
    if (std::string missing = missing_dataset_file(*m.dataset); !missing.empty())
      m.no_data_reason = "dataset " + dataset_name + " not found (" + missing + ")";
    else if (m.pipeline.is_null())
      m.no_data_reason = "no preprocessing pipeline in the manifest";
  }
  if (!m.no_data_reason.empty() && warnings) warnings->push_back(context + ": " + m.no_data_reason);
}

}  // namespace

const char* source_name(ModelSource s) {
  switch (s) {
    case ModelSource::zoo: return "zoo";
    case ModelSource::local: return "local";
    case ModelSource::torchvision: return "torchvision";
  }
  return "?";
}

std::string classic_display_name(const std::string& manifest_name, ModelSource source) {
  if (source == ModelSource::torchvision) {
    auto it = name_aliases().find(lower(manifest_name));
    if (it != name_aliases().end()) return it->second;
  }
  return manifest_name;
}

std::string classic_row_for(const std::string& display_name, ModelSource source) {
  // The classic-tables README: the zoo's mobilenet-v2-1.0-224 is the -TF row; the torchvision
  // resnets and mobilenet-v2 are the -pytorch rows. densenet-121 and googlenet-v3 have one
  // (TensorFlow) row each: same architecture, other framework. The BERT exports are the two
  // transformer rows, speed only (the SST-2 and SQuAD columns need trained weights).
  static const std::map<std::string, std::string> zoo_rows = {
      {"mobilenet-v2-1.0-224", "mobilenet-v2-1.0-224-TF"},
  };
  static const std::map<std::string, std::string> torchvision_rows = {
      {"resnet-18", "resnet-18-pytorch"},      {"resnet-50", "resnet-50-PYTORCH"},
      {"mobilenet-v2", "mobilenet-v2-PYTORCH"}, {"densenet-121", "densenet-121-TF"},
      {"googlenet-v3", "googlenet-v3-tf"},
      // tools/export_bert.py writes into the same folder (BERT's architecture, random weights).
      {"bert-base-cased", "bert-base-cased"},
      {"bert-large", "bert-large-uncased-whole-word-masking-squad-0001"},
  };
  const auto& rows = source == ModelSource::torchvision ? torchvision_rows : zoo_rows;
  auto it = rows.find(display_name);
  return it == rows.end() ? "" : it->second;
}

ModelSources resolve_sources(const Options& options) {
  ModelSources s;
  s.source_dir = fs::path(OCTET_SOURCE_DIR).lexically_normal().string();
  std::error_code ec;
  if (!options.zoo.empty()) {
    if (!fs::exists(fs::path(options.zoo) / "manifest.json", ec))
      throw UsageError("--zoo=" + options.zoo + ": no manifest.json there");
    s.zoo_dir = existing_dir(options.zoo);
  } else if (const char* env = std::getenv("OCTET_ZOO"); env && *env) {
    if (!fs::exists(fs::path(env) / "manifest.json", ec))
      throw UsageError(std::string("$OCTET_ZOO=") + env + ": no manifest.json there");
    s.zoo_dir = existing_dir(env);
  } else {
    fs::path beside = fs::path(s.source_dir).parent_path() / "shared" / "zoo";
    if (fs::exists(beside / "manifest.json", ec)) s.zoo_dir = existing_dir(beside.string());
  }
  auto generated = [&](const std::string& flag_value, const char* flag, const char* default_sub) {
    if (!flag_value.empty()) {
      if (!fs::is_directory(flag_value, ec)) throw UsageError(std::string(flag) + "=" + flag_value + ": not a directory");
      return existing_dir(flag_value);
    }
    return existing_dir((fs::path(s.source_dir) / default_sub).string());
  };
  s.models_dir = generated(options.models_dir, "--models-dir", "build/models");
  s.local_dir = generated(options.local_dir, "--local-dir", "build/fmnist");
  return s;
}

std::vector<ModelEntry> read_manifest(const std::string& dir, ModelSource source,
                                      std::vector<std::string>* warnings) {
  const std::string path = (fs::path(dir) / "manifest.json").string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(path + ": read failed");
  return parse_manifest(text, dir, source, warnings);
}

std::vector<ModelEntry> parse_manifest(const std::string& text, const std::string& dir, ModelSource source,
                                       std::vector<std::string>* warnings) {
  const std::string path = (fs::path(dir) / "manifest.json").string();
  constexpr size_t kMaxManifestBytes = size_t(64) << 20;
  if (text.size() > kMaxManifestBytes) throw Error(path + ": larger than 64 MiB");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  if (!manifest.is_object()) throw Error(path + ": is " + ManifestNode::type_name(manifest) + ", expected an object");
  const nlohmann::json* entries = nullptr;
  for (const char* key : {"entries", "models"})
    if (manifest.contains(key) && manifest[key].is_array()) entries = &manifest[key];
  if (!entries) throw Error(path + ": no \"entries\" list");
  static const nlohmann::json no_datasets = nlohmann::json::object();
  const ManifestNode root(manifest, path);
  const ManifestNode datasets = root.has("datasets") ? root.object("datasets") : ManifestNode(no_datasets, path, "datasets");
  const bool confine = source == ModelSource::zoo;

  std::vector<ModelEntry> models;
  for (size_t i = 0; i < entries->size(); ++i) {
    const nlohmann::json& item = (*entries)[i];
    ModelEntry m;
    m.source = source;
    m.manifest_dir = dir;
    const nlohmann::json* name = item.is_object() && item.contains("name") ? &item["name"] : nullptr;
    m.manifest_name = name && name->is_string() && !name->get<std::string>().empty()
                          ? name->get<std::string>()
                          : "entry " + std::to_string(i + 1);
    m.name = classic_display_name(m.manifest_name, source);
    m.classic_row = classic_row_for(m.name, source);
    const ManifestNode e(item, path + " [" + m.manifest_name + "]");
    try {
      if (!item.is_object()) e.fail("", "is " + ManifestNode::type_name(item) + ", expected an object");
      e.string("name");
      read_entry(e, datasets, dir, confine, m, warnings);
    } catch (const Error& err) {
      m.error = err.what();
      if (warnings) warnings->push_back(m.error);
    }
    models.push_back(std::move(m));
  }
  return models;
}

std::vector<ModelEntry> discover_models(const ModelSources& sources, std::vector<std::string>* warnings) {
  std::vector<ModelEntry> all;
  std::error_code ec;
  auto add = [&](const std::string& dir, ModelSource source) {
    if (dir.empty()) return;
    if (!fs::exists(fs::path(dir) / "manifest.json", ec)) {
      if (warnings) warnings->push_back(dir + ": no manifest.json; skipped");
      return;
    }
    std::vector<ModelEntry> read;
    try {
      read = read_manifest(dir, source, warnings);
    } catch (const Error& e) {
      ModelEntry broken;
      broken.source = source;
      broken.manifest_dir = dir;
      broken.manifest_name = broken.name = (fs::path(dir) / "manifest.json").string();
      broken.error = e.what();
      if (warnings) warnings->push_back(broken.error);
      read.push_back(std::move(broken));
    }
    for (ModelEntry& m : read) {
      // A generated model named like one already listed (torchvision squeezenet1.1 beside the
      // zoo's trained one) keeps a distinct printed name.
      auto taken = [&](const std::string& name) {
        return std::any_of(all.begin(), all.end(), [&](const ModelEntry& o) { return o.name == name; });
      };
      if (taken(m.name)) {
        m.name += "-" + std::string(source_name(source));
        m.classic_row.clear();
      }
      if (taken(m.name)) continue;  // listed twice in the same source
      all.push_back(std::move(m));
    }
  };
  add(sources.zoo_dir, ModelSource::zoo);
  add(sources.local_dir, ModelSource::local);
  add(sources.models_dir, ModelSource::torchvision);
  return all;
}

std::vector<ModelEntry> select_models(const std::vector<ModelEntry>& models,
                                      const std::vector<std::string>& wanted) {
  if (wanted.empty()) return models;
  std::vector<ModelEntry> out;
  for (const std::string& w : wanted) {
    std::string key = lower(w);
    if (auto a = name_aliases().find(key); a != name_aliases().end()) key = a->second;
    auto it = std::find_if(models.begin(), models.end(), [&](const ModelEntry& m) { return lower(m.name) == key; });
    if (it == models.end())
      it = std::find_if(models.begin(), models.end(), [&](const ModelEntry& m) { return lower(m.manifest_name) == key; });
    if (it == models.end()) {
      std::string known;
      for (const ModelEntry& m : models) known += (known.empty() ? "" : ", ") + m.name;
      throw UsageError("--models: unknown model '" + w + "'; available: " + (known.empty() ? "(none found)" : known));
    }
    if (std::none_of(out.begin(), out.end(), [&](const ModelEntry& m) { return m.name == it->name; })) out.push_back(*it);
  }
  return out;
}

}  // namespace octet::bench
