#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "octet/octet.h"

namespace octet {
namespace {
// From this size a tensor gets pages of its own. Not higher: a compile frees each weight once
// it is packed, and weights of 64 KiB - 1 MiB freed into the heap left holes the differently
// sized packed copies did not fit (densenet-121 FP32 peaked 8 MB higher with 1 MiB).
constexpr size_t kMappedTensorBytes = size_t(64) << 10;
}  // namespace

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::s32: case DType::u32: return 4;
    case DType::u8: case DType::s8: case DType::boolean: return 1;
    case DType::u16: case DType::s16: case DType::f16: case DType::bf16: return 2;
    case DType::s64: case DType::u64: case DType::f64: return 8;
    case DType::undefined: case DType::string: return 0;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::undefined: return "undefined";
    case DType::f32: return "f32";
    case DType::u8: return "u8";
    case DType::s8: return "s8";
    case DType::u16: return "u16";
    case DType::s16: return "s16";
    case DType::s32: return "s32";
    case DType::s64: return "s64";
    case DType::string: return "string";
    case DType::boolean: return "bool";
    case DType::f16: return "f16";
    case DType::f64: return "f64";
    case DType::u32: return "u32";
    case DType::u64: return "u64";
    case DType::bf16: return "bf16";
  }
  return "unknown";
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += s[i] < 0 ? std::string("?") : std::to_string(s[i]);
  }
  return out + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("negative dimension in shape " + shape_str(s));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw Error("shape " + shape_str(s) + " has more elements than int64 can count");
    n *= d;
  }
  return n;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  if (dtype_ == DType::string) {
    // std::string elements, constructed empty and destroyed with the storage: never raw bytes.
    if (static_cast<uint64_t>(numel_) > std::numeric_limits<size_t>::max() / sizeof(std::string) / 2)
      throw Error("string tensor of shape " + shape_str(shape_) + " is too large");
    std::string* p = nullptr;
    try {
      p = new std::string[static_cast<size_t>(std::max<int64_t>(numel_, 1))];
    } catch (const std::bad_alloc&) {
      throw Error("out of memory allocating a string tensor " + shape_str(shape_));
    }
    storage_ = std::shared_ptr<void>(p, [](void* q) { delete[] static_cast<std::string*>(q); });
    data_ = p;
    return;
  }
  size_t esize = dtype_size(dtype_);
  if (esize == 0) throw Error(std::string("cannot allocate a tensor of dtype ") + dtype_name(dtype_));
  if (static_cast<uint64_t>(numel_) > std::numeric_limits<uint64_t>::max() / 64 / esize)
    throw Error("tensor of shape " + shape_str(shape_) + " is too large");
  size_t bytes = static_cast<size_t>(numel_) * esize;
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;  // a valid pointer even for empty tensors
  if (rounded >= kMappedTensorBytes) {
    // Large tensors get their own pages, returned to the system when freed. From the heap,
    // glibc keeps freed blocks for reuse (its mmap threshold rises to the largest block freed),
    // so a compile that frees each weight once it is packed would not lower the process's RSS.
    void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);  // zeroed
    if (p == MAP_FAILED)
      throw Error("out of memory allocating " + std::to_string(bytes) + " bytes for tensor " + shape_str(shape_));
    storage_ = std::shared_ptr<void>(p, [rounded](void* q) { munmap(q, rounded); });
    data_ = p;
    return;
  }
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes for tensor " + shape_str(shape_));
  std::memset(p, 0, rounded);
  storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  data_ = p;
}

Tensor Tensor::from_strings(Shape shape, std::vector<std::string> values) {
  Tensor t(DType::string, std::move(shape));
  if (static_cast<uint64_t>(t.numel()) != values.size())
    throw Error("from_strings: " + std::to_string(values.size()) + " strings for shape " + shape_str(t.shape()) +
                " of " + std::to_string(t.numel()) + " elements");
  std::string* out = t.data_as<std::string>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = std::move(values[i]);
  return t;
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.data_ = data;
  return t;
}

Tensor Tensor::share(DType dtype, Shape shape, void* data, std::shared_ptr<const void> owner) {
  Tensor t = wrap(dtype, std::move(shape), data);
  t.storage_ = std::shared_ptr<void>(std::move(owner), data);  // aliasing: keeps owner alive
  return t;
}

Tensor Tensor::clone() const {
  if (empty()) return Tensor();
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::string) {
    std::copy(data_as<std::string>(), data_as<std::string>() + numel_, t.data_as<std::string>());
    return t;
  }
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  int64_t n = shape_numel(shape);
  if (n != numel_)
    throw Error("cannot reshape " + shape_str(shape_) + " to " + shape_str(shape) +
                ": element counts differ");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace octet
