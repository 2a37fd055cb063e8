// Helpers shared by the shape / data-movement op family (engine/src/ops/shape/).
// Most of these ops move bytes without looking at them, so they work on any dtype with a
// fixed element size (f16, bf16 and bool included) through one strided-copy routine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "ops/op_util.h"

namespace octet::detail {

// Registration of the files of the family; register_shape_ops (shape.cc) calls them all.
void register_data_movement_ops(OpRegistry& r);  // Transpose, Concat, Split, Slice, Expand, Tile, Pad, ...
void register_shape_index_ops(OpRegistry& r);   // Gather*, Scatter*, OneHot, Compress
void register_shape_make_ops(OpRegistry& r);    // Cast, CastLike, ConstantOfShape, Range, EyeLike
void register_unique_ops(OpRegistry& r);        // Unique (constant input)

// Fails through ctx unless input i has a dtype with a fixed element size (not string).
void check_fixed_size_dtype(const NodeContext& ctx, size_t i);
// Fails unless input i is s32 or s64 (index-like inputs).
void check_index_dtype(const NodeContext& ctx, size_t i);

// The compile-time value of input i; fails with "<what> must be a constant ..." when it is
// not known at compile time.
const Tensor& require_const_input(const NodeContext& ctx, size_t i, const std::string& what);
// The compile-time value of input i as int64s (s32/s64 and other integer dtypes).
std::vector<int64_t> const_input_ints(const NodeContext& ctx, size_t i, const std::string& what);

// Copies a strided view into another:
//   dst[sum_d i_d * dst_strides[d]] = src[sum_d i_d * src_strides[d]]  for i in shape.
// Strides are in elements and may be zero or negative (src only); src/dst point at the element
// of index (0, ..., 0). Dimensions are coalesced first, so dense copies become one memcpy.
// Runs on pool (when non-null) for large copies; the result does not depend on the split.
void copy_strided(size_t elem_size, const Shape& shape, const void* src,
                  const std::vector<int64_t>& src_strides, void* dst,
                  const std::vector<int64_t>& dst_strides, kernels::ThreadPool* pool);

// Copies a whole tensor's bytes (same element count and dtype).
void copy_tensor_data(const Tensor& src, Tensor& dst);

// Cast's conversion of n elements of dtype `from` at src into dtype `to` at dst (numeric and
// bool dtypes, f16/bf16 included; the rules are in shape_make.cc). Throws Error for others.
void cast_elements(DType from, const void* src, DType to, void* dst, int64_t n);

// Fills n elements of elem_size bytes at dst with the element at value.
void fill_elements(void* dst, int64_t n, const void* value, size_t elem_size);

// A kernel that copies input 0 to output 0 (Reshape, Flatten, Squeeze, Unsqueeze...).
class CopyKernel : public OpKernel {
 public:
  void run(KernelContext& ctx) const override { copy_tensor_data(ctx.input(0), ctx.output(0)); }
  std::string name() const override { return "copy"; }
};

// A kernel that writes a value known at compile time (Shape, Size).
class ConstOutputKernel : public OpKernel {
 public:
  explicit ConstOutputKernel(Tensor value) : value_(std::move(value)) {}
  void run(KernelContext& ctx) const override { copy_tensor_data(value_, ctx.output(0)); }
  std::string name() const override { return "const"; }

 private:
  Tensor value_;
};

// Reads an index value of an s32/s64 tensor.
inline int64_t index_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::s32 ? static_cast<int64_t>(t.data_as<int32_t>()[i]) : t.data_as<int64_t>()[i];
}

// Product of dims [begin, end) of a shape.
inline int64_t dims_product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

}  // namespace octet::detail
