// Model -> Program: bind shapes, run the passes, choose a kernel per node, plan memory.
#pragma once

#include <memory>

#include "octet/octet.h"
#include "runtime/program.h"

namespace octet::detail {

std::shared_ptr<const Program> compile_program(const Graph& model, const CompileOptions& options);

// The stages of compile_program, for the INT8 path (which compiles an FP32 program to
// calibrate, then builds the INT8 one).
// Binds input shapes, infers and folds, and (when optimising) runs the graph passes.
// keep_dequantize: leave DequantizeLinear of constants unfolded (INT8 compilation of QDQ models).
Graph prepare_graph(const Graph& model, const CompileOptions& options, const kernels::IsaChoice& isa,
                    bool keep_dequantize = false);
// Chooses a kernel per node and plans memory for an already prepared graph.
std::shared_ptr<Program> build_program(Graph graph, const CompileOptions& options, const kernels::IsaChoice& isa);

}  // namespace octet::detail
