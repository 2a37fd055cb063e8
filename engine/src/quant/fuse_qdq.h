// QDQ graph -> INT8 graph. Serves octet's own quantization (the output of quantize_qdq) and the
// import of QDQ models made by other tools (per-tensor and per-axis, u8 and s8 activations).
//
//   DQ(x) + DQ(w) [+ DQ(bias)] + Conv + Q(y)   -> QLinearConv
//   DQ(a) + DQ(b) + MatMul + Q(y)              -> QLinearMatMul
//   DQ(a) + DQ(b) [+ DQ(c)] + Gemm [+ Q(y)]    -> com.microsoft.QGemm (f32 output without Q)
//   DQ(a) + DQ(b) + Add + Q(y)                 -> com.microsoft.QLinearAdd
//   DQ(x) + AveragePool / GlobalAveragePool + Q -> com.microsoft.QLinearAveragePool / ...GlobalAveragePool
//   DQ(x...) + Concat + Q                      -> 8-bit Concat (all parameters equal) or com.microsoft.QLinearConcat
//   DQ(x) + HardSwish + Q                      -> octet.LookupQ8 (the function as a 256-entry table)
//   DQ(x) + MaxPool / Reshape / Flatten / Transpose / Squeeze / Unsqueeze / Resize(nearest) + Q
//     with equal parameters                    -> the same op on the 8-bit values
//   Q(DQ(x)) with equal parameters             -> x
// Whatever does not match stays as QuantizeLinear / DequantizeLinear around FP32 ops.
// QOperator models (QLinearConv, QLinearMatMul, ...) already are in this form.
#pragma once

#include "octet/graph/graph.h"

namespace octet::detail {

// True when the graph holds QuantizeLinear / DequantizeLinear or QOperator ops.
bool has_quantized_ops(const Graph& g);

// Rewrites the QDQ patterns in place; drops what becomes dead.
void fuse_qdq(Graph& g);

}  // namespace octet::detail
