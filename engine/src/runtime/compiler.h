// Graph -> Program: bind shapes, run the passes, choose a kernel per node, plan memory. An FP32
// compile is build_program(prepare_graph(...)); the INT8 route (quant/quantize.h) uses the same
// two stages. The runtime knows nothing of quant/ (api/compiled_model.cc picks the route).
#pragma once

#include <memory>

#include "octet/octet.h"
#include "passes/pipeline.h"
#include "runtime/program.h"

namespace octet::detail {

// Binds input shapes, then runs the pass pipeline of the stage: PassStage::fp32, or
// PassStage::qdq_import for a quantized model (DequantizeLinear of constants left unfolded).
Graph prepare_graph(const Graph& model, const CompileOptions& options, const kernels::IsaChoice& isa,
                    PassStage stage = PassStage::fp32);
// Chooses a kernel per node and plans memory for an already prepared graph.
// store: null when compiling (the kernels' packing is recorded in a new store); a restoring
// store when loading a compiled-model file (the kernels take their packed weights from it).
// sequence_outputs: a subgraph's program, whose caller (If, Loop) takes sequences as flat buffers.
std::shared_ptr<Program> build_program(Graph graph, const CompileOptions& options, const kernels::IsaChoice& isa,
                                       std::shared_ptr<PackedWeightStore> store = nullptr,
                                       bool sequence_outputs = false);

}  // namespace octet::detail
