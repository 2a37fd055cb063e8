// The graph passes. Which of them run, and in which order, is passes/pipeline.h
// (pass_pipeline), for the FP32 and the INT8 routes alike.
#pragma once

#include <cstdint>

#include "octet/graph/graph.h"
#include "octet/kernels/isa.h"

namespace octet::detail {

struct PassOptions {
  kernels::IsaChoice isa;
  uint64_t max_memory_bytes = uint64_t(16) << 30;
  // QDQ graphs keep DequantizeLinear of constant weights as nodes (folding them would turn
  // the quantized weights back into FP32 constants).
  bool keep_dequantize = false;
};

// Infers every value's dtype and shape in topological order. A node whose inputs are all
// constant is computed right away with its own kernel and becomes a constant (this is also
// how Shape -> Gather -> Reshape chains resolve). Throws Error with node context.
void infer_and_fold(Graph& g, const PassOptions& options);

// Identity and inference-mode Dropout forward their input.
void remove_identities(Graph& g);

// BatchNormalization after a Conv (or Gemm) with constant weights folds into that Conv's
// weights and bias.
void fold_batchnorm(Graph& g);

// FP32 Conv -> [Add residual of the same shape] -> [Relu | Clip] chains become one fused
// "octet"/"Conv" node (see ops/conv/conv_fast.h). Not for graphs the quantizer will read: it
// knows only ONNX ops.
void fuse_conv_epilogue(Graph& g);

// FP32 transformer patterns torch exports before the ops existed: the decomposed layer
// normalisation (ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div [, Mul scale]
// [, Add bias]) becomes one LayerNormalization (fuse_layernorm.cc); the erf GELU
// (x * 0.5 * (1 + Erf(x / sqrt 2)), in the orders torch writes) one Gelu (fuse_gelu.cc). Their
// kernels are the registry's layernorm_f32 and gelu_f32. Not for graphs the quantizer will read.
void fuse_layernorm(Graph& g);
void fuse_gelu(Graph& g);

// Convolutions with a channels-last kernel (8-bit ones, and FP32 ones when fp32), and the pools,
// concats and element-wise ops between them, run on NHWC twins of their values; conversions
// only where the layouts meet (layout_nhwc.cc). 8-bit results are bit-identical. Not on the
// reference ISA. fuse_into_conv: an 8-bit conv takes the QLinearAdd, then the octet.LookupQ8,
// that alone reads its output (the same bits; but the conv's own output is no longer a value of
// the program). Follow with eliminate_dead_code.
void plan_nhwc_layout(Graph& g, const PassOptions& options, bool fp32, bool fuse_into_conv);

// Drops nodes none of whose outputs reach a graph output.
void eliminate_dead_code(Graph& g);

}  // namespace octet::detail
