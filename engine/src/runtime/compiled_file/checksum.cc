#include "runtime/compiled_file/checksum.h"

#include "octet/kernels/registry.h"

#include <algorithm>
#include <cstring>
#include <thread>

namespace octet::detail {
namespace {

constexpr uint64_t P1 = 11400714785074694791ULL, P2 = 14029467366897019727ULL, P3 = 1609587929392839161ULL,
                   P4 = 9650029242287828579ULL, P5 = 2870177450012600261ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t read64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t read32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t round(uint64_t acc, uint64_t in) { return rotl(acc + in * P2, 31) * P1; }
inline uint64_t merge(uint64_t h, uint64_t acc) { return (h ^ round(0, acc)) * P1 + P4; }

// The best accumulation loop this CPU has (every level gives the same digest).
void stripes(uint64_t* acc, const unsigned char* p, size_t n) {
  static const kernels::StripeHashFn run =
      kernels::kernel_registry(kernels::IsaChoice{kernels::cpu_max_isa(), false}).stripe_hash.run;
  run(acc, p, n);
}

}  // namespace

StripeHash::StripeHash() {
  for (int j = 0; j < 8; ++j) acc_[j] = kernels::kStripeHashKey[j] ^ P5;
}

void StripeHash::update(const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  total_ += n;
  if (tail_n_) {
    const size_t take = std::min(n, size_t(64) - tail_n_);
    std::memcpy(tail_ + tail_n_, p, take);
    tail_n_ += take;
    p += take;
    n -= take;
    if (tail_n_ < 64) return;
    stripes(acc_, tail_, 1);
    tail_n_ = 0;
  }
  stripes(acc_, p, n / 64);
  std::memcpy(tail_, p + n / 64 * 64, n % 64);
  tail_n_ = n % 64;
}

uint64_t StripeHash::digest() const {
  Checksum64 h;
  h.update(acc_, sizeof(acc_));
  h.update(tail_, tail_n_);
  h.update(&total_, sizeof(total_));
  return h.digest();
}


Checksum64::Checksum64(uint64_t seed) : acc_{seed + P1 + P2, seed + P2, seed, seed - P1}, seed_(seed) {}

void Checksum64::update(const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  total_ += n;
  if (tail_n_) {  // complete the pending stripe first
    const size_t take = n < 32 - tail_n_ ? n : 32 - tail_n_;
    std::memcpy(tail_ + tail_n_, p, take);
    tail_n_ += take;
    p += take;
    n -= take;
    if (tail_n_ < 32) return;
    for (int i = 0; i < 4; ++i) acc_[i] = round(acc_[i], read64(tail_ + 8 * i));
    tail_n_ = 0;
  }
  uint64_t a0 = acc_[0], a1 = acc_[1], a2 = acc_[2], a3 = acc_[3];
  for (; n >= 32; p += 32, n -= 32) {
    a0 = round(a0, read64(p));
    a1 = round(a1, read64(p + 8));
    a2 = round(a2, read64(p + 16));
    a3 = round(a3, read64(p + 24));
  }
  acc_[0] = a0, acc_[1] = a1, acc_[2] = a2, acc_[3] = a3;
  std::memcpy(tail_, p, n);
  tail_n_ = n;
}

uint64_t Checksum64::digest() const {
  uint64_t h;
  if (total_ >= 32) {
    h = rotl(acc_[0], 1) + rotl(acc_[1], 7) + rotl(acc_[2], 12) + rotl(acc_[3], 18);
    for (int i = 0; i < 4; ++i) h = merge(h, acc_[i]);
  } else {
    h = seed_ + P5;
  }
  h += total_;
  const unsigned char* p = tail_;
  size_t n = tail_n_;
  for (; n >= 8; p += 8, n -= 8) h = rotl(h ^ round(0, read64(p)), 27) * P1 + P4;
  if (n >= 4) {
    h = rotl(h ^ (uint64_t(read32(p)) * P1), 23) * P2 + P3;
    p += 4;
    n -= 4;
  }
  for (; n > 0; ++p, --n) h = rotl(h ^ (*p * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

void BlockChecksum::update(const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  total_ += n;
  while (n > 0) {
    const size_t take = std::min(n, kChecksumBlock - in_block_);
    block_.update(p, take);
    in_block_ += take;
    p += take;
    n -= take;
    if (in_block_ == kChecksumBlock) {
      digests_.push_back(block_.digest());
      block_ = StripeHash();
      in_block_ = 0;
    }
  }
}

uint64_t BlockChecksum::digest() const {
  Checksum64 top;
  for (uint64_t d : digests_) top.update(&d, sizeof(d));
  if (in_block_ > 0) {
    const uint64_t last = block_.digest();
    top.update(&last, sizeof(last));
  }
  top.update(&total_, sizeof(total_));
  return top.digest();
}

uint64_t block_checksum(const unsigned char* data, size_t n, size_t skip_begin, size_t skip_end, int threads) {
  const size_t blocks = (n + kChecksumBlock - 1) / kChecksumBlock;
  std::vector<uint64_t> digests(blocks);
  auto hash_block = [&](size_t b) {
    const size_t begin = b * kChecksumBlock, end = std::min(n, begin + kChecksumBlock);
    StripeHash h;
    size_t pos = begin;
    if (skip_begin < skip_end && skip_begin >= begin && skip_end <= end) {
      static const unsigned char zeros[64] = {};
      h.update(data + begin, skip_begin - begin);
      for (size_t z = skip_begin; z < skip_end; z += sizeof(zeros)) h.update(zeros, std::min(sizeof(zeros), skip_end - z));
      pos = skip_end;
    }
    h.update(data + pos, end - pos);
    digests[b] = h.digest();
  };
  const size_t workers = std::min<size_t>(blocks, threads > 1 ? static_cast<size_t>(threads) : 1);
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w)
    pool.emplace_back([&, w] {
      for (size_t b = w; b < blocks; b += workers) hash_block(b);
    });
  for (size_t b = 0; b < blocks; b += workers) hash_block(b);
  for (std::thread& t : pool) t.join();
  Checksum64 top;
  for (uint64_t d : digests) top.update(&d, sizeof(d));
  const uint64_t total = n;
  top.update(&total, sizeof(total));
  return top.digest();
}

}  // namespace octet::detail
