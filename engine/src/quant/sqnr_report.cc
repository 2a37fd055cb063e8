#include "quant/sqnr_report.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>

#include "runtime/session_state.h"

namespace octet::detail {

std::vector<LayerError> sqnr_report(const std::shared_ptr<const Program>& fp32,
                                    const std::shared_ptr<const Program>& int8,
                                    const std::vector<QuantizedTensor>& quantized,
                                    const std::vector<std::map<std::string, Tensor>>& samples) {
  const size_t count = quantized.size();
  // Value id -> index into `quantized`, in each program.
  std::vector<long> fp32_slot(fp32->graph.values.size(), -1), int8_slot(int8->graph.values.size(), -1);
  for (size_t k = 0; k < count; ++k) {
    const int f = fp32->graph.find_value(quantized[k].fp32_name);
    const int q = int8->graph.find_value(quantized[k].quantized_name);
    if (f >= 0) fp32_slot[f] = static_cast<long>(k);
    if (q >= 0) int8_slot[q] = static_cast<long>(k);
  }
  // A value the layout pass keeps only as its NHWC twin is compared through the twin.
  std::map<std::string, long> by_name;
  for (size_t k = 0; k < count; ++k) by_name.emplace(quantized[k].quantized_name, static_cast<long>(k));
  for (size_t v = 0; v < int8->graph.values.size(); ++v) {
    const Value& val = int8->graph.values[v];
    if (val.nhwc_of.empty() || int8->graph.find_value(val.nhwc_of) >= 0) continue;
    auto it = by_name.find(val.nhwc_of);
    if (it != by_name.end()) int8_slot[v] = it->second;
  }
  std::vector<double> signal(count, 0), noise(count, 0);
  std::vector<char> seen(count, 0);
  std::vector<Tensor> reference(count);  // this sample's FP32 values

  SessionState f(fp32), q(int8);
  f.observer = [&](int id, const Tensor& t) {
    if (fp32_slot[id] >= 0) reference[fp32_slot[id]] = t.clone();
  };
  auto compare = [&](size_t k, const Tensor& t) {
    const Tensor& ref = reference[k];
    if (ref.empty() || ref.dtype() != DType::f32 || ref.numel() != t.numel()) return;
    const QuantizedTensor& qt = quantized[k];
    const float* x = ref.data_as<float>();
    if (qt.float_output) {
      if (t.dtype() != DType::f32) return;
      for (int64_t e = 0; e < t.numel(); ++e) {
        const double d = t.data_as<float>()[e];
        signal[k] += double(x[e]) * x[e];
        noise[k] += (x[e] - d) * (x[e] - d);
      }
      seen[k] = 1;
      return;
    }
    if (t.dtype() != DType::u8 && t.dtype() != DType::s8) return;
    const bool s8 = t.dtype() == DType::s8;
    const uint8_t* u = t.data_as<uint8_t>();
    for (int64_t e = 0; e < t.numel(); ++e) {
      const int32_t v = s8 ? static_cast<int8_t>(u[e]) : u[e];
      const double d = static_cast<double>(static_cast<float>(v - qt.zero_point) * qt.scale);
      signal[k] += double(x[e]) * x[e];
      noise[k] += (x[e] - d) * (x[e] - d);
    }
    seen[k] = 1;
  };
  q.observer = [&](int id, const Tensor& t) {
    if (int8_slot[id] < 0) return;
    if (int8->graph.values[id].nhwc_of.empty() || t.rank() != 4) {
      compare(int8_slot[id], t);
      return;
    }
    // [N, H, W, C] -> [N, C, H, W], the FP32 value's element order.
    const Shape& s = t.shape();
    Tensor nchw(t.dtype(), {s[0], s[3], s[1], s[2]});
    const size_t es = dtype_size(t.dtype());
    const int64_t hw = s[1] * s[2];
    const uint8_t* src = static_cast<const uint8_t*>(t.data());
    uint8_t* dst = static_cast<uint8_t*>(nchw.data());
    for (int64_t n = 0; n < s[0]; ++n)
      for (int64_t p = 0; p < hw; ++p)
        for (int64_t c = 0; c < s[3]; ++c)
          std::memcpy(dst + ((n * s[3] + c) * hw + p) * es, src + ((n * hw + p) * s[3] + c) * es, es);
    compare(int8_slot[id], nchw);
  };
  for (size_t s = 0; s < samples.size() && s < kSqnrSamples; ++s) {
    for (Tensor& r : reference) r = Tensor();
    for (int id : fp32->graph.inputs)  // graph inputs are not written by any step
      if (fp32_slot[id] >= 0) reference[fp32_slot[id]] = samples[s].at(fp32->graph.values[id].name);
    f.run(samples[s]);
    q.run(samples[s]);
  }

  std::vector<LayerError> report;
  for (size_t k = 0; k < count; ++k) {
    LayerError e;
    e.tensor = quantized[k].fp32_name;
    e.op = quantized[k].producer_op;
    e.node = quantized[k].producer_node;
    e.scale = quantized[k].scale;
    e.zero_point = quantized[k].zero_point;
    if (quantized[k].float_output) e.note = "f32 output (QGemm): SQNR of the float result";
    if (!seen[k]) e.sqnr_db = std::numeric_limits<double>::quiet_NaN();
    else if (noise[k] == 0) e.sqnr_db = std::numeric_limits<double>::infinity();
    else e.sqnr_db = 10.0 * std::log10(signal[k] / noise[k]);
    report.push_back(std::move(e));
  }
  return report;
}

}  // namespace octet::detail
