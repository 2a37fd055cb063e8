// Session::run_values: sequences and optionals at the graph boundary. Inside a program a
// sequence is one buffer of its elements back to back (their shapes fixed at compile time) and
// an empty optional a constant of no elements; this converts the caller's Values to and from
// that, around the tensor run.
#include <algorithm>
#include <cstring>

#include "api/api_guard.h"
#include "octet/octet.h"
#include "runtime/session_state.h"

namespace octet {
namespace detail {

// The first graph input or output that is not a plain tensor ("" when there is none).
std::string first_non_tensor_io(const Program& p) {
  const Graph& g = p.graph;
  if (!p.empty_optional_inputs.empty()) return p.empty_optional_inputs.front();
  for (const std::vector<int>* ids : {&g.inputs, &g.outputs})
    for (int id : *ids)
      if (g.values[id].is_sequence || g.values[id].is_none) return g.values[id].name;
  return "";
}

namespace {

// The elements of a sequence input as the program's buffer, checked against the compiled ones.
Tensor flatten_sequence(const Graph& g, const Value& v, const octet::Value& given) {
  const std::string what = g.where() + "sequence input '" + v.name + "'";
  if (!given.is_sequence())
    throw Error(what + " is given " + (given.is_none() ? "none" : "a tensor") + "; it needs a sequence");
  const std::vector<Tensor>& elements = given.elements();
  if (elements.size() != v.seq_shapes.size())
    throw Error(what + " has " + std::to_string(elements.size()) + " elements but the model was compiled for " +
                std::to_string(v.seq_shapes.size()));
  Tensor flat(v.dtype, v.shape);
  char* dst = static_cast<char*>(flat.data());
  for (size_t e = 0; e < elements.size(); ++e) {
    const Tensor& t = elements[e];
    if (t.dtype() != v.dtype || t.shape() != v.seq_shapes[e])
      throw Error(what + " element " + std::to_string(e) + " is " + dtype_name(t.dtype()) + " " +
                  shape_str(t.shape()) + " but the model was compiled for " + dtype_name(v.dtype) + " " +
                  shape_str(v.seq_shapes[e]));
    if (t.nbytes() == 0) continue;
    if (t.data() == nullptr) throw Error(what + " element " + std::to_string(e) + " has no data");
    std::memcpy(dst, t.data(), t.nbytes());
    dst += t.nbytes();
  }
  return flat;
}

// A sequence output's buffer as its elements (each its own tensor, owned by the caller).
std::vector<Tensor> split_sequence(const Value& v, const Tensor& flat) {
  std::vector<Tensor> out;
  const char* src = static_cast<const char*>(flat.data());
  for (const Shape& s : v.seq_shapes) {
    Tensor t(v.dtype, s);
    if (t.nbytes() > 0) std::memcpy(t.data(), src, t.nbytes());
    src += t.nbytes();
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace
}  // namespace detail

std::map<std::string, Value> Session::run_values(const std::map<std::string, Value>& inputs) {
  if (!state_) throw Error("Session::run_values on a moved-from session");
  return detail::api_guard("Session::run_values", [&] {
    const detail::Program& p = *state_->program;
    const detail::Graph& g = p.graph;
    std::map<std::string, Tensor> tensors;
    for (const auto& [name, given] : inputs) {
      const auto& empties = p.empty_optional_inputs;
      if (std::find(empties.begin(), empties.end(), name) != empties.end()) {
        if (!given.is_none())
          throw Error(g.where() + "optional input '" + name + "' was compiled empty; it takes none");
        continue;
      }
      const detail::Value* v = nullptr;
      for (int id : g.inputs)
        if (g.values[id].name == name) v = &g.values[id];
      if (!v) throw Error(g.where() + "'" + name + "' is not an input of the compiled model");
      if (v->is_sequence) {
        tensors[name] = detail::flatten_sequence(g, *v, given);
      } else {
        if (!given.is_tensor())
          throw Error(g.where() + "input '" + name + "' is given " + (given.is_none() ? "none" : "a sequence") +
                      "; it needs a tensor");
        tensors[name] = given.tensor();
      }
    }
    std::map<std::string, Tensor> flat = state_->run(tensors);
    std::map<std::string, Value> out;
    for (int id : g.outputs) {
      const detail::Value& v = g.values[id];
      if (v.is_none)
        out[v.name] = Value::none();
      else if (v.is_sequence)
        out[v.name] = Value::sequence(detail::split_sequence(v, flat.at(v.name)));
      else
        out[v.name] = flat.at(v.name);
    }
    return out;
  });
}

}  // namespace octet
