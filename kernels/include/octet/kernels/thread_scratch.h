// Scratch that kernels keep per thread between calls (grown on demand, released when the thread
// ends), counted process-wide so that tools can report it beside the weights and the arena:
// RSS alone cannot tell it apart from them.
#pragma once

#include <cstddef>

#include "octet/kernels/aligned_buffer.h"

namespace octet::kernels {

// Bytes held right now by every thread's scratch in the process.
size_t thread_scratch_bytes();

// For scratch a kernel keeps in a structure of its own: report each growth, and the release
// when the thread ends.
void add_thread_scratch_bytes(std::ptrdiff_t delta);

// A per-thread scratch buffer, counted in thread_scratch_bytes(). Declare it thread_local.
class ThreadScratch {
 public:
  ThreadScratch() = default;
  ThreadScratch(const ThreadScratch&) = delete;
  ThreadScratch& operator=(const ThreadScratch&) = delete;
  ~ThreadScratch() { add_thread_scratch_bytes(-static_cast<std::ptrdiff_t>(buf_.size())); }

  // At least `bytes`, 64-byte aligned; the contents are not kept when it grows.
  template <class T>
  T* get(size_t count) {
    const size_t bytes = count * sizeof(T);
    if (buf_.size() < bytes) {
      const size_t before = buf_.size();
      buf_.resize(bytes);
      add_thread_scratch_bytes(static_cast<std::ptrdiff_t>(bytes - before));
    }
    return buf_.as<T>();
  }

 private:
  AlignedBuffer buf_;
};

}  // namespace octet::kernels
