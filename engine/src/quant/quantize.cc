#include "quant/quantize.h"

#include <cmath>
#include <limits>

#include "passes/passes.h"
#include "runtime/compiler.h"
#include "runtime/session_state.h"

namespace octet::detail {
namespace {

// How many calibration samples the per-tensor SQNR report replays through both programs.
constexpr size_t kReportSamples = 16;

std::vector<LayerError> sqnr_report(const std::shared_ptr<const Program>& fp32,
                                    const std::shared_ptr<const Program>& int8,
                                    const std::vector<QuantizedTensor>& quantized,
                                    const std::vector<std::map<std::string, Tensor>>& samples) {
  std::vector<LayerError> report;
  std::map<std::string, size_t> by_fp32, by_q;
  for (size_t i = 0; i < quantized.size(); ++i) {
    by_fp32[quantized[i].fp32_name] = i;
    by_q[quantized[i].quantized_name] = i;
  }
  std::vector<double> signal(quantized.size(), 0), noise(quantized.size(), 0);
  std::vector<char> seen(quantized.size(), 0);
  std::vector<Tensor> reference(quantized.size());
  SessionState f(fp32), q(int8);
  auto fp32_index = [&](int id) -> long {
    auto it = by_fp32.find(fp32->graph.values[id].name);
    return it == by_fp32.end() ? -1 : static_cast<long>(it->second);
  };
  f.observer = [&](int id, const Tensor& t) {
    long k = fp32_index(id);
    if (k >= 0) reference[k] = t.clone();
  };
  q.observer = [&](int id, const Tensor& t) {
    auto it = by_q.find(int8->graph.values[id].name);
    if (it == by_q.end() || t.dtype() != DType::u8) return;
    size_t k = it->second;
    const Tensor& ref = reference[k];
    if (ref.empty() || ref.numel() != t.numel()) return;
    const QuantizedTensor& qt = quantized[k];
    for (int64_t e = 0; e < t.numel(); ++e) {
      double x = ref.data_as<float>()[e];
      double d = (static_cast<int32_t>(t.data_as<uint8_t>()[e]) - qt.zero_point) * static_cast<double>(qt.scale);
      signal[k] += x * x;
      noise[k] += (x - d) * (x - d);
    }
    seen[k] = 1;
  };
  for (size_t s = 0; s < samples.size() && s < kReportSamples; ++s) {
    for (auto& r : reference) r = Tensor();
    for (int id : fp32->graph.inputs) {  // inputs are not written by a step
      long k = fp32_index(id);
      if (k >= 0) reference[k] = samples[s].at(fp32->graph.values[id].name);
    }
    f.run(samples[s]);
    q.run(samples[s]);
  }
  for (size_t k = 0; k < quantized.size(); ++k) {
    LayerError e;
    e.tensor = quantized[k].fp32_name;
    e.op = quantized[k].producer_op;
    e.scale = quantized[k].scale;
    e.zero_point = quantized[k].zero_point;
    if (!seen[k]) e.sqnr_db = std::numeric_limits<double>::quiet_NaN();
    else if (noise[k] == 0) e.sqnr_db = std::numeric_limits<double>::infinity();
    else e.sqnr_db = 10.0 * std::log10(signal[k] / noise[k]);
    report.push_back(e);
  }
  return report;
}

}  // namespace

std::shared_ptr<const Program> compile_int8(const Graph& model, const CompileOptions& options,
                                            const kernels::IsaChoice& isa) {
  CompileOptions fp32_options = options;
  fp32_options.precision = Precision::fp32;
  Graph prepared = prepare_graph(model, fp32_options, isa, /*keep_dequantize=*/has_quantized_ops(model));
  PassOptions po;
  po.isa = isa;
  po.max_memory_bytes = options.max_memory_bytes;

  if (has_quantized_ops(prepared)) {
    // A model quantized by another tool (QDQ or QOperator): fuse and run it as it is.
    auto qdq = std::make_shared<Graph>(prepared);
    Graph int8 = prepared;
    fuse_qdq(int8);
    infer_and_fold(int8, po);
    eliminate_dead_code(int8);
    int8.compact();
    auto program = build_program(std::move(int8), options, isa);
    program->qdq_graph = qdq;
    return program;
  }

  if (options.calibration_data.empty())
    throw Error(model.where() + "INT8 compilation of an FP32 model needs calibration samples "
                "(CompileOptions::calibration_data is empty)");
  std::shared_ptr<const Program> fp32 = build_program(prepared, fp32_options, isa);
  std::vector<std::string> wanted;
  for (const Value& v : prepared.values)
    if (!v.is_const && v.dtype == DType::f32) wanted.push_back(v.name);
  std::map<std::string, Histogram> hists = collect_histograms(fp32, options.calibration_data, wanted);
  std::map<std::string, Range> ranges;
  for (const auto& kv : hists)
    if (!kv.second.empty()) ranges[kv.first] = choose_range(kv.second, options.calibration_method, options.percentile);

  std::vector<QuantizedTensor> quantized;
  auto qdq = std::make_shared<Graph>(insert_qdq(prepared, ranges, &quantized));
  PassOptions keep = po;
  keep.keep_dequantize = true;
  infer_and_fold(*qdq, keep);  // dtypes and shapes of the new Q / DQ values
  Graph int8 = *qdq;
  fuse_qdq(int8);
  infer_and_fold(int8, po);
  eliminate_dead_code(int8);
  int8.compact();
  std::shared_ptr<Program> program = build_program(std::move(int8), options, isa);
  program->qdq_graph = qdq;
  program->quant_report = sqnr_report(fp32, program, quantized, options.calibration_data);
  return program;
}

}  // namespace octet::detail
