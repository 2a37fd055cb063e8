// Locations of test inputs that live outside the repository.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace octet::testing {

// The model zoo: $OCTET_ZOO, else ../shared/zoo beside the source tree; "" when absent.
inline std::string zoo_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("OCTET_ZOO"); env && *env) return fs::exists(env) ? env : "";
  fs::path p = fs::path(OCTET_SOURCE_DIR).parent_path() / "shared" / "zoo";
  return fs::exists(p / "manifest.json") ? p.string() : "";
}

// Models generated at test time by tools/export_torchvision.py: $OCTET_MODELS_DIR, else
// build/models in the source tree; "" when absent.
inline std::string generated_models_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("OCTET_MODELS_DIR"); env && *env) return fs::exists(env) ? env : "";
  fs::path p = fs::path(OCTET_SOURCE_DIR) / "build" / "models";
  return fs::exists(p) ? p.string() : "";
}

}  // namespace octet::testing
