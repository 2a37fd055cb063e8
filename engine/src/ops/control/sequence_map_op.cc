// SequenceMap (opset 17): runs its body once per position of the input sequence (input 0).
// Further inputs are sequences of the same length (their element at that position is fed) or
// tensors (fed unchanged every time); each body output is collected into an output sequence.
// Elements may differ in shape by position, so the body is compiled once per distinct set of
// bound shapes (at most kMaxBodiesCompiled), and the output sequences' element shapes are the
// body outputs' shapes at each position.
#include <map>
#include <memory>
#include <vector>

#include "ops/control/control_ops.h"
#include "ops/control/subgraph.h"
#include "ops/sequence/sequence_value.h"

namespace octet::detail {
namespace {

constexpr size_t kMaxBodiesCompiled = 64;

// The node's explicit inputs checked, and per position the shapes bound to the body's inputs.
struct MapPlan {
  size_t n_explicit = 0;
  size_t length = 0;  // of the input sequences
  std::vector<bool> is_sequence;  // per explicit input
  std::vector<size_t> body_of;  // per position: index into the distinct shape sets
  std::vector<std::vector<Shape>> distinct;  // per distinct set, per explicit input
};

MapPlan map_plan(const NodeContext& c) {
  const size_t n_outer = outer_scope_names(c.node()).size();
  c.check(c.num_inputs() >= 1 + n_outer, "needs an input sequence");
  MapPlan p;
  p.n_explicit = c.num_inputs() - n_outer;
  p.length = sequence_input(c, 0).seq_shapes.size();
  for (size_t j = 0; j < p.n_explicit; ++j) {
    c.check(c.has_input(j), "input " + std::to_string(j) + " is missing");
    const Value& v = c.input(j);
    p.is_sequence.push_back(v.is_sequence);
    if (v.is_sequence)
      c.check(v.seq_shapes.size() == p.length, "input sequence " + std::to_string(j) + " has " +
                                                   std::to_string(v.seq_shapes.size()) + " elements, input 0 has " +
                                                   std::to_string(p.length));
  }
  for (size_t k = p.n_explicit; k < c.num_inputs(); ++k)
    c.check(!c.input(k).is_sequence, "outer-scope value '" + c.input(k).name + "' is a sequence (not supported)");
  std::map<std::vector<Shape>, size_t> index;
  for (size_t i = 0; i < p.length; ++i) {
    std::vector<Shape> shapes;
    for (size_t j = 0; j < p.n_explicit; ++j)
      shapes.push_back(p.is_sequence[j] ? c.input(j).seq_shapes[i] : c.input_shape(j));
    auto it = index.find(shapes);
    if (it == index.end()) {
      c.check(p.distinct.size() < kMaxBodiesCompiled,
              "its elements bind more than " + std::to_string(kMaxBodiesCompiled) +
                  " distinct sets of shapes to the body (octet compiles the body once per set)");
      c.check(p.distinct.empty() || !compiling_apart(),
              "its elements differ in shape inside a subgraph that is itself compiled apart per shape or per "
              "iteration (not supported)");
      it = index.emplace(shapes, p.distinct.size()).first;
      p.distinct.push_back(shapes);
    }
    p.body_of.push_back(it->second);
  }
  return p;
}

// One compiled body per distinct shape set, all with the node's number of outputs and one
// dtype per output.
std::vector<std::unique_ptr<CompiledSubgraph>> compile_bodies(const NodeContext& c, const MapPlan& p, bool build) {
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies;
  std::unique_ptr<CompilingApart> guard;
  if (p.distinct.size() > 1) guard = std::make_unique<CompilingApart>();
  for (const std::vector<Shape>& shapes : p.distinct) {
    std::vector<FormalBinding> formal;
    for (size_t j = 0; j < p.n_explicit; ++j) formal.push_back({c.input_dtype(j), shapes[j], false});
    bodies.push_back(std::make_unique<CompiledSubgraph>(c, "body", p.n_explicit, formal, build));
    const SubgraphSignature& s = bodies.back()->signature();
    c.check(s.output_names.size() == c.num_outputs(), "body has " + std::to_string(s.output_names.size()) +
                                                          " outputs; the node has " + std::to_string(c.num_outputs()));
    for (size_t k = 0; k < s.outputs.size(); ++k)
      c.check(s.outputs[k].dtype == bodies[0]->signature().outputs[k].dtype,
              "the body's output dtypes change with the elements' shapes");
  }
  return bodies;
}

// An empty input sequence runs no body: the outputs take the body's declared dtypes.
void infer_empty_map(NodeContext& c, const MapPlan& p) {
  const Attribute* a = c.node().attr("body");
  c.check(a && a->kind == Attribute::Kind::graph && a->g, "has no graph attribute 'body'");
  const Graph& body = *a->g;
  c.check(body.inputs.size() == p.n_explicit + body.outer_scope.size(),
          "subgraph 'body' has " + std::to_string(body.inputs.size() - body.outer_scope.size()) +
              " inputs; the node gives it " + std::to_string(p.n_explicit));
  c.check(body.outputs.size() == c.num_outputs(), "body has " + std::to_string(body.outputs.size()) +
                                                      " outputs; the node has " + std::to_string(c.num_outputs()));
  for (size_t k = 0; k < c.num_outputs(); ++k) {
    const DType t = body.values[body.outputs[k]].dtype;
    c.check(t != DType::undefined, "the input sequence is empty and body output " + std::to_string(k) +
                                       " declares no dtype");
    set_sequence_output(c, k, t, {});
  }
}

void infer_sequence_map(NodeContext& c) {
  const MapPlan p = map_plan(c);
  if (p.length == 0) return infer_empty_map(c, p);
  const std::vector<std::unique_ptr<CompiledSubgraph>> bodies = compile_bodies(c, p, false);
  for (size_t k = 0; k < c.num_outputs(); ++k) {
    std::vector<Shape> elements;
    for (size_t i = 0; i < p.length; ++i) elements.push_back(bodies[p.body_of[i]]->signature().outputs[k].shape);
    set_sequence_output(c, k, bodies[0]->signature().outputs[k].dtype, elements);
  }
}

class SequenceMapKernel : public OpKernel {
 public:
  explicit SequenceMapKernel(const NodeContext& c) : plan_(map_plan(c)) {
    if (plan_.length == 0) return;
    bodies_ = compile_bodies(c, plan_, true);
    for (size_t j = 0; j < plan_.n_explicit; ++j)
      in_offsets_.push_back(plan_.is_sequence[j] ? element_offsets(c.input(j).seq_shapes, c.input_dtype(j))
                                                 : std::vector<size_t>());
    for (size_t k = 0; k < c.num_outputs(); ++k) {
      std::vector<Shape> elements;
      for (size_t i = 0; i < plan_.length; ++i)
        elements.push_back(bodies_[plan_.body_of[i]]->signature().outputs[k].shape);
      out_offsets_.push_back(element_offsets(elements, bodies_[0]->signature().outputs[k].dtype));
      out_shapes_.push_back(std::move(elements));
    }
  }

