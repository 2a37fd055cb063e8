// Model discovery: reads the zoo's manifest.json and the manifests that tools/ writes
// (torchvision exports, locally trained nets), in the zoo's schema, and names every model the
// way the classic tables do.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_int8/cli.h"

namespace octet::bench {

struct InputSpec {
  std::string name;
  std::string dtype;  // "float32", "int64", ...
  std::vector<int64_t> shape;          // -1 where symbolic
  std::vector<std::string> dim_names;  // the symbolic names, "" where fixed
};

// A dataset in its native form, from a manifest's "datasets" section.
struct DatasetSpec {
  std::string name;
  std::string root;    // absolute directory
  std::string format;  // "jpeg+labels", "idx (gzip)", "tsv"
  std::vector<std::string> files;
  std::string label_file;  // absolute, jpeg+labels only
};

enum class ModelSource { zoo, local, torchvision };
const char* source_name(ModelSource s);

struct ModelEntry {
  std::string name;           // as printed and as --models selects it (classic name if any)
  std::string manifest_name;  // the name in its manifest
  ModelSource source = ModelSource::zoo;
  std::string onnx_path;
  std::string manifest_dir;
  std::string test_data_dir;  // "" when absent
  std::vector<InputSpec> inputs;
  std::optional<DatasetSpec> dataset;  // absent: architecture only
  nlohmann::json pipeline;             // the manifest's "pipeline" (null when absent)
  int label_offset = 0;
  std::string vocab_path;  // text models
  std::string classic_row; // row in ../shared/classic-tables, "" if none
  std::optional<double> reference_top1;  // manifest's FP32 reference, percent
  std::string no_data_reason;  // why table 1 has no figures ("no labelled data", ...)
  // Why this entry cannot be benchmarked at all (a malformed or unsupported manifest entry, a
  // missing file): its row is an error row and the others still run. "" when it is usable.
  std::string error;

  bool has_labelled_data() const { return error.empty() && dataset.has_value() && no_data_reason.empty(); }
};

struct ModelSources {
  std::string zoo_dir;     // "" when absent
  std::string models_dir;  // torchvision exports, "" when absent
  std::string local_dir;   // locally trained nets, "" when absent
  std::string source_dir;  // octet's source tree
};

// --zoo, then $OCTET_ZOO, then ../shared/zoo beside the source tree; likewise build/models and
// build/fmnist for the generated models. An explicit directory that does not exist is a
// UsageError.
ModelSources resolve_sources(const Options& options);

// Every model of every manifest found, zoo first, then local nets, then torchvision.
// Problems that do not stop the run (a missing dataset) land in `warnings`. A malformed entry
// (or a manifest that cannot be read at all) is listed with `error` set, never thrown.
std::vector<ModelEntry> discover_models(const ModelSources& sources, std::vector<std::string>* warnings);

// Reads one manifest (exposed for tests and the fuzz target). Relative paths are resolved
// against `dir`; in the zoo (ModelSource::zoo) a path that leaves `dir` makes its entry an
// error, while tools/' own manifests may name system datasets (/usr/share/datasets). Throws
// octet::Error only when the manifest itself cannot be read or has no entries list.
std::vector<ModelEntry> read_manifest(const std::string& dir, ModelSource source,
                                      std::vector<std::string>* warnings);
// The same for a manifest's text, as if it were dir/manifest.json (the fuzz target's entry).
std::vector<ModelEntry> parse_manifest(const std::string& text, const std::string& dir, ModelSource source,
                                       std::vector<std::string>* warnings);

// The models named in `wanted` (by printed or manifest name, case-insensitive), in the order
// given; all of `models` when `wanted` is empty. Unknown names: UsageError.
std::vector<ModelEntry> select_models(const std::vector<ModelEntry>& models,
                                      const std::vector<std::string>& wanted);

// The printed name of a manifest model: the classic tables' name where it is one of them.
std::string classic_display_name(const std::string& manifest_name, ModelSource source);
// The classic-tables row a printed name corresponds to ("" if none).
std::string classic_row_for(const std::string& display_name, ModelSource source);

}  // namespace octet::bench
