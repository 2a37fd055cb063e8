// Element-wise running max of bytes: acc[i] = max(acc[i], x[i]) for n bytes, in u8 order (s8
// data is mapped to u8 order by the caller, x ^ 0x80). The INT8 max pooling on planes
// (octet.MaxPool) runs it once per tap over a whole output row.
#pragma once

#include <cstdint>

namespace octet::kernels {

using MaxU8Fn = void (*)(uint8_t* acc, const uint8_t* x, int64_t n);
void max_u8_ref(uint8_t* acc, const uint8_t* x, int64_t n);
void max_u8_avx2(uint8_t* acc, const uint8_t* x, int64_t n);

}  // namespace octet::kernels
