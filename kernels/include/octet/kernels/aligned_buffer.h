// A 64-byte aligned, zero-initialised byte buffer for packed weights and scratch; or, made by
// borrow(), a read-only view of bytes someone else keeps alive (packed weights used in place from
// a memory-mapped compiled-model file). Move-only either way.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace octet::kernels {

// Frees an AlignedBuffer's bytes: munmap for its own pages, free for the heap.
struct AlignedBufferFree {
  size_t mapped = 0;  // bytes of an mmap, or 0 for the heap
  void operator()(void* p) const {
    if (mapped) munmap(p, mapped);
    else std::free(p);
  }
};

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
    owned_.reset();
    keeper_.reset();
    ptr_ = nullptr;
    size_ = 0;
    if (rounded >= kMappedBytes) {
      // Pages of its own: zero and committed only when first touched (a session's arena costs
      // nothing until a run writes it), and returned to the system when freed (glibc would
      // keep a freed heap block mapped for reuse).
      void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      owned_ = std::unique_ptr<void, AlignedBufferFree>(p, AlignedBufferFree{rounded});
      ptr_ = p;
    } else if (rounded) {
      void* p = std::aligned_alloc(64, rounded);
      if (!p) throw std::bad_alloc();
      std::memset(p, 0, rounded);
      owned_ = std::unique_ptr<void, AlignedBufferFree>(p, AlignedBufferFree{0});
      ptr_ = p;
    }
    size_ = bytes;
  }
  size_t size() const { return size_; }
  void* data() { return ptr_; }
  const void* data() const { return ptr_; }
  template <class T> T* as() { return static_cast<T*>(ptr_); }
  template <class T> const T* as() const { return static_cast<const T*>(ptr_); }

 private:
  static constexpr size_t kMappedBytes = size_t(1) << 20;
  std::unique_ptr<void, AlignedBufferFree> owned_;
  std::shared_ptr<const void> keeper_;
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace octet::kernels
