// RNN / GRU / LSTM in FP32 on the packed GEMM of the node's SIMD level: X W^T for every time
// step in one threaded GEMM (W packed once, biases in its epilogue), H R^T per step on the
// packed R, and the gates in one pass over each step's pre-activations.
#pragma once

#include <memory>
#include <string>

#include "ops/recurrent/recurrent_desc.h"

namespace octet::detail {

// Why the packed kernel declines the node (ref level, not f32, W / R / B / P not constant), or
// empty.
std::string recurrent_fast_problem(const RecurrentDesc& d, const NodeContext& c);
std::unique_ptr<OpKernel> create_recurrent_fast(const RecurrentDesc& d, const NodeContext& c);

}  // namespace octet::detail
