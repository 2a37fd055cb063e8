// The accumulation step of the compiled-model file's checksum (XXH3's, over 64-byte stripes):
// for each stripe of eight 64-bit words x[j],
//   acc[j ^ 1] += x[j];  acc[j] += lo32(x[j] ^ key[j]) * hi32(x[j] ^ key[j])   (mod 2^64)
// Every level computes the same acc bit for bit; the engine finishes the digest.
#pragma once

#include <cstddef>
#include <cstdint>

namespace octet::kernels {

extern const uint64_t kStripeHashKey[8];

using StripeHashFn = void (*)(uint64_t* acc /* [8] */, const unsigned char* p, size_t stripes);
void stripe_hash_ref(uint64_t* acc, const unsigned char* p, size_t stripes);
void stripe_hash_avx2(uint64_t* acc, const unsigned char* p, size_t stripes);

}  // namespace octet::kernels
