// A table lookup on 8-bit values: y[i] = table[x[i]] (the raw byte as the index, so u8 and s8
// alike). An 8-bit element-wise function with per-tensor parameters on both sides is exactly
// such a table (ops/quant/quant_lookup.cc builds them); the INT8 conv applies one to its output
// rows while they are in cache (a fused HardSwish).
#pragma once

#include <cstdint>

namespace octet::kernels {

// One portable kernel for every level: 256-entry tables do not vectorise without AVX-512 VBMI
// (vpermi2b), which the levels do not imply.
using LookupQ8Fn = void (*)(const uint8_t* table, const uint8_t* x, uint8_t* y, int64_t n);
void lookup_q8_ref(const uint8_t* table, const uint8_t* x, uint8_t* y, int64_t n);

}  // namespace octet::kernels
