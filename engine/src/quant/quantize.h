// INT8 compilation. One internal representation serves every INT8 route:
//   octet's own quantization:  FP32 graph --normalize, calibrate--> quantize_qdq --> QDQ graph
//                              --fuse_qdq--> INT8 graph
//   QDQ models (other tools):  QDQ graph --fuse_qdq--> INT8 graph
//   QOperator models:          QLinearConv / QLinearMatMul / ... already are the INT8 form
//   export:                    the QDQ graph is what CompiledModel::export_qdq writes, and
//                              importing it gives the same INT8 graph again
// The INT8 graph is made of standard ONNX quantized ops (QLinearConv, QLinearMatMul, and
// ONNX Runtime's com.microsoft QGemm / QLinearAdd / QLinearAveragePool / ...; u8 MaxPool,
// Concat, Reshape ...) with QuantizeLinear / DequantizeLinear only at the borders with ops
// that stay FP32.
#pragma once

#include <memory>

#include "octet/octet.h"
#include "runtime/program.h"

// Include direction: quant/ builds on runtime/ (runtime/compiler.h's prepare_graph and
// build_program, runtime/session_state.h to calibrate); runtime/ never includes quant/.

namespace octet::detail {

std::shared_ptr<const Program> compile_int8(const Graph& model, const CompileOptions& options,
                                            const kernels::IsaChoice& isa);

}  // namespace octet::detail
