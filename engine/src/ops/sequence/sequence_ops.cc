// The Sequence ops over static sequences (sequence_value.h): SequenceEmpty, SequenceConstruct,
// SequenceInsert, SequenceErase, SequenceAt, SequenceLength, ConcatFromSequence and
// SplitToSequence. Positions and split sizes must be known at compile time (they decide the
// element shapes), except SequenceAt's position when every element has the same shape.
#include <cstring>
#include <memory>
#include <vector>

#include "ops/op_util.h"
#include "ops/sequence/sequence_value.h"

namespace octet::detail {
namespace {

// Output 0 = byte ranges of the inputs, back to back: what Construct, Insert, Erase and a
// constant SequenceAt do.
struct ByteRange {
  size_t input = 0, offset = 0, bytes = 0;
};

class CopyRangesKernel : public OpKernel {
 public:
  explicit CopyRangesKernel(std::vector<ByteRange> ranges) : ranges_(std::move(ranges)) {}
  void run(KernelContext& ctx) const override {
    char* out = static_cast<char*>(ctx.output(0).data());
    size_t at = 0;
    for (const ByteRange& r : ranges_) {
      if (r.bytes) std::memcpy(out + at, static_cast<const char*>(ctx.input(r.input).data()) + r.offset, r.bytes);
      at += r.bytes;
    }
  }

 private:
  std::vector<ByteRange> ranges_;
};

class NothingKernel : public OpKernel {
 public:
  void run(KernelContext&) const override {}
};

size_t bytes_of(const Shape& s, DType t) { return static_cast<size_t>(shape_numel(s)) * dtype_size(t); }

// --- SequenceEmpty ---------------------------------------------------------------------------

DType empty_dtype(const NodeContext& c) {
  const int64_t code = c.node().attr_i("dtype", static_cast<int64_t>(DType::f32));
  const DType t = static_cast<DType>(code);
  c.check(code > 0 && code <= 16 && dtype_size(t) != 0, "dtype " + std::to_string(code) + " is not supported");
  return t;
}
void infer_sequence_empty(NodeContext& c) { set_sequence_output(c, 0, empty_dtype(c), {}); }
std::unique_ptr<OpKernel> create_nothing(const NodeContext&) { return std::make_unique<NothingKernel>(); }

// --- SequenceConstruct -----------------------------------------------------------------------

void infer_sequence_construct(NodeContext& c) {
  c.check(c.num_inputs() >= 1, "needs at least one tensor");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    c.check(c.has_input(i) && c.input_dtype(i) == c.input_dtype(0), "every input must be a tensor of one dtype");
    shapes.push_back(c.input_shape(i));
  }
  set_sequence_output(c, 0, c.input_dtype(0), shapes);
}
std::unique_ptr<OpKernel> create_sequence_construct(const NodeContext& c) {
  std::vector<ByteRange> r;
  for (size_t i = 0; i < c.num_inputs(); ++i) r.push_back({i, 0, bytes_of(c.input_shape(i), c.input_dtype(i))});
  return std::make_unique<CopyRangesKernel>(std::move(r));
}

// --- SequenceInsert / SequenceErase ----------------------------------------------------------

int64_t insert_position(const NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  const int64_t n = static_cast<int64_t>(s.seq_shapes.size());
  return constant_position(c, 2, n, true, n);
}
void infer_sequence_insert(NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  c.check(c.has_input(1), "needs the tensor to insert");
  c.check(c.input_dtype(1) == s.dtype, "the tensor's dtype differs from the sequence's");
  std::vector<Shape> shapes = s.seq_shapes;
  shapes.insert(shapes.begin() + insert_position(c), c.input_shape(1));
  set_sequence_output(c, 0, s.dtype, shapes);
}
std::unique_ptr<OpKernel> create_sequence_insert(const NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  const std::vector<size_t> off = element_offsets(s.seq_shapes, s.dtype);
  const size_t p = static_cast<size_t>(insert_position(c));
  return std::make_unique<CopyRangesKernel>(std::vector<ByteRange>{
      {0, 0, off[p]}, {1, 0, bytes_of(c.input_shape(1), s.dtype)}, {0, off[p], off.back() - off[p]}});
}

int64_t erase_position(const NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  const int64_t n = static_cast<int64_t>(s.seq_shapes.size());
  c.check(n > 0, "erases from an empty sequence");
  return constant_position(c, 1, n, false, n - 1);
}
void infer_sequence_erase(NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  std::vector<Shape> shapes = s.seq_shapes;
  shapes.erase(shapes.begin() + erase_position(c));
  set_sequence_output(c, 0, s.dtype, shapes);
}
std::unique_ptr<OpKernel> create_sequence_erase(const NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  const std::vector<size_t> off = element_offsets(s.seq_shapes, s.dtype);
  const size_t p = static_cast<size_t>(erase_position(c));
  return std::make_unique<CopyRangesKernel>(
      std::vector<ByteRange>{{0, 0, off[p]}, {0, off[p + 1], off.back() - off[p + 1]}});
}

// --- SequenceAt ------------------------------------------------------------------------------

bool same_shapes(const std::vector<Shape>& shapes) {
  for (const Shape& s : shapes)
    if (s != shapes[0]) return false;
  return true;
}
void infer_sequence_at(NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  const int64_t n = static_cast<int64_t>(s.seq_shapes.size());
  c.check(n > 0, "reads from an empty sequence");
  if (c.has_input(1) && !c.input_const(1)) {
    c.check(same_shapes(s.seq_shapes),
            "position is known only at run time and the elements' shapes differ (octet needs static shapes)");
    c.check((c.input_dtype(1) == DType::s64 || c.input_dtype(1) == DType::s32) && shape_numel(c.input_shape(1)) == 1,
            "position must be one int32 or int64");
    c.set_output(0, s.dtype, s.seq_shapes[0]);
    return;
  }
  c.set_output(0, s.dtype, s.seq_shapes[constant_position(c, 1, n, false, 0)]);
}

class SequenceAtKernel : public OpKernel {  // run-time position, elements of one shape
 public:
  SequenceAtKernel(int64_t count, size_t element_bytes) : count_(count), element_bytes_(element_bytes) {}
  void run(KernelContext& ctx) const override {
    int64_t p = tensor_to_int64s(ctx.input(1))[0];
    if (p < -count_ || p >= count_)
      throw Error("position " + std::to_string(p) + " is outside a sequence of " + std::to_string(count_));
    if (p < 0) p += count_;
    std::memcpy(ctx.output(0).data(), static_cast<const char*>(ctx.input(0).data()) + p * element_bytes_,
                element_bytes_);
  }

