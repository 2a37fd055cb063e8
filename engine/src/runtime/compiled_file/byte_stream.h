// Little-endian writing and bounds-checked reading of the compiled-model file's manifest. The
// reader treats its input as hostile: every read is checked against the end, and a count is
// accepted only when the bytes left could hold that many elements (no allocation is sized by
// an unchecked number).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "octet/error.h"

namespace octet::detail {

class ByteWriter {
 public:
  template <class T> void put(T v) { out_.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void put_str(const std::string& s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  template <class T> T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_str() {
    const uint32_t len = get<uint32_t>();
    need(len);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  // A count of elements that take at least min_bytes each.
  uint32_t get_count(size_t min_bytes) {
    const uint32_t n = get<uint32_t>();
    if (min_bytes && n > (n_ - pos_) / min_bytes) fail("a count of " + std::to_string(n) + " runs past the end");
    return n;
  }
  bool at_end() const { return pos_ == n_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("compiled model: damaged manifest at byte " + std::to_string(pos_) + ": " + what);
  }

 private:
  void need(size_t k) const {
    if (k > n_ - pos_) fail("truncated");
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

}  // namespace octet::detail
