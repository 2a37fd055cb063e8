#include "passes/passes.h"

#include "ops/op_registry.h"

namespace octet::detail {
namespace {

// The ops that read a sequence (as input 0; ops/sequence/, and Identity and the Optional ops,
// which pass it through); every other input is a tensor.
bool takes_sequences(const Node& n) {
  if (!n.domain.empty()) return false;
  return n.op_type == "SequenceInsert" || n.op_type == "SequenceErase" || n.op_type == "SequenceAt" ||
         n.op_type == "SequenceLength" || n.op_type == "ConcatFromSequence" || n.op_type == "Identity" ||
         n.op_type == "Optional" || n.op_type == "OptionalGetElement" || n.op_type == "OptionalHasElement";
}

// The ops that take an empty optional (Value::is_none) as input 0.
bool takes_none(const Node& n) {
  if (!n.domain.empty()) return false;
  return n.op_type == "Identity" || n.op_type == "Optional" || n.op_type == "OptionalGetElement" ||
         n.op_type == "OptionalHasElement";
}

// Control flow passes sequences through: Loop's carried values and outer-scope reads (inputs
// after M and cond), If's outer-scope reads (after cond). ops/control/ binds their element shapes.
bool passes_sequence(const Node& n, size_t input) {
  if (!n.domain.empty()) return false;
  return (n.op_type == "Loop" && input >= 2) || (n.op_type == "If" && input >= 1);
}

// Strings count their std::string objects (their characters live on the heap beside them).
uint64_t value_bytes(const Value& v) {
  const uint64_t esize = v.dtype == DType::string ? sizeof(std::string) : dtype_size(v.dtype);
  const uint64_t n = static_cast<uint64_t>(shape_numel(v.shape));
  return esize != 0 && n > UINT64_MAX / esize ? UINT64_MAX : n * esize;
}

// Ops that do not declare string support (OpDef::strings) copy or compute on bytes, which a
// string tensor does not have: a string operand is refused here, once for every such op.
void refuse_strings(const Graph& g, const std::vector<int>& ids, const char* role, const NodeContext& ctx) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= 0 && g.values[ids[i]].dtype == DType::string)
      ctx.fail(std::string("unsupported dtype string for ") + role + " " + std::to_string(i) + ": " +
               ctx.node().op_type + " does not take string tensors");
}

}  // namespace

void infer_and_fold(Graph& g, const PassOptions& options) {
  const OpRegistry& registry = OpRegistry::instance();
  uint64_t const_bytes = 0;
  for (const Value& v : g.values)
    if (v.is_const) const_bytes += v.data.nbytes();

  for (size_t n = 0; n < g.nodes.size(); ++n) {
    Node& node = g.nodes[n];
    if (node.dead) continue;
    const OpDef* def = registry.find(node.domain, node.op_type);
    if (!def) throw Error(g.where() + node.label() + ": unsupported op");
    NodeContext ctx(g, static_cast<int>(n), options.isa);
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0 && !g.values[node.inputs[i]].shape_known)
        ctx.fail("the shape of input " + std::to_string(i) + " ('" + g.values[node.inputs[i]].name +
                 "') is unknown");
    if (!def->strings) refuse_strings(g, node.inputs, "input", ctx);
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0 && g.values[node.inputs[i]].is_sequence && !(i == 0 && takes_sequences(node)) &&
          node.op_type != "SequenceMap" && !passes_sequence(node, i))
        ctx.fail("input " + std::to_string(i) + " ('" + g.values[node.inputs[i]].name +
                 "') is a sequence; this op takes tensors");
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0 && g.values[node.inputs[i]].is_none && !(i == 0 && takes_none(node)))
        ctx.fail("input " + std::to_string(i) + " ('" + g.values[node.inputs[i]].name +
                 "') is an empty optional; only Identity and the Optional ops take one");
    def->infer(ctx);
    if (!def->strings) refuse_strings(g, node.outputs, "output", ctx);

    bool all_const_outputs = true;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      int o = node.outputs[i];
      if (o < 0) continue;
      const Value& v = g.values[o];
      if (!v.shape_known || v.dtype == DType::undefined)
        ctx.fail("shape inference left output " + std::to_string(i) + " ('" + v.name + "') unknown");
      if (value_bytes(v) > options.max_memory_bytes)
        ctx.fail("output '" + v.name + "' " + shape_str(v.shape) + " needs " +
                 std::to_string(value_bytes(v)) + " bytes, over the memory limit of " +
                 std::to_string(options.max_memory_bytes));
      if (!v.is_const) all_const_outputs = false;
    }
    if (all_const_outputs) {  // e.g. Shape: known without running anything
      node.dead = true;
      continue;
    }

    bool all_const_inputs = true;
    for (int in : node.inputs)
      if (in >= 0 && !g.values[in].is_const) all_const_inputs = false;
    if (!all_const_inputs || !def->foldable) continue;
    if (options.keep_dequantize && node.op_type == "DequantizeLinear") continue;

    // Fold: run the node's kernel now and keep its outputs as constants.
    std::unique_ptr<OpKernel> kernel = def->create(ctx);
    KernelContext kc;
    std::vector<Tensor> outs(node.outputs.size());
    for (int in : node.inputs) kc.inputs.push_back(in >= 0 ? &g.values[in].data : nullptr);
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      int o = node.outputs[i];
      if (o < 0) {
        kc.outputs.push_back(nullptr);
        continue;
      }
      const Value& v = g.values[o];
      const_bytes += value_bytes(v);
      if (const_bytes > options.max_memory_bytes)
        ctx.fail("folding constants exceeds the memory limit of " +
                 std::to_string(options.max_memory_bytes) + " bytes");
      outs[i] = Tensor(v.dtype, v.shape);
      kc.outputs.push_back(&outs[i]);
    }
    try {
      kernel->run(kc);
    } catch (const Error& e) {
      throw Error(g.where() + node.label() + " (while folding constants): " + e.what());
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      int o = node.outputs[i];
      if (o < 0) continue;
      g.values[o].is_const = true;
      g.values[o].data = std::move(outs[i]);
    }
    node.dead = true;
  }
}

}  // namespace octet::detail
