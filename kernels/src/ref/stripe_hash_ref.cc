#include <cstring>

#include "octet/kernels/stripe_hash.h"

namespace octet::kernels {

const uint64_t kStripeHashKey[8] = {0xbe4ba423396cfeb8ULL, 0x1cad21f72c81017cULL, 0xdb979083e96dd4deULL,
                                    0x1f67b3b7a4a44072ULL, 0x78e5c0cc4ee679cbULL, 0x2172ffcc7dd05a82ULL,
                                    0x8e2443f7744608b8ULL, 0x4c263a81e69035e0ULL};

void stripe_hash_ref(uint64_t* acc, const unsigned char* p, size_t stripes) {
  for (size_t s = 0; s < stripes; ++s, p += 64) {
    for (int j = 0; j < 8; ++j) {
      uint64_t x;
      std::memcpy(&x, p + 8 * j, 8);
      const uint64_t k = x ^ kStripeHashKey[j];
      acc[j ^ 1] += x;
      acc[j] += (k & 0xffffffffULL) * (k >> 32);
    }
  }
}

}  // namespace octet::kernels
