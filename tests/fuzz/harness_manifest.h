// fuzz_manifest: bench_int8's manifest reader (bench/bench_int8/catalog.cc, manifest_json.cc,
// the image pipeline of preprocess.cc) on hostile manifest.json text, read as the zoo's
// manifest in a scratch folder that holds one model file and one dataset folder, so that
// both the paths that resolve and those that do not are reached.
// Oracles: a manifest that cannot be read at all throws octet::Error (nothing else escapes);
// every entry it lists is either an error naming the manifest, or usable with its model file,
// vocabulary and test data inside the zoo folder, and its data set there or under /usr/share
// (where Debian packages install data sets).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench_int8/catalog.h"
#include "fuzz/fuzz_common.h"

namespace octet::fuzz {

// The per-process zoo folder: models/m.onnx and datasets/d/{a,b}, made once.
inline const std::string& manifest_scratch_zoo() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const fs::path d = fs::temp_directory_path() / ("octet_fuzz_zoo_" + std::to_string(::getpid()));
    fs::create_directories(d / "models");
    fs::create_directories(d / "datasets" / "d");
    std::ofstream(d / "models" / "m.onnx") << "m";
    std::ofstream(d / "datasets" / "d" / "a") << "a";
    std::ofstream(d / "datasets" / "d" / "b") << "b";
    return d.string();
  }();
  return dir;
}

inline bool inside_folder(const std::string& path, const std::string& dir) {
  const std::filesystem::path rel = std::filesystem::path(path).lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

inline void fuzz_manifest_one(const uint8_t* data, size_t size) {
  const std::string& zoo = manifest_scratch_zoo();
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<bench::ModelEntry> entries;
  try {
    entries = bench::parse_manifest(text, zoo, bench::ModelSource::zoo, nullptr);
  } catch (const Error& e) {
    check_clean_error(e);
    return;
  }
  for (const bench::ModelEntry& m : entries) {
    if (!m.error.empty()) {
      require(m.error.find(zoo + "/manifest.json") != std::string::npos, "an entry error that names no manifest");
      continue;
    }
    require(inside_folder(m.onnx_path, zoo), "a usable entry's model file outside the zoo: " + m.onnx_path);
    if (m.dataset) {
      const bool system = inside_folder(m.dataset->root, "/usr/share");
      require(system || inside_folder(m.dataset->root, zoo), "a dataset outside the zoo: " + m.dataset->root);
      if (!m.dataset->label_file.empty())
        require(inside_folder(m.dataset->label_file, system ? m.dataset->root : zoo),
                "a label file outside its data set: " + m.dataset->label_file);
    }
    if (!m.vocab_path.empty()) require(inside_folder(m.vocab_path, zoo), "a vocabulary outside the zoo");
    if (!m.test_data_dir.empty()) require(inside_folder(m.test_data_dir, zoo), "test data outside the zoo");
  }
}

}  // namespace octet::fuzz
