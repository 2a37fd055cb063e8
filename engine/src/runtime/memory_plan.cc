#include "runtime/memory_plan.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "octet/octet.h"

namespace octet::detail {

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests) {
  const size_t n = requests.size();
  MemoryPlan plan;
  plan.offsets.assign(n, 0);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });

  struct Placed {
    int64_t begin, end;
    int first, last;
  };
  std::vector<Placed> placed;
  for (size_t idx : order) {
    const BufferRequest& r = requests[idx];
    // Sizes and offsets are checked so the plan never wraps: many large buffers could add up
    // past int64 even when each fits the memory limit.
    if (r.bytes > INT64_MAX - 64) throw Error("memory plan: a buffer of " + std::to_string(r.bytes) + " bytes");
    int64_t size = (std::max<int64_t>(r.bytes, 1) + 63) / 64 * 64;
    // Intervals of conflicting buffers, sorted by start; take the first gap that fits.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (const Placed& p : placed)
      if (!(p.last < r.first || r.last < p.first)) busy.push_back({p.begin, p.end});
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (const auto& b : busy) {
      if (offset <= b.first && size <= b.first - offset) break;
      offset = std::max(offset, b.second);
    }
    if (offset > INT64_MAX - size) throw Error("memory plan: the working memory exceeds what int64 can address");
    plan.offsets[idx] = offset;
    placed.push_back({offset, offset + size, r.first, r.last});
    plan.total_bytes = std::max(plan.total_bytes, offset + size);
  }
  return plan;
}

}  // namespace octet::detail