 private:
  int64_t count_;
  size_t element_bytes_;
};

std::unique_ptr<OpKernel> create_sequence_at(const NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  const int64_t n = static_cast<int64_t>(s.seq_shapes.size());
  if (c.has_input(1) && !c.input_const(1)) return std::make_unique<SequenceAtKernel>(n, bytes_of(s.seq_shapes[0], s.dtype));
  const std::vector<size_t> off = element_offsets(s.seq_shapes, s.dtype);
  const size_t p = static_cast<size_t>(constant_position(c, 1, n, false, 0));
  return std::make_unique<CopyRangesKernel>(std::vector<ByteRange>{{0, off[p], off[p + 1] - off[p]}});
}

// --- SequenceLength --------------------------------------------------------------------------

void infer_sequence_length(NodeContext& c) {
  Tensor n(DType::s64, {});
  *n.data_as<int64_t>() = static_cast<int64_t>(sequence_input(c, 0).seq_shapes.size());
  c.set_output_const(0, n);
}

// --- ConcatFromSequence ----------------------------------------------------------------------

// Each element as [outer, piece] rows (bytes); the output is the rows of every element side by
// side. new_axis stacks elements of one shape (a new axis of size 1 each).
struct ConcatPlan {
  Shape out;
  int64_t outer = 1;
  std::vector<size_t> piece;  // per element, bytes per outer row
};

ConcatPlan concat_plan(const NodeContext& c) {
  const Value& s = sequence_input(c, 0);
  c.check(!s.seq_shapes.empty(), "concatenates an empty sequence");
  const bool new_axis = c.node().attr_i("new_axis", 0) != 0;
  c.check(c.node().has_attr("axis"), "needs the axis attribute");
  const Shape& first = s.seq_shapes[0];
  const int64_t rank = static_cast<int64_t>(first.size());
  const int64_t axis = normalize_axis(c, c.node().attr_i("axis", 0), new_axis ? rank + 1 : rank);
  ConcatPlan p;
  int64_t total = 0;
  for (const Shape& e : s.seq_shapes) {
    c.check(static_cast<int64_t>(e.size()) == rank, "the elements differ in rank");
    for (int64_t d = 0; d < rank; ++d)
      c.check(new_axis ? e[d] == first[d] : (d == axis || e[d] == first[d]),
              "element shapes " + shape_str(first) + " and " + shape_str(e) + " do not concatenate");
    const int64_t along = new_axis ? 1 : e[axis];
    int64_t inner = 1;
    for (int64_t d = new_axis ? axis : axis + 1; d < rank; ++d) inner *= e[d];
    p.piece.push_back(static_cast<size_t>(along * inner) * dtype_size(s.dtype));
    total += along;
  }
  for (int64_t d = 0; d < axis; ++d) p.outer *= first[d];
  p.out = first;
  if (new_axis) p.out.insert(p.out.begin() + axis, total);
  else p.out[axis] = total;
  return p;
}

void infer_concat_from_sequence(NodeContext& c) {
  c.set_output(0, sequence_input(c, 0).dtype, concat_plan(c).out);
}

class ConcatFromSequenceKernel : public OpKernel {
 public:
  explicit ConcatFromSequenceKernel(ConcatPlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const char* in = static_cast<const char*>(ctx.input(0).data());
    char* out = static_cast<char*>(ctx.output(0).data());
    size_t row = 0;
    for (size_t b : p_.piece) row += b;
    size_t element_start = 0, column = 0;
    for (size_t b : p_.piece) {
      for (int64_t o = 0; o < p_.outer; ++o)
        std::memcpy(out + static_cast<size_t>(o) * row + column, in + element_start + static_cast<size_t>(o) * b, b);
      element_start += b * static_cast<size_t>(p_.outer);
      column += b;
    }
  }