  void run(KernelContext& ctx) const override {
    if (plan_.length == 0) return;
    std::vector<std::unique_ptr<CompiledSubgraph::Runner>> runners(bodies_.size());
    for (size_t i = 0; i < plan_.length; ++i) {
      const size_t b = plan_.body_of[i];
      if (!runners[b]) runners[b] = std::make_unique<CompiledSubgraph::Runner>(*bodies_[b], ctx);
      std::vector<Tensor> elements(plan_.n_explicit);
      std::vector<const Tensor*> formal;
      for (size_t j = 0; j < plan_.n_explicit; ++j) {
        const Tensor& in = ctx.input(j);
        if (plan_.is_sequence[j]) {
          char* base = static_cast<char*>(const_cast<void*>(in.data()));
          elements[j] = Tensor::wrap(in.dtype(), plan_.distinct[b][j], base + in_offsets_[j][i]);
          formal.push_back(&elements[j]);
        } else {
          formal.push_back(&in);
        }
      }
      std::vector<Tensor> out = runners[b]->run(formal);
      for (size_t k = 0; k < out_shapes_.size(); ++k) {
        if (!ctx.has_output(k)) continue;
        Tensor& seq = ctx.output(k);
        Tensor dst = Tensor::wrap(seq.dtype(), out_shapes_[k][i], static_cast<char*>(seq.data()) + out_offsets_[k][i]);
        copy_result(out[k], dst, "body output " + std::to_string(k) + " at position " + std::to_string(i));
      }
    }
  }
  std::string name() const override { return "subgraph"; }

 private:
  MapPlan plan_;
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies_;
  std::vector<std::vector<size_t>> in_offsets_;   // per explicit input sequence, per element
  std::vector<std::vector<size_t>> out_offsets_;  // per output, per element
  std::vector<std::vector<Shape>> out_shapes_;    // per output, per element
};

std::unique_ptr<OpKernel> create_sequence_map(const NodeContext& c) { return std::make_unique<SequenceMapKernel>(c); }

}  // namespace

void register_sequence_map_op(OpRegistry& r) { r.add({"", "SequenceMap", infer_sequence_map, create_sequence_map}); }

}  // namespace octet::detail
