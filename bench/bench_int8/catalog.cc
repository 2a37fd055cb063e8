#include "bench_int8/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

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

std::string absolute_in(const std::string& dir, const std::string& path) {
  if (path.empty()) return "";
  fs::path p(path);
  return (p.is_absolute() ? p : fs::path(dir) / p).lexically_normal().string();
}

std::string existing_dir(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_directory(path, ec) ? fs::absolute(path).lexically_normal().string() : "";
}

std::vector<InputSpec> parse_inputs(const nlohmann::json& list, const std::string& context) {
  std::vector<InputSpec> inputs;
  if (!list.is_array()) return inputs;
  for (const auto& item : list) {
    InputSpec in;
    in.name = item.value("name", std::string());
    in.dtype = item.value("dtype", std::string("float32"));
    if (in.name.empty()) throw Error(context + ": an input without a name");
    for (const auto& d : item.value("shape", nlohmann::json::array())) {
      if (d.is_number_integer() && d.get<int64_t>() > 0) {
        in.shape.push_back(d.get<int64_t>());
        in.dim_names.emplace_back();
      } else {
        in.shape.push_back(-1);
        in.dim_names.push_back(d.is_string() ? d.get<std::string>() : std::string());
      }
    }
    inputs.push_back(std::move(in));
  }
  return inputs;
}

std::optional<DatasetSpec> parse_dataset(const nlohmann::json& datasets, const std::string& name,
                                         const std::string& dir) {
  if (!datasets.is_object() || !datasets.contains(name)) return std::nullopt;
  const auto& d = datasets[name];
  DatasetSpec spec;
  spec.name = name;
  spec.root = absolute_in(dir, d.value("path", std::string()));
  spec.format = d.value("format", std::string());
  for (const auto& f : d.value("files", nlohmann::json::array()))
    if (f.is_string()) spec.files.push_back(f.get<std::string>());
  const std::string label_file = d.value("label_file", std::string());
  if (!label_file.empty()) spec.label_file = absolute_in(dir, label_file);
  return spec;
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
  // (TensorFlow) row each: same architecture, other framework.
  static const std::map<std::string, std::string> zoo_rows = {
      {"mobilenet-v2-1.0-224", "mobilenet-v2-1.0-224-TF"},
  };
  static const std::map<std::string, std::string> torchvision_rows = {
      {"resnet-18", "resnet-18-pytorch"},      {"resnet-50", "resnet-50-PYTORCH"},
      {"mobilenet-v2", "mobilenet-v2-PYTORCH"}, {"densenet-121", "densenet-121-TF"},
      {"googlenet-v3", "googlenet-v3-tf"},
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
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  const nlohmann::json* entries = nullptr;
  for (const char* key : {"entries", "models"})
    if (manifest.contains(key) && manifest[key].is_array()) entries = &manifest[key];
  if (!entries) throw Error(path + ": no \"entries\" list");
  const nlohmann::json datasets = manifest.value("datasets", nlohmann::json::object());

  std::vector<ModelEntry> models;
  for (const auto& e : *entries) {
    ModelEntry m;
    m.manifest_name = e.value("name", std::string());
    if (m.manifest_name.empty()) throw Error(path + ": an entry without a name");
    const std::string context = path + " [" + m.manifest_name + "]";
    m.source = source;
    m.name = classic_display_name(m.manifest_name, source);
    m.classic_row = classic_row_for(m.name, source);
    m.manifest_dir = dir;
    m.onnx_path = absolute_in(dir, e.value("file", m.manifest_name + ".onnx"));
    std::error_code ec;
    if (!fs::exists(m.onnx_path, ec)) {
      if (warnings) warnings->push_back(context + ": model file " + m.onnx_path + " is missing; skipped");
      continue;
    }
    if (e.contains("test_data") && e["test_data"].is_object()) {
      std::string td = absolute_in(dir, e["test_data"].value("dir", std::string()));
      if (!td.empty() && fs::is_directory(td, ec)) m.test_data_dir = td;
    }
    m.inputs = parse_inputs(e.value("inputs", nlohmann::json::array()), context);
    m.pipeline = e.value("pipeline", nlohmann::json());
    if (e.contains("metric") && e["metric"].is_object()) m.label_offset = e["metric"].value("label_offset", 0);
    if (e.contains("fp32_reference_accuracy") && e["fp32_reference_accuracy"].is_object()) {
      const auto& r = e["fp32_reference_accuracy"];
      if (r.contains("top1") && r["top1"].is_number()) m.reference_top1 = 100.0 * r["top1"].get<double>();
    }
    std::string vocab = e.value("vocab_file", std::string());
    if (!vocab.empty()) m.vocab_path = absolute_in(dir, vocab);

    const bool architecture_only = e.value("architecture_only", false);
    const std::string dataset_name = e.contains("dataset") && e["dataset"].is_string() ? e["dataset"].get<std::string>() : "";
    if (architecture_only || dataset_name.empty()) {
      m.no_data_reason = "no labelled data";
    } else {
      m.dataset = parse_dataset(datasets, dataset_name, dir);
      if (!m.dataset) {
        m.no_data_reason = "dataset " + dataset_name + " not described in the manifest";
      } else if (std::string missing = missing_dataset_file(*m.dataset); !missing.empty()) {
        m.no_data_reason = "dataset " + dataset_name + " not found (" + missing + ")";
      } else if (m.pipeline.is_null()) {
        m.no_data_reason = "no preprocessing pipeline in the manifest";
      }
      if (!m.no_data_reason.empty() && warnings) warnings->push_back(context + ": " + m.no_data_reason);
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
    for (ModelEntry& m : read_manifest(dir, source, warnings)) {
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
