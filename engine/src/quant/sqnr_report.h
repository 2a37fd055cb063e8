// The per-tensor error report of an INT8 model quantized by octet: each quantized activation,
// dequantized, against the same tensor of the FP32 model, over calibration samples.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "octet/octet.h"
#include "quant/quantize_qdq.h"
#include "runtime/program.h"

namespace octet::detail {

// How many calibration samples the report replays through both programs (the first ones).
constexpr size_t kSqnrSamples = 32;

// SQNR = 10 log10(sum x^2 / sum (x - dequantized)^2) per tensor of `quantized`, in its order.
std::vector<LayerError> sqnr_report(const std::shared_ptr<const Program>& fp32,
                                    const std::shared_ptr<const Program>& int8,
                                    const std::vector<QuantizedTensor>& quantized,
                                    const std::vector<std::map<std::string, Tensor>>& samples);

}  // namespace octet::detail
