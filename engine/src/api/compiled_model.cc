#include <malloc.h>

#include <algorithm>

#include "api/api_guard.h"
#include "octet/frontend/onnx_writer.h"
#include "octet/octet.h"
#include "quant/quantize.h"
#include "runtime/compiled_file/compiled_file.h"
#include "runtime/compiler.h"
#include "runtime/session_state.h"

namespace octet {
namespace detail {
std::vector<TensorInfo> graph_io_infos(const Graph& g, bool inputs);
std::string first_non_tensor_io(const Program& p);  // session_values.cc

// run and run_into pass tensors only.
void check_tensor_io(const Program& p, const char* api) {
  const std::string name = first_non_tensor_io(p);
  if (!name.empty())
    throw Error(p.graph.where() + "'" + name + "' is a sequence or an optional: use Session::run_values, not " + api);
}

namespace {

// The route: FP32 through the runtime's stages, INT8 through quant/ (which uses them too).
std::shared_ptr<const Program> compile_program(const Graph& model, const CompileOptions& options) {
  kernels::IsaChoice isa = kernels::resolve_isa(options.isa);
  if (options.precision == Precision::int8) return compile_int8(model, options, isa);
  return build_program(prepare_graph(model, options, isa), options, isa);
}

}  // namespace
}  // namespace detail

CompiledModel CompiledModel::compile(const Model& model, const CompileOptions& options) {
  if (!model.graph()) throw Error("compile: the model is empty");
  return detail::api_guard("compile", [&] {
    CompiledModel compiled(detail::compile_program(*model.graph(), options));
    // The compile freed every source weight once packed, and the passes' intermediate copies;
    // glibc keeps such freed heap pages mapped for reuse. Hand the whole free pages back.
    malloc_trim(0);
    return compiled;
  });
}

CompiledModel CompiledModel::load(const std::string& path, int threads) {
  return detail::api_guard("load", [&] { return CompiledModel(detail::load_compiled(path, threads)); });
}

CompiledModel CompiledModel::load_from_buffer(const void* data, size_t size, int threads) {
  return detail::api_guard("load", [&] { return CompiledModel(detail::load_compiled_from_buffer(data, size, threads)); });
}

void CompiledModel::save(const std::string& path) const {
  detail::api_guard("save", [&] {
    detail::save_compiled(*program_, path);
    return 0;
  });
}

Session CompiledModel::create_session() const { return create_session(SessionOptions{}); }
Session CompiledModel::create_session(const SessionOptions& options) const {
  return detail::api_guard("create_session",
                           [&] { return Session(std::make_shared<detail::SessionState>(program_, options)); });
}
std::vector<TensorInfo> CompiledModel::inputs() const { return detail::graph_io_infos(program_->graph, true); }
std::vector<TensorInfo> CompiledModel::outputs() const { return detail::graph_io_infos(program_->graph, false); }
size_t CompiledModel::arena_bytes() const { return program_->arena_bytes; }
size_t CompiledModel::weights_bytes() const { return program_->weights_bytes; }
std::string CompiledModel::isa() const { return program_->isa.name(); }

std::string CompiledModel::describe() const {
  const detail::Graph& g = program_->graph;
  std::string out;
  for (const detail::Step& s : program_->steps) {
    const detail::Node& n = g.nodes[s.node];
    out += n.name + " " + n.op_type + " ->";
    for (int o : n.outputs)
      if (o >= 0) out += " " + shape_str(g.values[o].shape);
    out += " kernel=" + s.kernel->name() + "\n";
  }
  return out;
}

void CompiledModel::export_qdq(const std::string& path) const {
  detail::api_guard("export_qdq", [&] {
    if (!program_->qdq_graph)
      throw Error("export_qdq(" + path + "): " +
                  (program_->precision == Precision::int8 ? "a model loaded from a compiled file has no QDQ graph"
                                                          : "the model was not compiled for INT8"));
    frontend::save_onnx(*program_->qdq_graph, path);
    return 0;
  });
}

std::vector<LayerError> CompiledModel::quantization_report() const { return program_->quant_report; }

Session::Session(std::shared_ptr<detail::SessionState> s) : state_(std::move(s)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor>& inputs) {
  if (!state_) throw Error("Session::run on a moved-from session");
  return detail::api_guard("Session::run", [&] {
    detail::check_tensor_io(*state_->program, "run");
    return state_->run(inputs);
  });
}

void Session::run_into(const std::map<std::string, Tensor>& inputs, const std::map<std::string, Tensor>& outputs) {
  if (!state_) throw Error("Session::run_into on a moved-from session");
  detail::api_guard("Session::run_into", [&] {
    detail::check_tensor_io(*state_->program, "run_into");
    state_->run(inputs, &outputs);
  });
}

std::string Session::threading() const {
  if (!state_) throw Error("Session::threading on a moved-from session");
  const kernels::ThreadPool& pool = *state_->pool;
  if (pool.external()) return "threads " + std::to_string(pool.size()) + " (caller's pool)";
  if (pool.size() == 1) return "threads 1 (the calling thread)";
  return "threads " + std::to_string(pool.size()) + " (octet pool, spin " + std::to_string(pool.spin_us()) + " us)";
}

void Session::enable_profiling(bool on) {
  if (!state_) throw Error("Session::enable_profiling on a moved-from session");
  state_->profiling = on;
}

std::vector<NodeProfile> Session::profile() const {
  if (!state_) throw Error("Session::profile on a moved-from session");
  const detail::Program& p = *state_->program;
  std::vector<NodeProfile> out;
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const detail::Node& n = p.graph.nodes[p.steps[s].node];
    out.push_back({n.name, n.op_type, p.steps[s].kernel->name(), state_->step_ms[s], state_->step_calls[s]});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const NodeProfile& a, const NodeProfile& b) { return a.total_ms > b.total_ms; });
  return out;
}

}  // namespace octet
