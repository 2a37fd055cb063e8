// 32 bytes per vpmaxub.
#include <immintrin.h>

#include <algorithm>

#include "octet/kernels/max_u8.h"

namespace octet::kernels {

void max_u8_avx2(uint8_t* acc, const uint8_t* x, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i), _mm256_max_epu8(a, b));
  }
  for (; i < n; ++i) acc[i] = std::max(acc[i], x[i]);
}

}  // namespace octet::kernels
