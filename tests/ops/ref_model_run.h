// Compiling and running a ModelBuilder graph through the public API on the reference level,
// one thread: for op tests whose ops work on whole subgraphs or sequences rather than on one
// node's tensors (control flow, the Sequence ops).
#pragma once

#include <map>
#include <string>

#include "frontend/model_builder.h"
#include "octet/octet.h"

namespace octet::testing {

inline CompiledModel compile_on_ref(const ModelBuilder& b) {
  const std::string bytes = b.bytes();
  Model m = Model::load_from_buffer(bytes.data(), bytes.size(), "");
  CompileOptions opt;
  opt.isa = "ref";
  opt.threads = 1;
  return CompiledModel::compile(m, opt);
}

inline std::map<std::string, Tensor> run_on_ref(const ModelBuilder& b, const std::map<std::string, Tensor>& inputs) {
  CompiledModel cm = compile_on_ref(b);
  Session s = cm.create_session();
  return s.run(inputs);
}

// The compile's Error message, "" when it compiled.
inline std::string compile_error_on_ref(const ModelBuilder& b) {
  try {
    compile_on_ref(b);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace octet::testing
