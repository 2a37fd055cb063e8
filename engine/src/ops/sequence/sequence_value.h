// Sequence values (Value::is_sequence): element shapes known at compile time, the elements back
// to back in one buffer at run time. Helpers shared by the Sequence ops.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op_registry.h"

namespace octet::detail {

// Input i as a sequence; fails through c when it is a tensor.
const Value& sequence_input(const NodeContext& c, size_t i);

// Marks output i a sequence of these elements (its shape: their total element count).
void set_sequence_output(NodeContext& c, size_t i, DType dtype, const std::vector<Shape>& elements);

// Marks output i an empty optional (Value::is_none) that would hold a tensor or a sequence of
// dtype: a constant of zero elements.
void set_none_output(NodeContext& c, size_t i, DType dtype, bool sequence);

// Byte offset of each element in the buffer, and the total after the last.
std::vector<size_t> element_offsets(const std::vector<Shape>& elements, DType dtype);

// A position input (int32 / int64 scalar) known at compile time, normalised to [0, size]
// (insert: size allowed) or [0, size); absent: def.
int64_t constant_position(const NodeContext& c, size_t i, int64_t size, bool insert, int64_t def);

}  // namespace octet::detail
