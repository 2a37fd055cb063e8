// Model -> Program: bind shapes, run the passes, choose a kernel per node, plan memory.
#pragma once

#include <memory>

#include "octet/octet.h"
#include "runtime/program.h"

namespace octet::detail {

std::shared_ptr<const Program> compile_program(const Graph& model, const CompileOptions& options);

}  // namespace octet::detail
