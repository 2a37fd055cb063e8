#include "octet/kernels/transpose_u8.h"

namespace octet::kernels {

void transpose_u8_ref(const uint8_t* src, int64_t rows, int64_t cols, int64_t lds, uint8_t* dst, int64_t ldd,
                      uint8_t xor_mask) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c] ^ xor_mask;
}

}  // namespace octet::kernels
