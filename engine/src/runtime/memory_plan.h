// Liveness-based arena planning: values whose lifetimes overlap never share bytes.
#pragma once

#include <cstdint>
#include <vector>

namespace octet::detail {

struct BufferRequest {
  int64_t bytes = 0;
  int first = 0;  // first step that writes it
  int last = 0;   // last step that reads it (>= first)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // one per request, 64-byte aligned
  int64_t total_bytes = 0;
};

// Greedy by size (largest first), each buffer at the lowest offset that does not collide
// with an already placed buffer of overlapping lifetime.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests);

}  // namespace octet::detail
