// Optional, OptionalHasElement and OptionalGetElement (opset 15 and 18). Octet resolves
// optionals at compile time: an optional that holds an element is that element (a tensor or a
// static sequence), so the ops are copies or a constant flag; an empty one (Optional without
// input, an optional graph input compiled empty) is a constant of no elements marked is_none,
// which OptionalHasElement reads as false and OptionalGetElement refuses.
#include <cstring>
#include <memory>

#include "ops/op_util.h"
#include "ops/sequence/sequence_value.h"

namespace octet::detail {
namespace {

// Output 0 = input 0, byte for byte (a sequence is its elements back to back).
class PassThroughKernel : public OpKernel {
 public:
  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.data() != x.data() && x.nbytes() > 0) std::memcpy(y.data(), x.data(), x.nbytes());
  }
};

class NothingKernel : public OpKernel {
 public:
  void run(KernelContext&) const override {}
};

// Output 0 takes input 0's type: a tensor, a sequence of the same elements, or none.
void pass_through(NodeContext& c) {
  const Value& x = c.input(0);
  c.check(dtype_size(x.dtype) > 0, std::string("unsupported dtype ") + dtype_name(x.dtype) + " for input 0");
  if (x.is_none)
    set_none_output(c, 0, x.dtype, x.is_sequence);
  else if (x.is_sequence)
    set_sequence_output(c, 0, x.dtype, x.seq_shapes);
  else
    c.set_output(0, x.dtype, x.shape);
}

void infer_optional(NodeContext& c) {
  c.check(c.num_inputs() <= 1, "takes at most one input");
  if (c.has_input(0)) {
    pass_through(c);
    return;
  }
  const Attribute* type = c.node().attr("type");
  c.check(type && type->kind == Attribute::Kind::type, "an empty Optional (no input) needs the 'type' attribute");
  set_none_output(c, 0, type->type_dtype, type->type_sequence);
}

void infer_optional_get_element(NodeContext& c) {
  c.check(c.num_inputs() == 1, "takes exactly one input");
  c.check(c.has_input(0) && !c.input(0).is_none, "the optional is empty: it has no element to get");
  pass_through(c);
}

void infer_optional_has_element(NodeContext& c) {
  c.check(c.num_inputs() <= 1, "takes at most one input");
  c.check(c.has_input(0) || c.opset() >= 18, "needs an input before opset 18");
  Tensor has(DType::boolean, {});
  *has.data_as<bool>() = c.has_input(0) && !c.input(0).is_none;
  c.set_output_const(0, has);
}

std::unique_ptr<OpKernel> create_pass_through(const NodeContext&) { return std::make_unique<PassThroughKernel>(); }
std::unique_ptr<OpKernel> create_nothing(const NodeContext&) { return std::make_unique<NothingKernel>(); }

}  // namespace

void register_optional_ops(OpRegistry& r) {
  r.add({"", "Optional", infer_optional, create_pass_through});
  r.add({"", "OptionalGetElement", infer_optional_get_element, create_pass_through});
  r.add({"", "OptionalHasElement", infer_optional_has_element, create_nothing});
}

}  // namespace octet::detail
