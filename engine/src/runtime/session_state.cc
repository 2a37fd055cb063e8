#include "runtime/session_state.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace octet::detail {

SessionState::SessionState(std::shared_ptr<const Program> p, const SessionOptions& options)
    : program(std::move(p)), external_pool(options.thread_pool) {
  if (options.threads < 0 || options.threads > 4096)
    throw Error("SessionOptions::threads is " + std::to_string(options.threads) + ": must be in [0, 4096]");
  if (options.spin_us < 0 || options.spin_us > 1000000)
    throw Error("SessionOptions::spin_us is " + std::to_string(options.spin_us) + ": must be in [0, 1000000]");
  arena.resize(program->arena_bytes);
  if (external_pool) {
    const int size = external_pool->size();
    if (size < 1) throw Error("SessionOptions::thread_pool: size() is " + std::to_string(size) + ", must be >= 1");
    // Forwards through a plain function object: kernels/ knows nothing of the public API.
    ThreadPoolInterface* ext = external_pool.get();
    pool = std::make_unique<kernels::ThreadPool>(
        kernels::Executor{size, [ext](int tasks, const std::function<void(int)>& fn) { ext->run(tasks, fn); }});
  } else {
    pool = std::make_unique<kernels::ThreadPool>(options.threads > 0 ? options.threads : program->threads,
                                                 options.spin_us);
  }
  step_ms.assign(program->steps.size(), 0.0);
  step_calls.assign(program->steps.size(), 0);
}

SessionState::SessionState(std::shared_ptr<const Program> p, kernels::ThreadPool* borrowed)
    : program(std::move(p)), borrowed_pool(borrowed) {
  arena.resize(program->arena_bytes);
  step_ms.assign(program->steps.size(), 0.0);
  step_calls.assign(program->steps.size(), 0);
}

std::map<std::string, Tensor> SessionState::run(const std::map<std::string, Tensor>& inputs,
                                                const std::map<std::string, Tensor>* into) {
  const Program& p = *program;
  const Graph& g = p.graph;
  std::vector<Tensor> values(g.values.size());

  for (const auto& kv : inputs) {
    bool known = false;
    for (int id : g.inputs) known = known || g.values[id].name == kv.first;
    if (!known) throw Error(g.where() + "'" + kv.first + "' is not an input of the compiled model");
  }
  for (int id : g.inputs) {
    const Value& v = g.values[id];
    auto it = inputs.find(v.name);
    if (it == inputs.end()) throw Error(g.where() + "missing input '" + v.name + "'");
    const Tensor& t = it->second;
    if (t.dtype() != v.dtype || t.shape() != v.shape)
      throw Error(g.where() + "input '" + v.name + "' is " + dtype_name(t.dtype()) + " " + shape_str(t.shape()) +
                  " but the model was compiled for " + dtype_name(v.dtype) + " " + shape_str(v.shape));
    if (t.numel() > 0 && t.data() == nullptr) throw Error(g.where() + "input '" + v.name + "' has no data");
    // Kernels never write their inputs, so the caller's buffer is used in place.
    values[id] = Tensor::wrap(t.dtype(), t.shape(), const_cast<void*>(t.data()));
  }
  for (size_t v = 0; v < g.values.size(); ++v) {
    const Value& val = g.values[v];
    if (val.is_const) values[v] = val.data;
    else if (p.arena_offset[v] >= 0)
      values[v] = Tensor::wrap(val.dtype, val.shape, static_cast<char*>(arena.data()) + p.arena_offset[v]);
    else if (val.dtype == DType::string && values[v].empty() &&
             std::find(g.outputs.begin(), g.outputs.end(), static_cast<int>(v)) == g.outputs.end())
      values[v] = Tensor(val.dtype, val.shape);  // intermediate strings: owned per run, not in the arena
  }
  // The caller's output buffers, by output value id.
  std::map<int, Tensor> caller_buffers;
  if (into) {
    for (const auto& kv : *into) {
      int id = -1;
      for (int o : g.outputs) id = g.values[o].name == kv.first ? o : id;
      if (id < 0) throw Error(g.where() + "'" + kv.first + "' is not an output of the compiled model");
      const Value& v = g.values[id];
      const Tensor& t = kv.second;
      if (t.dtype() != v.dtype || t.shape() != v.shape)
        throw Error(g.where() + "output buffer '" + v.name + "' is " + dtype_name(t.dtype()) + " " +
                    shape_str(t.shape()) + " but the model computes " + dtype_name(v.dtype) + " " +
                    shape_str(v.shape));
      if (t.numel() > 0 && t.data() == nullptr) throw Error(g.where() + "output buffer '" + v.name + "' has no data");
      caller_buffers[id] = t;
    }
  }
  std::map<std::string, Tensor> outputs;
  for (int id : g.outputs) {
    const Value& v = g.values[id];
    if (v.is_const || values[id].data() != nullptr) continue;  // constant, pass-through input or arena value
    // The caller owns outputs: its own buffer, or one allocated per run, written in place by
    // the producing kernel.
    auto buffer = caller_buffers.find(id);
    values[id] = buffer != caller_buffers.end() ? buffer->second : Tensor(v.dtype, v.shape);
  }

  KernelContext kc;
  kc.pool = borrowed_pool ? borrowed_pool : pool.get();
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const Step& step = p.steps[s];
    const Node& node = g.nodes[step.node];
    kc.inputs.clear();
    kc.outputs.clear();
    for (int i : node.inputs) kc.inputs.push_back(i >= 0 ? &values[i] : nullptr);
    for (int o : node.outputs) kc.outputs.push_back(o >= 0 ? &values[o] : nullptr);
    auto t0 = profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    try {
      step.kernel->run(kc);
    } catch (const Error& e) {
      throw Error(g.where() + node.label() + ": " + e.what());
    } catch (const std::bad_alloc&) {
      throw Error(g.where() + node.label() + ": out of memory");
    } catch (const std::exception& e) {
      throw Error(g.where() + node.label() + ": internal error: " + e.what());
    }
    if (observer)
      for (int o : node.outputs)
        if (o >= 0) observer(o, values[o]);
    if (profiling) {
      step_ms[s] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      step_calls[s] += 1;
    }
  }
  for (int id : g.outputs) {
    const Value& v = g.values[id];
    auto buffer = caller_buffers.find(id);
    if (buffer != caller_buffers.end()) {
      // A kernel that re-points its output (a view of its input), a constant or an input:
      // copied into the caller's buffer.
      if (values[id].data() != buffer->second.data() && v.dtype == DType::string)
        std::copy(values[id].data_as<std::string>(), values[id].data_as<std::string>() + values[id].numel(),
                  buffer->second.data_as<std::string>());
      else if (values[id].data() != buffer->second.data() && values[id].nbytes() > 0)
        std::memcpy(buffer->second.data(), values[id].data(), values[id].nbytes());
      continue;
    }
    // Constants and pass-through inputs are copied so the caller owns what it gets.
    bool owned = !v.is_const && p.arena_offset[id] < 0 &&
                 std::find(g.inputs.begin(), g.inputs.end(), id) == g.inputs.end();
    outputs[v.name] = owned ? values[id] : values[id].clone();
  }
  return outputs;
}

}  // namespace octet::detail
