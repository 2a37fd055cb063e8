// Byte transposes in 16 x 16 blocks of unpacks (epi8, epi16, epi32, epi64): SSE2 instructions,
// VEX-encoded in this build; a 16-byte row is what the unpack network handles in registers.
#include <immintrin.h>

#include <cstring>

#include "octet/kernels/transpose_u8.h"

namespace octet::kernels {
namespace {

// One 16 x 16 block: dst row c = src column c.
inline void transpose16x16(const uint8_t* src, int64_t lds, uint8_t* dst, int64_t ldd, __m128i mask) {
  __m128i r[16], t[16];
  for (int i = 0; i < 16; ++i)
    r[i] = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * lds)), mask);
  for (int i = 0; i < 8; ++i) {
    t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    t[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  // t[i] (i < 8): columns 0..7 of rows 2i, 2i+1 as byte pairs; t[i + 8]: columns 8..15.
  for (int h = 0; h < 2; ++h) {
    __m128i* u = t + 8 * h;
    __m128i v[8], w[8];
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm_unpacklo_epi16(u[2 * i], u[2 * i + 1]);
      v[i + 4] = _mm_unpackhi_epi16(u[2 * i], u[2 * i + 1]);
    }
    // v[i] (i < 4): columns 0..3 (of this half) of rows 4i..4i+3; v[i + 4]: columns 4..7.
    for (int q = 0; q < 2; ++q)
      for (int i = 0; i < 2; ++i) {
        w[4 * q + i] = _mm_unpacklo_epi32(v[4 * q + 2 * i], v[4 * q + 2 * i + 1]);
        w[4 * q + i + 2] = _mm_unpackhi_epi32(v[4 * q + 2 * i], v[4 * q + 2 * i + 1]);
      }
    // w[4q + j] (j < 2): columns 4q + 0..1 of rows 8j..8j+7; w[4q + 2 + j]: columns 4q + 2..3.
    for (int q = 0; q < 2; ++q)
      for (int cc = 0; cc < 2; ++cc) {
        const __m128i lo = w[4 * q + 2 * cc], hi = w[4 * q + 2 * cc + 1];
        const int col = 8 * h + 4 * q + 2 * cc;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + col * ldd), _mm_unpacklo_epi64(lo, hi));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (col + 1) * ldd), _mm_unpackhi_epi64(lo, hi));
      }
  }
}

}  // namespace

void transpose_u8_avx2(const uint8_t* src, int64_t rows, int64_t cols, int64_t lds, uint8_t* dst, int64_t ldd,
                       uint8_t xor_mask) {
  const __m128i mask = _mm_set1_epi8(static_cast<char>(xor_mask));
  if (rows < 16 && ldd == rows && cols > 32) {
    // Few rows into contiguous columns (a 3-channel image to NHWC): 16 x 16 blocks of the rows
    // and zeros. Each column's 16-byte store runs past its `rows` bytes into the next
    // columns', which the later stores (in column order) overwrite; the last 16 columns go
    // byte by byte, so nothing is written past the matrix. (Byte by byte throughout, resnet-50's
    // input took 46 us.)
    alignas(16) uint8_t block[16 * 16] = {};
    int64_t c = 0;
    for (; c + 32 <= cols; c += 16) {
      for (int64_t i = 0; i < rows; ++i) std::memcpy(block + i * 16, src + i * lds + c, 16);
      transpose16x16(block, 16, dst + c * ldd, ldd, mask);
    }
    for (; c < cols; ++c)
      for (int64_t i = 0; i < rows; ++i) dst[c * ldd + i] = src[i * lds + c] ^ xor_mask;
    return;
  }
  const int64_t r16 = rows / 16 * 16, c16 = cols / 16 * 16;
  for (int64_t r = 0; r < r16; r += 16) {
    for (int64_t c = 0; c < c16; c += 16) transpose16x16(src + r * lds + c, lds, dst + c * ldd + r, ldd, mask);
    for (int64_t c = c16; c < cols; ++c)
      for (int64_t i = r; i < r + 16; ++i) dst[c * ldd + i] = src[i * lds + c] ^ xor_mask;
  }
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t i = r16; i < rows; ++i) dst[c * ldd + i] = src[i * lds + c] ^ xor_mask;
}

}  // namespace octet::kernels
