// A file that constants of a loaded model still live in (the model's own raw_data, or an
// external data file): a Model keeps the open descriptor instead of a copy of the weights, and
// a compile reads each constant when it needs it (Graph::load_file_constants). pread into
// 64-byte-aligned tensors: the bytes in the file have arbitrary alignment, and nothing counts
// in the process's memory until it is read.
//
// The file is held open, so a model file replaced by rename (how tools usually rewrite files)
// still reads as loaded; one overwritten in place reads its new bytes, and one truncated below
// a constant fails with an Error at compile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace octet::detail {

class FileBytes {
 public:
  // Opens a regular file read-only. On failure returns null with *error set to open's reason
  // (strerror) or to kNotRegularFile.
  static std::shared_ptr<const FileBytes> open(const std::string& path, std::string* error);
  static constexpr const char* kNotRegularFile = "not a regular file";
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }  // when opened
  int fd() const { return fd_; }           // for mapping; stays owned by this object
  // Reads exactly n bytes at offset; throws Error naming the file when it cannot.
  void read(uint64_t offset, void* dst, size_t n) const;

 private:
  FileBytes(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

}  // namespace octet::detail
