#include "bench_int8/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "octet/octet.h"

namespace octet::bench {
namespace {

// The whole file fits in memory; a larger header is refused before reading.
constexpr int64_t kMaxBytes = int64_t(1) << 31;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// gzread reads plain files unchanged too, so one path serves .gz and uncompressed IDX.
void read_exact(gzFile f, void* dst, size_t n, const std::string& path, const char* what) {
  auto* out = static_cast<unsigned char*>(dst);
  while (n > 0) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    int got = gzread(f, out, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(f, &code);
      throw Error(path + ": corrupt gzip stream while reading the " + what + " (" + message + ")");
    }
    if (got == 0) throw Error(path + ": truncated IDX file (the " + what + " ends early)");
    out += got;
    n -= static_cast<size_t>(got);
  }
}

uint32_t big_endian_u32(const unsigned char* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

}  // namespace

int64_t IdxArray::item_size() const {
  int64_t size = 1;
  for (size_t i = 1; i < dims.size(); ++i) size *= dims[i];
  return size;
}

IdxArray read_idx(const std::string& path, int expected_rank) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw Error(path + ": cannot open");
  unsigned char header[4];
  read_exact(file.get(), header, 4, path, "header");
  const uint32_t magic = big_endian_u32(header);
  const uint32_t expected_magic = 0x00000800u | static_cast<uint32_t>(expected_rank);
  if (magic != expected_magic) {
    char text[96];
    std::snprintf(text, sizeof text, ": IDX magic 0x%08x, expected 0x%08x (unsigned bytes, %d dims)",
                  magic, expected_magic, expected_rank);
    throw Error(path + text);
  }
  IdxArray array;
  int64_t total = 1;
  for (int d = 0; d < expected_rank; ++d) {
    unsigned char size[4];
    read_exact(file.get(), size, 4, path, "header");
    const int64_t dim = big_endian_u32(size);
    total *= dim;
    if (total > kMaxBytes) throw Error(path + ": IDX dimensions describe more than 2 GiB");
    array.dims.push_back(dim);
  }
  // The header is untrusted (and a gzip stream's length is unknown until it is read): read
  // the data in bounded chunks so memory grows with the bytes actually present, and a 20-byte
  // file that declares 2 GiB fails as truncated instead of allocating 2 GiB first.
  constexpr int64_t kChunk = int64_t(1) << 20;
  while (static_cast<int64_t>(array.data.size()) < total) {
    const size_t done = array.data.size();
    const size_t n = static_cast<size_t>(std::min<int64_t>(kChunk, total - static_cast<int64_t>(done)));
    array.data.resize(done + n);
    read_exact(file.get(), array.data.data() + done, n, path, "data");
  }
  unsigned char extra;
  int trailing = gzread(file.get(), &extra, 1);
  if (trailing != 0) throw Error(path + ": trailing bytes after the IDX data");
  return array;
}

void write_idx(const std::string& path, const IdxArray& array) {
  const bool compressed = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  GzFile file(gzopen(path.c_str(), compressed ? "wb9" : "wbT"));
  if (!file) throw Error(path + ": cannot create");
  std::vector<unsigned char> bytes;
  auto put = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<unsigned char>(v >> s));
  };
  put(0x00000800u | static_cast<uint32_t>(array.dims.size()));
  for (int64_t d : array.dims) put(static_cast<uint32_t>(d));
  bytes.insert(bytes.end(), array.data.begin(), array.data.end());
  if (gzwrite(file.get(), bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()))
    throw Error(path + ": write failed");
}

}  // namespace octet::bench
