// A 64-byte aligned, zero-initialised byte buffer for packed weights and scratch.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace octet::kernels {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) { resize(bytes); }
  void resize(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    void* p = rounded ? std::aligned_alloc(64, rounded) : nullptr;
    if (rounded && !p) throw std::bad_alloc();
    if (p) std::memset(p, 0, rounded);
    ptr_.reset(p);
    size_ = bytes;
  }
  size_t size() const { return size_; }
  void* data() { return ptr_.get(); }
  const void* data() const { return ptr_.get(); }
  template <class T> T* as() { return static_cast<T*>(ptr_.get()); }
  template <class T> const T* as() const { return static_cast<const T*>(ptr_.get()); }

 private:
  struct Free { void operator()(void* p) const { std::free(p); } };
  std::unique_ptr<void, Free> ptr_;
  size_t size_ = 0;
};

}  // namespace octet::kernels
