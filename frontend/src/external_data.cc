// External data: tensors whose bytes live in a separate file next to the model
// (TensorProto.data_location == EXTERNAL, keys "location", "offset", "length").
//
// A model file is untrusted input, so the location may only name a file inside the model's
// own folder: absolute paths and ".." components are refused outright, and the path is then
// canonicalised (realpath, which follows symlinks) and must still lie under the canonical
// model folder. offset and length are checked against the file's real size before the tensor
// is allocated (or, for initializers, recorded to be read at compile).
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "onnx_internal.h"

namespace octet::frontend {
namespace {

// Strict non-negative decimal (the ONNX external_data values are strings).
bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

std::string canonical(const std::string& path, bool* ok) {
  char* r = ::realpath(path.c_str(), nullptr);
  *ok = r != nullptr;
  if (!r) return std::string();
  std::string s(r);
  std::free(r);
  return s;
}

}  // namespace

std::shared_ptr<const detail::FileBytes> locate_external_data(const onnx::TensorProto& tp, DType dtype,
                                                              const Shape& shape, size_t bytes,
                                                              const TensorSource& src, const std::string& what,
                                                              uint64_t* out_offset) {
  const std::string where = src.display + ": " + what;
  std::string location;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (const auto& kv : tp.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset") {
      if (!parse_u64(kv.value(), &offset))
        throw Error(where + ": external data offset '" + kv.value() + "' is not a non-negative integer");
    } else if (kv.key() == "length") {
      if (!parse_u64(kv.value(), &length))
        throw Error(where + ": external data length '" + kv.value() + "' is not a non-negative integer");
      has_length = true;
    }  // "checksum" and unknown keys carry nothing octet needs
  }
  if (location.empty()) throw Error(where + ": external data has no 'location'");
  if (src.base_dir.empty())
    throw Error(where + ": uses external data file '" + location +
                "', but the model was loaded from memory without a base directory");

  // Windows exporters write backslashes; treat them as separators so "..\\x" is caught too.
  std::string rel = location;
  for (char& c : rel)
    if (c == '\\') c = '/';
  if (rel[0] == '/' || (rel.size() > 1 && rel[1] == ':'))
    throw Error(where + ": external data location '" + location +
                "' is an absolute path; only files inside the model's folder are allowed");
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    if (rel.compare(start, end - start, "..") == 0 && end - start == 2)
      throw Error(where + ": external data location '" + location +
                  "' contains '..'; only files inside the model's folder are allowed");
    start = end + 1;
  }

  bool ok = false;
  const std::string base = canonical(src.base_dir, &ok);
  if (!ok) throw Error(where + ": cannot resolve the model folder '" + src.base_dir + "': " + std::strerror(errno));
  const std::string joined = src.base_dir + "/" + rel;
  const std::string file = canonical(joined, &ok);
  if (!ok)
    throw Error(where + ": external data file '" + location + "' not found in '" + src.base_dir +
                "': " + std::strerror(errno));
  const std::string prefix = base == "/" ? base : base + "/";
  if (file.compare(0, prefix.size(), prefix) != 0)
    throw Error(where + ": external data file '" + location + "' resolves to '" + file +
                "', outside the model's folder '" + base + "' (symlink?)");

  std::shared_ptr<const detail::FileBytes> fb;
  if (src.external_files) {
    auto it = src.external_files->find(file);
    if (it != src.external_files->end()) fb = it->second;
  }
  if (!fb) {
    std::string error;
    fb = detail::FileBytes::open(file, &error);
    if (!fb) {
      if (error == detail::FileBytes::kNotRegularFile)
        throw Error(where + ": external data file '" + file + "' is not a regular file");
      throw Error(where + ": cannot open external data file '" + file + "': " + error);
    }
    if (src.external_files) (*src.external_files)[file] = fb;
  }
  const uint64_t file_size = fb->size();
  const std::string shape_desc = std::string(dtype_name(dtype)) + " " + shape_str(shape);
  auto fail = [&](const std::string& msg) { throw Error(where + ": external data file '" + file + "': " + msg); };
  if (has_length && length != bytes)
    fail("length " + std::to_string(length) + " does not match the " + std::to_string(bytes) + " bytes of " +
         shape_desc);
  if (offset > file_size || bytes > file_size - offset)
    fail("too short: " + shape_desc + " needs " + std::to_string(bytes) + " bytes at offset " +
         std::to_string(offset) + " but the file has " + std::to_string(file_size) + " bytes");
  *out_offset = offset;
  return fb;
}

}  // namespace octet::frontend
