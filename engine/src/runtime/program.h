// A compiled model: the optimised graph, one kernel per node, and the memory plan.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "octet/kernels/isa.h"
#include "ops/op_registry.h"
#include "ops/packed_weights.h"

namespace octet::detail {

struct Step {
  int node = -1;  // index into Program::graph.nodes
  std::unique_ptr<OpKernel> kernel;
};

struct Program {
  Graph graph;
  kernels::IsaChoice isa;
  int threads = 1;
  std::vector<Step> steps;
  // Per value id: byte offset in the session arena, or -1 when the value is not in the arena
  // (constants, graph inputs, graph outputs).
  std::vector<int64_t> arena_offset;
  size_t arena_bytes = 0;
  size_t weights_bytes = 0;  // constants + kernel-owned packed weights
  // Optional graph inputs compiled empty (CompileOptions::empty_optional_inputs): constants
  // now, which Session::run_values still accepts as none.
  std::vector<std::string> empty_optional_inputs;

  // INT8 programs: the QDQ form of the quantized graph (what export_qdq writes), and the
  // per-tensor quantization report.
  std::shared_ptr<const Graph> qdq_graph;
  std::vector<LayerError> quant_report;

  // For CompiledModel::save: the packed weights the kernels recorded (or, for a loaded
  // program, were given), and the constants the graph no longer holds that some kernel reads
  // again when the file is loaded (a constant every consumer took from a packed record is
  // not kept: the file stores its packed form only).
  std::shared_ptr<PackedWeightStore> packed;
  std::map<int, Tensor> constants_for_save;
  Precision precision = Precision::fp32;
  int weight_bits = 8;
};

}  // namespace octet::detail
