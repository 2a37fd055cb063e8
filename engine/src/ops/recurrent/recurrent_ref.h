// The reference RNN / GRU / LSTM kernel: the ONNX equations one batch entry and one time step
// at a time, in the tensor's own precision (f32 or f64; f16 / bf16 through ViaFloatKernel).
#pragma once

#include <memory>

#include "ops/recurrent/recurrent_desc.h"

namespace octet::detail {

std::unique_ptr<OpKernel> create_recurrent_ref(const RecurrentDesc& d, const NodeContext& c);

}  // namespace octet::detail
