// A node's subgraph (If branch, Loop / Scan body) compiled as a program of its own, for the
// shapes the node binds to its inputs, and run once per call with its own arena on the
// caller's thread pool. Outer-scope reads are the node's last inputs (Graph::outer_scope):
// constants there are bound as constants of the subgraph, the rest are passed at every run.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "runtime/program.h"
#include "runtime/session_state.h"

namespace octet::detail {

// What the node hands one of the subgraph's own (formal) inputs.
struct FormalBinding {
  DType dtype = DType::undefined;
  Shape shape;
  // Scalars the op makes (Loop's iteration number and condition) may be declared [1] by the
  // body: then they take the declared shape.
  bool scalar_or_declared = false;
  // Bound as a constant of the subgraph (Loop's iteration number in a body compiled per
  // iteration); the run then passes nothing for it.
  const Tensor* constant = nullptr;
  // A sequence (a Loop's carried sequence): its element shapes; shape is then [their total].
  bool is_sequence = false;
  std::vector<Shape> seq_shapes;
};

// One of the subgraph's outputs, or a formal input as bound: a tensor or a sequence.
struct SubgraphValue {
  DType dtype = DType::undefined;
  Shape shape;  // a sequence's: [its elements' total element count], its run-time buffer
  bool is_sequence = false;
  std::vector<Shape> seq_shapes;
  bool operator==(const SubgraphValue& o) const {
    return dtype == o.dtype && shape == o.shape && is_sequence == o.is_sequence && seq_shapes == o.seq_shapes;
  }
  bool operator!=(const SubgraphValue& o) const { return !(*this == o); }
  // "float32[2,3]" or "sequence of float32 [1], [2]" for error messages.
  std::string str() const;
};

struct SubgraphSignature {
  std::vector<std::string> output_names;
  std::vector<SubgraphValue> outputs;  // dtype, shape, and a sequence's element shapes
  std::vector<SubgraphValue> formals;  // the formal inputs as bound (after scalar_or_declared)
};

class CompiledSubgraph {
 public:
  // The subgraph attribute `attr` of the node, prepared (passes) for these bindings; with
  // build, also compiled into a program. Fails through c naming the node and the attribute.
  CompiledSubgraph(const NodeContext& c, const std::string& attr, size_t explicit_inputs,
                   const std::vector<FormalBinding>& formal, bool build);

  const SubgraphSignature& signature() const { return sig_; }
  size_t num_outputs() const { return sig_.output_names.size(); }

  // One call of the node: runs the program with the formal inputs (in order) and the node's
  // outer-scope inputs (ctx inputs from explicit_inputs on). Returns the outputs in order.
  class Runner {
   public:
    Runner(const CompiledSubgraph& s, const KernelContext& ctx);
    std::vector<Tensor> run(const std::vector<const Tensor*>& formal);

   private:
    const CompiledSubgraph& s_;
    const KernelContext& ctx_;
    SessionState session_;
  };

 private:
  std::string attr_;
  size_t explicit_inputs_ = 0;
  SubgraphSignature sig_;
  std::shared_ptr<const Program> program_;
  // Per run-time input of the program: the formal input index, or -1 - k for outer input k.
  std::vector<std::pair<std::string, int>> sources_;
};

// Set while a node compiles its subgraph more than once, apart per iteration (Loop) or per
// shape set (SequenceMap): a node nested in such a subgraph compiles one subgraph only
// (nested compiles apart would multiply, 64 per level, on a hostile file).
bool compiling_apart();
class CompilingApart {
 public:
  CompilingApart();
  ~CompilingApart();
  CompilingApart(const CompilingApart&) = delete;
  CompilingApart& operator=(const CompilingApart&) = delete;

 private:
  bool saved_;
};

// Copies whole slices along an axis: a tensor seen as [outer, length, inner] (inner in bytes).
struct AxisView {
  int64_t outer = 1, length = 1, inner_bytes = 0;
  AxisView(const Shape& shape, int64_t axis, size_t elem_size);
};
void copy_slice_out(const AxisView& v, const void* src, int64_t index, void* dst);  // src[:, index] -> dst
void copy_slice_in(const AxisView& v, const void* src, int64_t index, void* dst);   // src -> dst[:, index]

// The bytes of src into dst after checking they agree (a body result written to the node's output).
void copy_result(const Tensor& src, Tensor& dst, const std::string& what);

bool bool_scalar(const Tensor& t, const std::string& what);

}  // namespace octet::detail
