// A 64-byte aligned, zero-initialised byte buffer for packed weights and scratch; or, made by
// borrow(), a read-only view of bytes someone else keeps alive (packed weights used in place from
// a memory-mapped compiled-model file). Move-only either way.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

namespace octet::kernels {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) { resize(bytes); }
  AlignedBuffer(AlignedBuffer&& o) noexcept { *this = std::move(o); }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this == &o) return *this;
    owned_ = std::move(o.owned_);
    keeper_ = std::move(o.keeper_);
    ptr_ = o.ptr_;
    size_ = o.size_;
    o.ptr_ = nullptr;
    o.size_ = 0;
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // `data` must be 64-byte aligned and stay valid while `keeper` lives. Writing through a
  // borrowed buffer is a bug (the bytes are typically mapped read-only).
  static AlignedBuffer borrow(const void* data, size_t bytes, std::shared_ptr<const void> keeper) {
    AlignedBuffer b;
    b.keeper_ = std::move(keeper);
    b.ptr_ = const_cast<void*>(data);
    b.size_ = bytes;
    return b;
  }
  bool borrowed() const { return keeper_ != nullptr; }

  void resize(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    void* p = rounded ? std::aligned_alloc(64, rounded) : nullptr;
    if (rounded && !p) throw std::bad_alloc();
    if (p) std::memset(p, 0, rounded);
    owned_.reset(p);
    keeper_.reset();
    ptr_ = p;
    size_ = bytes;
  }
  size_t size() const { return size_; }
  void* data() { return ptr_; }
  const void* data() const { return ptr_; }
  template <class T> T* as() { return static_cast<T*>(ptr_); }
  template <class T> const T* as() const { return static_cast<const T*>(ptr_); }

 private:
  struct Free { void operator()(void* p) const { std::free(p); } };
  std::unique_ptr<void, Free> owned_;
  std::shared_ptr<const void> keeper_;
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace octet::kernels
