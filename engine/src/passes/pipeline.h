// The pass pipeline: which graph passes run, in which order, at each stage of a compilation.
// Written down once (pass_pipeline) and run by both routes:
//   FP32:    bind inputs -> [fp32] -> kernels + memory plan             (runtime/compiler.cc)
//   INT8, a quantized model (QDQ / QOperator):
//            bind inputs -> [qdq_import] -> fuse_qdq -> [int8] -> kernels  (quant/quantize.cc)
//   INT8, octet's own quantization:
//            bind inputs -> [fp32 on ref] -> normalize_for_quantization -> [calibration]
//            -> calibrate -> quantize_qdq -> [qdq_shapes] -> fuse_qdq -> [int8] -> kernels
//            (and [int8_unfused] for the program the SQNR report observes)
// fuse_qdq, normalize_for_quantization and quantize_qdq are quant/'s rewrites and run between
// the stages; the stages hold the graph passes of passes.h. Include direction: runtime/ and
// quant/ both use passes/; quant/ uses runtime/ (it compiles FP32 programs to calibrate);
// runtime/ knows nothing of quant/ (api/ picks the route).
#pragma once

#include <functional>
#include <vector>

#include "octet/graph/graph.h"
#include "octet/kernels/isa.h"
#include "octet/octet.h"

namespace octet::detail {

enum class PassStage {
  // An FP32 graph: infer_and_fold; when optimising remove_identities, fold_batchnorm and, on a
  // SIMD level, fuse_conv_epilogue and plan_nhwc_layout (FP32); eliminate_dead_code; compact.
  fp32,
  // A quantized model before fuse_qdq: as fp32 but DequantizeLinear of constant weights stays
  // a node (fusion must see the 8-bit weights), and no FP32 fusion or NHWC layout.
  qdq_import,
  // The normalised FP32 graph that calibrates: infer_and_fold, eliminate_dead_code, compact.
  calibration,
  // The QDQ graph quantize_qdq made: infer_and_fold (keeping DequantizeLinear) for the dtypes
  // and shapes of the Q / DQ values; nothing removed (the graph is also what export writes).
  qdq_shapes,
  // After fuse_qdq: infer_and_fold (leftover DequantizeLinear of constants fold to FP32); when
  // optimising plan_nhwc_layout (8-bit, convs take the adds and lookups after them);
  // eliminate_dead_code; compact.
  int8,
  // int8 without the fusions into convs: every quantized value stays a value of the program.
  int8_unfused,
};

struct Pass {
  const char* name;
  std::function<void(Graph&)> run;
};

// The ordered passes of a stage for these options and ISA; they share one PassOptions.
std::vector<Pass> pass_pipeline(PassStage stage, const CompileOptions& options, const kernels::IsaChoice& isa);

// Runs pass_pipeline(stage, options, isa) on g, in order.
void run_pass_pipeline(Graph& g, PassStage stage, const CompileOptions& options, const kernels::IsaChoice& isa);

}  // namespace octet::detail