 private:
  ConcatPlan p_;
};

std::unique_ptr<OpKernel> create_concat_from_sequence(const NodeContext& c) {
  return std::make_unique<ConcatFromSequenceKernel>(concat_plan(c));
}

// --- SplitToSequence -------------------------------------------------------------------------

struct SplitPlan {
  std::vector<Shape> elements;
  std::vector<int64_t> lengths;  // along the axis
  int64_t outer = 1;
  size_t inner_bytes = 0;  // bytes per unit along the axis
  int64_t axis_size = 0;
};

SplitPlan split_plan(const NodeContext& c) {
  const Shape& x = c.input_shape(0);
  c.check(!x.empty(), "splits a scalar");
  const int64_t axis = normalize_axis(c, c.node().attr_i("axis", 0), static_cast<int64_t>(x.size()));
  const int64_t size = x[axis];
  SplitPlan p;
  bool squeeze = false;
  if (!c.has_input(1)) {
    p.lengths.assign(static_cast<size_t>(size), 1);
    squeeze = c.node().attr_i("keepdims", 1) == 0;
  } else {
    const Tensor* t = c.input_const(1);
    c.check(t != nullptr, "split must be known at compile time (octet needs static sequence shapes)");
    const std::vector<int64_t> split = tensor_to_int64s(*t);
    if (t->rank() == 0) {
      c.check(split[0] > 0, "split must be positive");
      for (int64_t at = 0; at < size; at += split[0]) p.lengths.push_back(std::min(split[0], size - at));
    } else {
      int64_t sum = 0;
      for (int64_t v : split) {
        c.check(v >= 0, "split sizes must not be negative");
        sum += v;
        c.check(sum <= size, "split sizes add up past the axis");
        p.lengths.push_back(v);
      }
      c.check(sum == size, "split sizes add up to " + std::to_string(sum) + ", the axis has " + std::to_string(size));
    }
  }
  for (int64_t len : p.lengths) {
    Shape e = x;
    if (squeeze) e.erase(e.begin() + axis);
    else e[axis] = len;
    p.elements.push_back(e);
  }
  p.inner_bytes = dtype_size(c.input_dtype(0));
  for (size_t d = 0; d < x.size(); ++d) {
    if (static_cast<int64_t>(d) < axis) p.outer *= x[d];
    else if (static_cast<int64_t>(d) > axis) p.inner_bytes *= static_cast<size_t>(x[d]);
  }
  p.axis_size = size;
  return p;
}

void infer_split_to_sequence(NodeContext& c) { set_sequence_output(c, 0, c.input_dtype(0), split_plan(c).elements); }

class SplitToSequenceKernel : public OpKernel {
 public:
  explicit SplitToSequenceKernel(SplitPlan p) : p_(std::move(p)) {}
  void run(KernelContext& ctx) const override {
    const char* in = static_cast<const char*>(ctx.input(0).data());
    char* out = static_cast<char*>(ctx.output(0).data());
    const size_t row = static_cast<size_t>(p_.axis_size) * p_.inner_bytes;
    size_t start = 0;
    for (int64_t len : p_.lengths) {
      const size_t b = static_cast<size_t>(len) * p_.inner_bytes;
      for (int64_t o = 0; o < p_.outer; ++o) {
        std::memcpy(out, in + static_cast<size_t>(o) * row + start, b);
        out += b;
      }
      start += b;
    }
  }

 private:
  SplitPlan p_;
};

std::unique_ptr<OpKernel> create_split_to_sequence(const NodeContext& c) {
  return std::make_unique<SplitToSequenceKernel>(split_plan(c));
}

}  // namespace

void register_sequence_ops(OpRegistry& r) {
  r.add({"", "SequenceEmpty", infer_sequence_empty, create_nothing});
  r.add({"", "SequenceConstruct", infer_sequence_construct, create_sequence_construct});
  r.add({"", "SequenceInsert", infer_sequence_insert, create_sequence_insert});
  r.add({"", "SequenceErase", infer_sequence_erase, create_sequence_erase});
  r.add({"", "SequenceAt", infer_sequence_at, create_sequence_at});
  r.add({"", "SequenceLength", infer_sequence_length, create_nothing});
  r.add({"", "ConcatFromSequence", infer_concat_from_sequence, create_concat_from_sequence});
  r.add({"", "SplitToSequence", infer_split_to_sequence, create_split_to_sequence});
}

}  // namespace octet::detail
