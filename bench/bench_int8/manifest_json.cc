#include "bench_int8/manifest_json.h"

#include <algorithm>
#include <limits>

#include "octet/octet.h"

namespace octet::bench {

ManifestNode::ManifestNode(const nlohmann::json& value, std::string where, std::string key_path)
    : value_(&value), where_(std::move(where)), key_path_(std::move(key_path)) {}

std::string ManifestNode::type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "a binary value";
  }
}

std::string ManifestNode::describe(const std::string& key) const {
  std::string path = key_path_;
  if (!key.empty()) path += (path.empty() ? "" : ".") + key;
  return where_ + (path.empty() ? "" : " " + path);
}

void ManifestNode::fail(const std::string& key, const std::string& what) const {
  throw Error(describe(key) + ": " + what);
}

bool ManifestNode::has(const std::string& key) const {
  if (!value_->is_object()) fail("", "is " + type_name(*value_) + ", expected an object");
  auto it = value_->find(key);
  return it != value_->end() && !it->is_null();
}

const nlohmann::json& ManifestNode::required(const std::string& key) const {
  if (!has(key)) {
    const bool present = value_->contains(key);
    fail(key, present ? "is null" : "is missing");
  }
  return (*value_)[key];
}

std::string ManifestNode::string(const std::string& key) const {
  const nlohmann::json& v = required(key);
  if (!v.is_string()) fail(key, "is " + type_name(v) + ", expected a string");
  return v.get<std::string>();
}

std::string ManifestNode::string_or(const std::string& key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

int64_t ManifestNode::integer_or(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(key)) {
    if (value_->contains(key)) fail(key, "is null, expected an integer");
    return fallback;
  }
  const nlohmann::json& v = (*value_)[key];
  int64_t n = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(key, "is out of range");
    n = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    n = v.get<int64_t>();
  } else {
    fail(key, "is " + type_name(v) + ", expected an integer");
  }
  if (n < lo || n > hi)
    fail(key, std::to_string(n) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return n;
}

double ManifestNode::number_or(const std::string& key, double fallback) const {
  if (!has(key)) {
    if (value_->contains(key)) fail(key, "is null, expected a number");
    return fallback;
  }
  const nlohmann::json& v = (*value_)[key];
  if (!v.is_number()) fail(key, "is " + type_name(v) + ", expected a number");
  return v.get<double>();
}

bool ManifestNode::boolean_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = (*value_)[key];
  if (!v.is_boolean()) fail(key, "is " + type_name(v) + ", expected true or false");
  return v.get<bool>();
}

std::vector<double> ManifestNode::numbers_or(const std::string& key, const std::vector<double>& fallback) const {
  if (!has(key)) {
    if (value_->contains(key)) fail(key, "is null, expected a list of numbers");
    return fallback;
  }
  const nlohmann::json& v = (*value_)[key];
  if (!v.is_array()) fail(key, "is " + type_name(v) + ", expected a list of numbers");
  if (v.size() > 4096) fail(key, "has " + std::to_string(v.size()) + " elements (at most 4096)");
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number()) fail(key, "element " + std::to_string(i) + " is " + type_name(v[i]) + ", expected a number");
    out.push_back(v[i].get<double>());
  }
  return out;
}

std::vector<std::string> ManifestNode::strings_or(const std::string& key) const {
  std::vector<std::string> out;
  if (!has(key)) return out;
  const nlohmann::json& v = (*value_)[key];
  if (!v.is_array()) fail(key, "is " + type_name(v) + ", expected a list of strings");
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) fail(key, "element " + std::to_string(i) + " is " + type_name(v[i]) + ", expected a string");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

void ManifestNode::only_keys(const std::vector<std::string>& known) const {
  if (!value_->is_object()) return;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    fail(it.key(), "is not supported by bench_int8 yet (it reads " + list + ")");
  }
}

ManifestNode ManifestNode::object(const std::string& key) const {
  const nlohmann::json& v = required(key);
  if (!v.is_object()) fail(key, "is " + type_name(v) + ", expected an object");
  return ManifestNode(v, where_, key_path_.empty() ? key : key_path_ + "." + key);
}

ManifestNode ManifestNode::at(const std::string& key) const {
  return ManifestNode(required(key), where_, key_path_.empty() ? key : key_path_ + "." + key);
}

std::vector<ManifestNode> ManifestNode::array_or_empty(const std::string& key) const {
  std::vector<ManifestNode> out;
  if (!has(key)) return out;
  const nlohmann::json& v = (*value_)[key];
  if (!v.is_array()) fail(key, "is " + type_name(v) + ", expected a list");
  const std::string base = key_path_.empty() ? key : key_path_ + "." + key;
  for (size_t i = 0; i < v.size(); ++i) out.emplace_back(v[i], where_, base + "[" + std::to_string(i) + "]");
  return out;
}

}  // namespace octet::bench
