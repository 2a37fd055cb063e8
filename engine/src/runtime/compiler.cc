#include "runtime/compiler.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>
#include <thread>

#include "passes/pipeline.h"
#include "runtime/memory_plan.h"

namespace octet::detail {
namespace {

// Gives every graph input a concrete shape (symbolic dims from options, else 1) and turns
// inputs listed in constant_inputs into constants.
void bind_inputs(Graph& g, const CompileOptions& options) {
  for (const auto& kv : options.constant_inputs) {
    bool found = false;
    for (int id : g.inputs)
      if (g.values[id].name == kv.first) found = true;
    if (!found) throw Error(g.where() + "constant_inputs names '" + kv.first + "', which is not a graph input");
  }
  for (const auto& kv : options.dim_values)
    if (kv.second < 0) throw Error("dim_values['" + kv.first + "'] is negative");

  std::vector<int> runtime_inputs;
  for (int id : g.inputs) {
    Value& v = g.values[id];
    auto c = options.constant_inputs.find(v.name);
    if (c != options.constant_inputs.end()) {
      const Tensor& t = c->second;
      if (v.dtype != DType::undefined && t.dtype() != v.dtype)
        throw Error(g.where() + "constant input '" + v.name + "' is " + dtype_name(t.dtype()) +
                    " but the model declares " + dtype_name(v.dtype));
      if (v.shape_known && v.shape.size() != t.rank())
        throw Error(g.where() + "constant input '" + v.name + "' has shape " + shape_str(t.shape()) +
                    " but the model declares " + shape_str(v.shape));
      v.dtype = t.dtype();
      v.shape = t.shape();
      v.shape_known = true;
      v.is_const = true;
      v.data = t.clone();
      continue;
    }
    if (v.dtype == DType::undefined) throw Error(g.where() + "graph input '" + v.name + "' has no declared type");
    if (!v.shape_known) throw Error(g.where() + "graph input '" + v.name + "' has no declared shape");
    for (size_t d = 0; d < v.shape.size(); ++d) {
      if (v.shape[d] >= 0) continue;
      std::string dn = d < v.dim_names.size() ? v.dim_names[d] : std::string();
      auto it = dn.empty() ? options.dim_values.end() : options.dim_values.find(dn);
      v.shape[d] = it != options.dim_values.end() ? it->second : 1;
    }
    shape_numel(v.shape);
    runtime_inputs.push_back(id);
  }
  g.inputs = runtime_inputs;
}

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

std::string shapes_of(const Graph& g, const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) {
    if (!s.empty()) s += ",";
    s += id < 0 ? std::string("-") : std::string(dtype_name(g.values[id].dtype)) + shape_str(g.values[id].shape);
  }
  return s;
}

// Frees the graph's copy of a constant as soon as every kernel that reads it exists and each
// took its own (packed) copy, not after all kernels: the sources and the packed weights are
// then never all alive together. Values a kernel reads at run time, and graph outputs, stay.
class ConstantReleaser {
 public:
  explicit ConstantReleaser(const Graph& g) : readers_(g.values.size(), 0), kept_(g.values.size(), 0) {
    for (int id : g.outputs) kept_[id] = 1;
    for (const Node& n : g.nodes)
      for (int i : n.inputs)
        if (i >= 0) ++readers_[i];
  }

