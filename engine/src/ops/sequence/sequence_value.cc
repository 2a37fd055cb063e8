#include "ops/sequence/sequence_value.h"

#include "ops/op_util.h"

namespace octet::detail {

const Value& sequence_input(const NodeContext& c, size_t i) {
  const Value& v = c.input(i);
  c.check(v.is_sequence, "input " + std::to_string(i) + " ('" + v.name + "') must be a sequence");
  return v;
}

void set_sequence_output(NodeContext& c, size_t i, DType dtype, const std::vector<Shape>& elements) {
  if (!c.has_output(i)) return;
  int64_t total = 0;
  for (const Shape& s : elements) {
    const int64_t n = shape_numel(s);
    c.check(total <= INT64_MAX - n, "the sequence's elements overflow int64");
    total += n;
  }
  c.set_output(i, dtype, {total});
  // NodeContext knows tensors only: the sequence part of the output is written here. The
  // graph is the one being inferred (NodeContext holds it non-const).
  Value& v = const_cast<Value&>(c.output(i));
  v.is_sequence = true;
  v.seq_shapes = elements;
}

void set_none_output(NodeContext& c, size_t i, DType dtype, bool sequence) {
  if (!c.has_output(i)) return;
  c.set_output_const(i, Tensor(dtype, {0}));
  Value& v = const_cast<Value&>(c.output(i));  // as in set_sequence_output
  v.is_none = true;
  v.is_optional = true;
  v.is_sequence = sequence;
  v.seq_shapes.clear();
}

std::vector<size_t> element_offsets(const std::vector<Shape>& elements, DType dtype) {
  std::vector<size_t> off(elements.size() + 1, 0);
  for (size_t e = 0; e < elements.size(); ++e)
    off[e + 1] = off[e] + static_cast<size_t>(shape_numel(elements[e])) * dtype_size(dtype);
  return off;
}

int64_t constant_position(const NodeContext& c, size_t i, int64_t size, bool insert, int64_t def) {
  if (!c.has_input(i)) return def;
  c.check((c.input_dtype(i) == DType::s64 || c.input_dtype(i) == DType::s32) && shape_numel(c.input_shape(i)) == 1,
          "position must be one int32 or int64");
  const Tensor* t = c.input_const(i);
  c.check(t != nullptr, "position must be known at compile time (octet needs static sequence shapes)");
  int64_t p = tensor_to_int64s(*t)[0];
  const int64_t hi = insert ? size : size - 1;
  c.check(p >= -size && p <= hi, "position " + std::to_string(p) + " is outside [" + std::to_string(-size) + ", " +
                                     std::to_string(hi) + "] for a sequence of " + std::to_string(size));
  return p < 0 ? p + size : p;
}

}  // namespace octet::detail
