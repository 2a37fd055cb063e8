// The constant quantization parameters that the INT8 fast kernels (convolution and matrix
// multiplication with constant s8 weights) read at kernel creation, and the requantizing
// scales built from them. QLinearConv and QLinearMatMul put x, w and y parameters at the same
// input positions.
#pragma once

#include <cstdint>
#include <vector>

#include "octet/kernels/gemm_u8s8.h"
#include "ops/op_registry.h"

namespace octet::detail {

// The activation / output parameters of a node, all compile-time constants.
struct ConstQParams {
  float x_scale = 1, y_scale = 1;
  int32_t x_zero = 0, y_zero = 0;  // in the tensors' own domain
  std::vector<float> w_scale;      // 1 or N values
  DType x_type = DType::u8, y_type = DType::u8;
};

// Reads a per-tensor scale / zero-point pair (zero point optional) from constants.
bool const_pair(const NodeContext& ctx, size_t si, size_t zi, float* scale, int32_t* zero);
// Constant s8 weights whose zero points are all 0 (absent or explicit).
bool s8_weights_zero_free(const NodeContext& ctx, size_t wi, size_t zi);
// Reads x / w / y parameters of QLinearConv / QLinearMatMul (same input positions).
bool read_qlinear_params(const NodeContext& ctx, int64_t channels, ConstQParams* p);
// scale[n] = x_scale * w_scale[n] / y_scale, in float, in that order (the reference's order).
std::vector<float> requant_scales(const ConstQParams& p, int64_t n0, int64_t count);
// The input zero point in the u8 domain the kernels compute in (s8 inputs run as x + 128).
inline int32_t u8_zero(const ConstQParams& p) { return p.x_type == DType::s8 ? p.x_zero + 128 : p.x_zero; }
inline kernels::QOutType out_type_of(DType t) {
  return t == DType::s8 ? kernels::QOutType::s8 : kernels::QOutType::u8;
}

}  // namespace octet::detail