  // packed: the (node, input) pairs this node's kernel took from packed-weight records. A
  // constant some kernel copied otherwise is read again when a compiled file is loaded: it
  // moves to for_save instead of being dropped.
  void kernel_created(Graph& g, int node_index, const Node& node, const OpKernel& kernel,
                      const PackedWeightStore& packed, std::map<int, Tensor>* for_save) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (v < 0) continue;
      if (!kernel.owns_copy_of_input(i)) kept_[v] = 1;
      bool from_record = false;
      for (const PackedWeightRecord& r : packed.records())
        from_record = from_record || (r.node == node_index && r.input == static_cast<int>(i));
      if (!from_record) read_when_loading_.insert(v);
      if (--readers_[v] == 0) release_if_unused(g, v, for_save);
    }
  }

  // Constants no node reads at all.
  void finish(Graph& g, std::map<int, Tensor>* for_save) {
    for (size_t v = 0; v < g.values.size(); ++v)
      if (readers_[v] == 0) release_if_unused(g, static_cast<int>(v), for_save);
  }

 private:
  void release_if_unused(Graph& g, int v, std::map<int, Tensor>* for_save) {
    if (!g.values[v].is_const || kept_[v]) return;
    if (read_when_loading_.count(v) && !g.values[v].data.empty()) (*for_save)[v] = g.values[v].data;
    g.values[v].data = Tensor();
  }
  std::set<int> read_when_loading_;
  std::vector<int> readers_;  // kernels not yet created that read the value (per input slot)
  std::vector<char> kept_;
};

// Float ops whose SIMD kernels round differently from their reference (polynomial exp / erf,
// FMA and blocked sums). In a program with 8-bit values they run on the reference, whatever the
// level, so that an INT8 model's outputs stay identical on every ISA (the INT8 kernels are exact
// by construction; these are not yet).
bool isa_variant_float_op(const Node& n) {
  static const std::set<std::string> kOps = {"Softmax", "LayerNormalization", "Gelu", "MatMul"};
  return n.domain.empty() && kOps.count(n.op_type) != 0;
}

bool has_8bit_values(const Graph& g) {
  for (const Value& v : g.values)
    if (v.dtype == DType::u8 || v.dtype == DType::s8) return true;
  return false;
}

}  // namespace

Graph prepare_graph(const Graph& model, const CompileOptions& options, const kernels::IsaChoice& isa,
                    PassStage stage) {
  Graph g = model;
  g.load_file_constants();  // this compile's own copies: passes rewrite them, kernels pack them
  bind_inputs(g, options);
  run_pass_pipeline(g, stage, options, isa);
  return g;
}

