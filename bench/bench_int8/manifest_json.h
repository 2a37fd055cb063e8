// Checked reads of a manifest's JSON: every value's type and range is checked, and a wrong one
// throws octet::Error naming the manifest, the entry and the key ("manifest.json [face-net]
// pipeline.resize.shorter_side: is null, expected an integer"), so no raw nlohmann type_error
// reaches the user and one bad entry can be reported as one failed row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace octet::bench {

class ManifestNode {
 public:
  // `where`: the manifest and the entry ("/zoo/manifest.json [resnet]"); `key_path`: this
  // node's keys from the entry ("pipeline.resize"), "" for the entry itself.
  ManifestNode(const nlohmann::json& value, std::string where, std::string key_path = "");

  const nlohmann::json& json() const { return *value_; }
  bool is_object() const { return value_->is_object(); }
  // Present and not null. Absent and null keys both take the fallback below; a key whose
  // value has another type than asked is an error.
  bool has(const std::string& key) const;

  std::string string(const std::string& key) const;  // required
  std::string string_or(const std::string& key, const std::string& fallback) const;
  int64_t integer_or(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const;
  double number_or(const std::string& key, double fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  std::vector<double> numbers_or(const std::string& key, const std::vector<double>& fallback) const;
  std::vector<std::string> strings_or(const std::string& key) const;  // absent: empty

  ManifestNode object(const std::string& key) const;  // required, an object
  // The elements of an array (absent or null: none).
  std::vector<ManifestNode> array_or_empty(const std::string& key) const;
  // The value under `key` as a node of any type (required).
  ManifestNode at(const std::string& key) const;

  // Fails on the first key not in `known` (a preprocessing step this reader would otherwise
  // skip silently, giving wrong figures).
  void only_keys(const std::vector<std::string>& known) const;

  // "where key_path.key"
  std::string describe(const std::string& key = "") const;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

  // The JSON type's name as a reader would say it ("null", "a string", "an array", ...).
  static std::string type_name(const nlohmann::json& v);

 private:
  const nlohmann::json& required(const std::string& key) const;
  const nlohmann::json* value_;
  std::string where_, key_path_;
};

}  // namespace octet::bench
