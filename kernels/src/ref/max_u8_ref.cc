#include <algorithm>

#include "octet/kernels/max_u8.h"

namespace octet::kernels {

void max_u8_ref(uint8_t* acc, const uint8_t* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] = std::max(acc[i], x[i]);
}

}  // namespace octet::kernels
