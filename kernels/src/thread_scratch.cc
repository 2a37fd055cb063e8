#include "octet/kernels/thread_scratch.h"

#include <atomic>

namespace octet::kernels {
namespace {
std::atomic<std::ptrdiff_t> g_thread_scratch_bytes{0};
}  // namespace

size_t thread_scratch_bytes() {
  const std::ptrdiff_t held = g_thread_scratch_bytes.load(std::memory_order_relaxed);
  return held > 0 ? static_cast<size_t>(held) : 0;
}

void add_thread_scratch_bytes(std::ptrdiff_t delta) {
  g_thread_scratch_bytes.fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace octet::kernels
