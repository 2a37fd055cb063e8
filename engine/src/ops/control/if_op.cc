// If: runs one of two subgraphs on a run-time condition. Both are compiled; their outputs must
// agree in dtype, and in shape (a sequence: in its element shapes) unless the condition is known
// at compile time (octet plans one memory layout per model, so an output's shape cannot depend
// on run-time data).
#include <memory>
#include <vector>

#include "ops/control/control_ops.h"
#include "ops/control/subgraph.h"
#include "ops/sequence/sequence_value.h"

namespace octet::detail {
namespace {

// The branch a compile-time condition picks: 1 then, 0 else, -1 unknown until run time.
int constant_branch(const NodeContext& c) {
  c.check(c.has_input(0), "needs the cond input");
  c.check(c.input_dtype(0) == DType::boolean && shape_numel(c.input_shape(0)) == 1,
          "cond must be one bool, is " + std::string(dtype_name(c.input_dtype(0))) + shape_str(c.input_shape(0)));
  const Tensor* cond = c.input_const(0);
  if (!cond) return -1;
  return *static_cast<const uint8_t*>(cond->data()) != 0 ? 1 : 0;
}

void check_branches(const NodeContext& c, const CompiledSubgraph& then_g, const CompiledSubgraph& else_g, int pick) {
  const SubgraphSignature& t = then_g.signature();
  const SubgraphSignature& e = else_g.signature();
  c.check(t.output_names.size() == c.num_outputs() && e.output_names.size() == c.num_outputs(),
          "then_branch has " + std::to_string(t.output_names.size()) + " outputs and else_branch " +
              std::to_string(e.output_names.size()) + "; the node has " + std::to_string(c.num_outputs()));
  for (size_t i = 0; i < c.num_outputs(); ++i) {
    const SubgraphValue& tv = t.outputs[i];
    const SubgraphValue& ev = e.outputs[i];
    c.check(tv.dtype == ev.dtype,
            "output " + std::to_string(i) + " is " + dtype_name(tv.dtype) + " in then_branch but " +
                dtype_name(ev.dtype) + " in else_branch");
    // A constant cond runs one branch only: the other's tensor shapes or sequence elements do not matter.
    c.check(pick >= 0 || tv == ev, "output " + std::to_string(i) + " is " + tv.str() + " in then_branch but " +
                                       ev.str() +
                                       " in else_branch, and cond is only known at run time (octet needs "
                                       "static shapes)");
  }
}

void set_branch_output(NodeContext& c, size_t i, const SubgraphValue& v) {
  if (v.is_sequence)
    set_sequence_output(c, i, v.dtype, v.seq_shapes);
  else if (c.has_output(i))
    c.set_output(i, v.dtype, v.shape);
}

void infer_if(NodeContext& c) {
  const int pick = constant_branch(c);
  CompiledSubgraph then_g(c, "then_branch", 1, {}, false);
  CompiledSubgraph else_g(c, "else_branch", 1, {}, false);
  check_branches(c, then_g, else_g, pick);
  const SubgraphSignature& s = (pick == 0 ? else_g : then_g).signature();
  for (size_t i = 0; i < c.num_outputs(); ++i) set_branch_output(c, i, s.outputs[i]);
}

class IfKernel : public OpKernel {
 public:
  explicit IfKernel(const NodeContext& c) {
    const int pick = constant_branch(c);
    then_ = std::make_unique<CompiledSubgraph>(c, "then_branch", 1, std::vector<FormalBinding>{}, pick != 0);
    else_ = std::make_unique<CompiledSubgraph>(c, "else_branch", 1, std::vector<FormalBinding>{}, pick != 1);
    check_branches(c, *then_, *else_, pick);
  }
  void run(KernelContext& ctx) const override {
    const bool cond = bool_scalar(ctx.input(0), "cond");
    CompiledSubgraph::Runner branch(cond ? *then_ : *else_, ctx);
    std::vector<Tensor> out = branch.run({});
    for (size_t i = 0; i < out.size() && i < ctx.outputs.size(); ++i)
      if (ctx.has_output(i)) copy_result(out[i], ctx.output(i), "output " + std::to_string(i));
  }
  std::string name() const override { return "subgraph"; }

 private:
  std::unique_ptr<CompiledSubgraph> then_, else_;
};

std::unique_ptr<OpKernel> create_if(const NodeContext& c) { return std::make_unique<IfKernel>(c); }

}  // namespace

void register_if_op(OpRegistry& r) { r.add({"", "If", infer_if, create_if}); }

}  // namespace octet::detail
