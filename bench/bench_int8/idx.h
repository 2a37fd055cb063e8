// IDX files (MNIST / Fashion-MNIST), plain or gzip-compressed: a big-endian 32-bit magic
// 0x000008NN (unsigned bytes, NN = number of dimensions), NN big-endian 32-bit sizes, then the
// data in row-major order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace octet::bench {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
  int64_t count() const { return dims.empty() ? 0 : dims[0]; }
  // Bytes per item along the first dimension (28*28 for an image file, 1 for labels).
  int64_t item_size() const;
};

// Reads an IDX file of unsigned bytes with `expected_rank` dimensions (3 for images, 1 for
// labels). Throws octet::Error naming the file on a bad magic, a truncated file, or trailing
// bytes.
IdxArray read_idx(const std::string& path, int expected_rank);

// Writes an IDX file (gzip-compressed when the name ends in .gz); for test fixtures.
void write_idx(const std::string& path, const IdxArray& array);

}  // namespace octet::bench
