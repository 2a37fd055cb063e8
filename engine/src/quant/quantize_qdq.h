// The quantizer: a prepared FP32 graph plus calibrated ranges -> the same graph in QDQ form.
//
//   weights of Conv / Gemm / MatMul(x, constant B): s8 constants, symmetric per output channel
//     in [-127, 127] (or [-63, 63] with 7 weight bits), behind DequantizeLinear (axis = the output channel);
//   biases: s32 with scale x_scale * w_scale[n], behind DequantizeLinear;
//   activations entering or leaving a quantized op: QuantizeLinear -> DequantizeLinear, u8
//     asymmetric per tensor (the range always holds 0);
//   Relu / Clip(lo <= 0 <= hi) after a Conv / Gemm / MatMul / Add: folded into the producer's
//     output range and removed.
// fuse_qdq then turns the QDQ patterns into QLinear ops; export_qdq writes the QDQ graph.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "quant/calibration.h"

namespace octet::detail {

// One quantized activation tensor.
struct QuantizedTensor {
  std::string fp32_name;       // the tensor in the FP32 graph
  std::string quantized_name;  // its u8 value (QuantizeLinear output) in the QDQ and INT8 graphs
  std::string producer_op;     // op type of the FP32 producer ("input" for graph inputs)
  std::string producer_node;   // node name of the FP32 producer ("" for graph inputs)
  float scale = 1;
  int32_t zero_point = 0;
  // A Gemm whose output stays f32 (QGemm with a float output): quantized_name is that f32
  // value, scale / zero_point are 0.
  bool float_output = false;
};

struct QuantizeSettings {
  // Nodes (by name) that stay FP32: the accuracy-aware mode's fallbacks.
  std::set<std::string> fp32_nodes;
  int weight_bits = 8;  // CompileOptions::weight_bits
};

// Rewrites a prepared FP32 graph into the form the quantizer expects, without changing what it
// computes: Conv followed by Add(per-channel constant) gets the constant as its bias; Gemm's
// alpha / beta fold into its constant B / C; MatMul(x, constant [K,N]) followed by Add(constant
// [N]) becomes Gemm (between two Reshapes when x has rank > 2), so that the bias is added in
// int32. Leaves new values' shapes to the caller's infer_and_fold.
void normalize_for_quantization(Graph& g);

// The QDQ form of a normalised FP32 graph. ranges holds the calibrated range of each FP32
// tensor by name; a tensor without a range stays FP32. `quantized` receives every activation
// tensor that got a QuantizeLinear, in graph order.
Graph quantize_qdq(const Graph& fp32, const std::map<std::string, Range>& ranges, const QuantizeSettings& settings,
                   std::vector<QuantizedTensor>* quantized);

// Symmetric s8 quantization of a constant f32 weight along `axis`, one scale per channel in
// [-127, 127] (bits = 8; scale = max|w| / 127; 1 for an all-zero channel) or [-63, 63]
// (bits = 7; scale = max|w| / 63). Other bit counts are an Error.
void quantize_weights_s8(const Tensor& w, int64_t axis, Tensor* q, Tensor* scales, int bits = 8);

}  // namespace octet::detail
