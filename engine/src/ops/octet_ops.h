// The contracts of octet's own ops: the ONNX domain "octet" of the internal (fused and layout)
// ops the passes and the quantizer write, their names, and the input slots of the ops that
// take more inputs than the ONNX op they stand for. The passes that build these nodes, the
// ops that read them and the tests name them from here only.
#pragma once

#include <cstddef>

namespace octet::detail {

// The domain of every op below.
inline constexpr const char* kOctetDomain = "octet";

// The op names (op_type) in kOctetDomain.
// Conv (FP32) with a fused epilogue: residual Z and activation (fuse_conv_epilogue, conv_fast.h).
// Same name as ONNX Conv; the domain tells them apart.
inline constexpr const char* kOpConv = "Conv";
// octet.Conv's inputs and attributes on channels-last tensors (layout pass, conv_nhwc.cc).
inline constexpr const char* kOpConvNhwc = "ConvNhwc";
// QLinearConv on channels-last tensors, with an optional fused QLinearAdd and lookup
// (layout pass, ops/qconv/).
inline constexpr const char* kOpQLinearConvNhwc = "QLinearConvNhwc";
// MaxPool on u8 / s8 (fuse_qdq, quant/quant_maxpool.cc). Same name as ONNX MaxPool.
inline constexpr const char* kOpMaxPool = "MaxPool";
// octet.MaxPool (8-bit) and MaxPool (FP32) on channels-last tensors (pool_nhwc.cc).
inline constexpr const char* kOpMaxPoolNhwc = "MaxPoolNhwc";
// FP32 AveragePool / GlobalAveragePool on channels-last tensors (pool_nhwc.cc).
inline constexpr const char* kOpAveragePoolNhwc = "AveragePoolNhwc";
// com.microsoft QLinear[Global]AveragePool on channels-last tensors (quant_contrib.cc).
inline constexpr const char* kOpQLinearAveragePoolNhwc = "QLinearAveragePoolNhwc";
// FP32 BatchNormalization (inference) on channels-last tensors (norm.cc).
inline constexpr const char* kOpBatchNormNhwc = "BatchNormNhwc";
// An 8-bit element-wise function as a 256-byte table (fuse_qdq, quant_lookup.cc).
inline constexpr const char* kOpLookupQ8 = "LookupQ8";
// The layout conversions NCHW -> NHWC and back (layout pass, shape/layout_convert.cc).
inline constexpr const char* kOpToNhwc = "ToNHWC";
inline constexpr const char* kOpToNchw = "ToNCHW";

// Input slots of octet.Conv and octet.ConvNhwc: ONNX Conv's X, W, optional B, then the
// optional residual Z of the output's shape, added before the activation.
struct FusedConvIn {
  enum : size_t { kX = 0, kW = 1, kB = 2, kZ = 3, kCount = 4 };
};

// Input slots of octet.QLinearConvNhwc: QLinearConv's 0-8, then the fused QLinearAdd
// (output = add(conv, residual); kResidual present or all five absent) and the fused lookup
// table (a constant u8 tensor of 256 elements applied to the 8-bit output, after the add).
struct QLinearConvNhwcIn {
  enum : size_t {
    kX = 0,
    kXScale = 1,
    kXZero = 2,
    kW = 3,
    kWScale = 4,
    kWZero = 5,
    kYScale = 6,
    kYZero = 7,
    kB = 8,
    kResidual = 9,        // the add's other operand, of the output's type and shape
    kResidualScale = 10,  // its scale and zero point
    kResidualZero = 11,
    kSumScale = 12,  // the add's output scale and zero point
    kSumZero = 13,
    kLookupTable = 14,
    kCount = 15
  };
};

// Input slots of octet.LookupQ8: Y[i] = Table[X[i]] (X's bytes as u8 indices).
struct LookupQ8In {
  enum : size_t { kX = 0, kTable = 1, kCount = 2 };
};

}  // namespace octet::detail
