// Two stripes' halves per iteration in two registers: memory speed.
#include <immintrin.h>

#include "octet/kernels/stripe_hash.h"

namespace octet::kernels {

void stripe_hash_avx2(uint64_t* acc, const unsigned char* p, size_t stripes) {
  __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc));
  __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + 4));
  const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kStripeHashKey));
  const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kStripeHashKey + 4));
  for (size_t s = 0; s < stripes; ++s, p += 64) {
    const __m256i d0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i d1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const __m256i x0 = _mm256_xor_si256(d0, k0), x1 = _mm256_xor_si256(d1, k1);
    // vpmuludq multiplies the low 32 bits of each lane: lo32(k) * hi32(k).
    const __m256i m0 = _mm256_mul_epu32(x0, _mm256_srli_epi64(x0, 32));
    const __m256i m1 = _mm256_mul_epu32(x1, _mm256_srli_epi64(x1, 32));
    // Swapping the 64-bit halves of each 128-bit lane gives lane j the word j ^ 1.
    a0 = _mm256_add_epi64(a0, _mm256_add_epi64(m0, _mm256_shuffle_epi32(d0, _MM_SHUFFLE(1, 0, 3, 2))));
    a1 = _mm256_add_epi64(a1, _mm256_add_epi64(m1, _mm256_shuffle_epi32(d1, _MM_SHUFFLE(1, 0, 3, 2))));
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc), a0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + 4), a1);
}

}  // namespace octet::kernels
