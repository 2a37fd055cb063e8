// The compiled-model file's checksum: the XXH64 algorithm (public domain, by Yann Collet),
// written here from its specification. It runs at memory speed (~10 GB/s), so a load can
// verify every byte of a few hundred MB file well within the time packing would take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace octet::detail {

class Checksum64 {
 public:
  explicit Checksum64(uint64_t seed = 0);
  void update(const void* data, size_t n);
  uint64_t digest() const;

 private:
  uint64_t acc_[4];
  uint64_t seed_;
  uint64_t total_ = 0;
  unsigned char tail_[32];
  size_t tail_n_ = 0;
};

// The file checksum. Each kChecksumBlock bytes are hashed by StripeHash (XXH3's accumulation
// step: eight 64-bit lanes, each adding its neighbour's input word and the product of the two
// halves of its own word xor a key: kernels/stripe_hash.h, at memory speed with AVX2 and the
// same on every level), finished by XXH64 over the lanes, the tail and the length;
// then XXH64 over the blocks' digests and the length. Blocks are verified on several threads.
constexpr size_t kChecksumBlock = size_t(4) << 20;

class StripeHash {
 public:
  StripeHash();
  void update(const void* data, size_t n);
  uint64_t digest() const;

 private:
  uint64_t acc_[8];
  unsigned char tail_[64];
  size_t tail_n_ = 0;
  uint64_t total_ = 0;
};

class BlockChecksum {
 public:
  void update(const void* data, size_t n);  // streaming, any chunking
  uint64_t digest() const;

 private:
  StripeHash block_;
  size_t in_block_ = 0;
  uint64_t total_ = 0;
  std::vector<uint64_t> digests_;
};

// The same digest over data[0, n) in one call, on up to `threads` threads. bytes
// [skip_begin, skip_end) are read as zeros (the checksum field itself).
uint64_t block_checksum(const unsigned char* data, size_t n, size_t skip_begin, size_t skip_end, int threads);

}  // namespace octet::detail
