// Baseline code: 256-entry tables do not vectorise without AVX-512 VBMI (vpermi2b), which the
// dispatch levels do not imply; a byte load and a table load per element is about one cycle.
#include "octet/kernels/lookup_q8.h"

namespace octet::kernels {

void lookup_q8(const uint8_t* table, const uint8_t* x, uint8_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = table[x[i]];
}

}  // namespace octet::kernels