std::shared_ptr<Program> build_program(Graph graph, const CompileOptions& options, const kernels::IsaChoice& isa,
                                       std::shared_ptr<PackedWeightStore> store, bool sequence_outputs) {
  auto program = std::make_shared<Program>();
  Program& p = *program;
  p.packed = store ? std::move(store) : std::make_shared<PackedWeightStore>();
  p.precision = options.precision;
  p.weight_bits = options.weight_bits;
  p.graph = std::move(graph);
  Graph& g = p.graph;
  p.isa = isa;
  p.threads = resolve_threads(options.threads);

  // Sequences live only between the Sequence ops: the API (and a subgraph's caller) passes tensors.
  for (int id : g.outputs)
    if (g.values[id].is_sequence && !sequence_outputs)
      throw Error(g.where() + "output '" + g.values[id].name +
                  "' is a sequence; octet supports sequences only inside a graph, between the Sequence ops");

  // Kernels, in topological order.
  const OpRegistry& registry = OpRegistry::instance();
  if (kernels::verbose())
    std::fprintf(stderr, "octet: program of %zu nodes, isa %s\n", g.nodes.size(), p.isa.name().c_str());
  ConstantReleaser releaser(g);
  const bool quantized = has_8bit_values(g);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    const OpDef* def = registry.find(node.domain, node.op_type);
    if (!def) throw Error(g.where() + node.label() + ": unsupported op");
    const kernels::IsaChoice node_isa =
        quantized && isa_variant_float_op(node) ? kernels::IsaChoice{kernels::Isa::ref, false} : p.isa;
    NodeContext ctx(g, static_cast<int>(n), node_isa, p.packed.get());
    Step step;
    step.node = static_cast<int>(n);
    step.kernel = def->create(ctx);
    p.weights_bytes += step.kernel->weights_bytes();
    if (kernels::verbose()) {
      // The chosen kernel, then the implementations tried before it and why each declined.
      std::fprintf(stderr, "octet: %s %s in=%s out=%s kernel=%s\n", node.name.c_str(), node.op_type.c_str(),
                   shapes_of(g, node.inputs).c_str(), shapes_of(g, node.outputs).c_str(),
                   step.kernel->name().c_str());
      for (const auto& [impl, why] : ctx.declined())
        std::fprintf(stderr, "octet:   declined %s: %s\n", impl.c_str(), why.c_str());
    }
    releaser.kernel_created(g, static_cast<int>(n), node, *step.kernel, *p.packed, &p.constants_for_save);
    p.steps.push_back(std::move(step));
  }
  p.packed->check_all_taken();
  // Constants every consumer has copied (packed weights) are not kept twice, so
  // weights_bytes() is what the model really holds.
  releaser.finish(g, &p.constants_for_save);

  // Memory plan over the intermediate values.
  std::vector<char> external(g.values.size(), 0);  // not in the arena
  for (int id : g.inputs) external[id] = 1;
  for (int id : g.outputs) external[id] = 1;
  // String values own std::string elements: the session allocates them per run, never in the
  // arena (whose bytes are reused by other values).
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].dtype == DType::string) external[v] = 1;
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (g.values[v].is_const) {
      external[v] = 1;
      p.weights_bytes += g.values[v].data.nbytes();
    }
  }
  for (const auto& [v, t] : p.constants_for_save) p.weights_bytes += t.nbytes();
  std::vector<int> first(g.values.size(), -1), last(g.values.size(), -1);
  for (size_t s = 0; s < g.nodes.size(); ++s) {
    for (int o : g.nodes[s].outputs)
      if (o >= 0 && first[o] < 0) first[o] = last[o] = static_cast<int>(s);
    for (int i : g.nodes[s].inputs)
      if (i >= 0) last[i] = static_cast<int>(s);
  }
  // Every value (graph inputs and outputs included, which the session allocates)
  // must fit the memory limit on its own. Checked in 64 bits: numel fits int64 but numel *
  // element size may not (2^62 floats), and a wrapped size would become a tiny arena slot that
  // the kernel overruns.
  const uint64_t value_limit = std::min<uint64_t>(options.max_memory_bytes, uint64_t(INT64_MAX));
  std::vector<int64_t> value_bytes(g.values.size(), 0);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const Value& val = g.values[v];
    if (val.is_const) continue;
    const uint64_t numel = static_cast<uint64_t>(shape_numel(val.shape));
    const uint64_t esize = val.dtype == DType::string ? sizeof(std::string) : dtype_size(val.dtype);
    if (esize != 0 && numel > value_limit / esize)
      throw Error(g.where() + "value '" + val.name + "' " + dtype_name(val.dtype) + shape_str(val.shape) +
                  " alone exceeds the memory limit of " + std::to_string(options.max_memory_bytes) + " bytes");
    value_bytes[v] = static_cast<int64_t>(numel * esize);
  }
  std::vector<BufferRequest> requests;
  std::vector<int> request_value;
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (external[v] || first[v] < 0) continue;
    BufferRequest r;
    r.bytes = value_bytes[v];
    r.first = first[v];
    r.last = std::max(first[v], last[v]);
    requests.push_back(r);
    request_value.push_back(static_cast<int>(v));
  }
  MemoryPlan plan = plan_memory(requests);
  p.arena_offset.assign(g.values.size(), -1);
  for (size_t r = 0; r < requests.size(); ++r) p.arena_offset[request_value[r]] = plan.offsets[r];
  p.arena_bytes = static_cast<size_t>(plan.total_bytes);
  if (p.arena_bytes + p.weights_bytes > options.max_memory_bytes)
    throw Error(g.where() + "the model needs " + std::to_string(p.arena_bytes) + " bytes of working memory and " +
                std::to_string(p.weights_bytes) + " bytes of weights, over the limit of " +
                std::to_string(options.max_memory_bytes) + " bytes");
  return program;
}

}  // namespace octet::detail
