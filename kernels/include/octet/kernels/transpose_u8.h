// Byte matrix transpose with an optional sign flip: dst[c * ldd + r] = src[r * lds + c] ^ xor_mask
// for r < rows, c < cols (xor_mask 0x80 turns s8 into u8 order). The INT8 convolutions' NCHW <->
// pixel-major transposes and the layout conversions run it. Every level gives the same bytes.
#pragma once

#include <cstdint>

namespace octet::kernels {

using TransposeU8Fn = void (*)(const uint8_t* src, int64_t rows, int64_t cols, int64_t lds, uint8_t* dst,
                               int64_t ldd, uint8_t xor_mask);
void transpose_u8_ref(const uint8_t* src, int64_t rows, int64_t cols, int64_t lds, uint8_t* dst, int64_t ldd,
                      uint8_t xor_mask);
// 16 x 16 blocks of byte unpacks (SSE2 instructions, VEX-encoded in this build).
void transpose_u8_avx2(const uint8_t* src, int64_t rows, int64_t cols, int64_t lds, uint8_t* dst, int64_t ldd,
                       uint8_t xor_mask);

}  // namespace octet::kernels
