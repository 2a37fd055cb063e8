// INT8 compilation. One internal representation serves every INT8 route:
//   octet's own quantization:  FP32 graph --calibrate--> insert_qdq --> QDQ graph --fuse_qdq--> INT8 graph
//   QDQ models (other tools):  QDQ graph --fuse_qdq--> INT8 graph
//   QOperator models:          QLinearConv / QLinearMatMul / ... already are the INT8 form
//   export:                    the QDQ graph is what CompiledModel::export_qdq writes
// The INT8 graph is made of standard ONNX quantized ops (QLinearConv, QLinearMatMul,
// com.microsoft.QLinearAdd, u8 MaxPool / Concat / Reshape ...) with QuantizeLinear /
// DequantizeLinear only at the borders with ops that stay FP32.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "octet/octet.h"
#include "quant/calibration.h"
#include "runtime/program.h"

namespace octet::detail {

// What insert_qdq quantized: one entry per activation tensor.
struct QuantizedTensor {
  std::string fp32_name;       // the FP32 tensor (in the prepared FP32 graph)
  std::string quantized_name;  // its u8 version in the QDQ / INT8 graph
  std::string producer_op;
  float scale = 1;
  int32_t zero_point = 0;
};

// Rewrites a prepared FP32 graph into QDQ form: s8 per-channel weights and u8 per-tensor
// activations behind DequantizeLinear, QuantizeLinear -> DequantizeLinear pairs on the
// activations of quantizable ops, Relu / Clip(0, x) folded into their producer's range.
Graph insert_qdq(const Graph& fp32, const std::map<std::string, Range>& ranges,
                 std::vector<QuantizedTensor>* quantized);

// True when the graph holds QuantizeLinear / DequantizeLinear or QOperator ops.
bool has_quantized_ops(const Graph& g);

// QDQ patterns -> QLinear ops (in place); Q/DQ pairs that cancel disappear.
void fuse_qdq(Graph& g);

std::shared_ptr<const Program> compile_int8(const Graph& model, const CompileOptions& options,
                                            const kernels::IsaChoice& isa);

}  // namespace octet::detail
