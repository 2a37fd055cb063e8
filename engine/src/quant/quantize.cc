// compile_int8: the import route (QDQ / QOperator models), octet's own route (calibrate,
// quantize, fuse), the per-tensor SQNR report, and the accuracy-aware fallback loop.
#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "ops/octet_ops.h"
#include "passes/pipeline.h"
#include "quant/calibration.h"
#include "quant/fuse_qdq.h"
#include "quant/quantize_qdq.h"
#include "quant/sqnr_report.h"
#include "runtime/compiler.h"

namespace octet::detail {
namespace {

// QDQ graph (shapes inferred) -> INT8 program; the QDQ graph stays in the program for export.
// fuse_into_conv: convs take the adds and lookups after them (every quantized value of the QDQ
// graph is then no longer a value of the program; the SQNR report runs a program without).
std::shared_ptr<Program> lower_qdq(Graph qdq, const CompileOptions& options, const kernels::IsaChoice& isa,
                                   bool fuse_into_conv = true) {
  Graph int8 = qdq;
  // The kept QDQ graph is only written out (export_qdq): weights it has unchanged from a model
  // file go back to the file, so that int8 holds the only copy and packing frees it.
  auto kept = std::make_shared<Graph>(std::move(qdq));
  kept->release_constants_equal_to_file();
  fuse_qdq(int8);
  run_pass_pipeline(int8, fuse_into_conv ? PassStage::int8 : PassStage::int8_unfused, options, isa);
  std::shared_ptr<Program> program = build_program(std::move(int8), options, isa);
  program->qdq_graph = std::move(kept);
  return program;
}

// octet's own quantization of a normalised FP32 graph with the given ranges and fallbacks.
std::shared_ptr<Program> quantize_and_build(const Graph& fp32_graph, const std::shared_ptr<const Program>& fp32,
                                            const std::map<std::string, Range>& ranges,
                                            const QuantizeSettings& settings, const CompileOptions& options,
                                            const kernels::IsaChoice& isa) {
  std::vector<QuantizedTensor> quantized;
  Graph qdq = quantize_qdq(fp32_graph, ranges, settings, &quantized);
  run_pass_pipeline(qdq, PassStage::qdq_shapes, options, isa);  // dtypes and shapes of the Q / DQ values
  std::shared_ptr<Program> program = lower_qdq(qdq, options, isa);
  // The report reads every quantized value: on the same program without the fusions into
  // convs (whose outputs are the same bits) when one applies.
  std::shared_ptr<const Program> observed = program;
  bool fused = false;
  for (const Node& n : program->graph.nodes)  // an octet.QLinearConvNhwc with a fused add or lookup
    fused = fused || (n.domain == kOctetDomain && n.op_type == kOpQLinearConvNhwc &&
                      n.inputs.size() > QLinearConvNhwcIn::kResidual);
  if (fused) observed = lower_qdq(qdq, options, isa, /*fuse_into_conv=*/false);
  program->quant_report = sqnr_report(fp32, observed, quantized, options.calibration_data);
  return program;
}

// Ops whose fallback changes the arithmetic (data movement shares its input's parameters).
const std::set<std::string> kFallbackOps = {"Conv", "MatMul", "Gemm", "Add", "AveragePool", "GlobalAveragePool",
                                            "Concat"};

std::string format_points(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

}  // namespace

std::shared_ptr<const Program> compile_int8(const Graph& model, const CompileOptions& options,
                                            const kernels::IsaChoice& isa) {
  CompileOptions fp32_options = options;
  fp32_options.precision = Precision::fp32;

  if (has_quantized_ops(model)) {
    // A model quantized by another tool (QDQ or QOperator), or an octet QDQ export: keep the
    // DequantizeLinear of constant weights as nodes so that fusion sees the 8-bit weights.
    Graph qdq = prepare_graph(model, fp32_options, isa, PassStage::qdq_import);
    return lower_qdq(std::move(qdq), options, isa);
  }

  if (options.calibration_method == CalibrationMethod::percentile &&
      !(options.percentile > 0.0f && options.percentile <= 100.0f))
    throw Error(model.where() + "CompileOptions::percentile must be in (0, 100], got " +
                std::to_string(options.percentile));
  if (options.weight_bits != 7 && options.weight_bits != 8)
    throw Error(model.where() + "CompileOptions::weight_bits must be 7 or 8, got " +
                std::to_string(options.weight_bits));
  if (options.evaluate && !std::isfinite(options.accuracy_budget_points))
    throw Error(model.where() + "CompileOptions::accuracy_budget_points must be finite");
  if (options.calibration_data.empty())
    throw Error(model.where() + "INT8 compilation of an FP32 model needs calibration samples "
                "(CompileOptions::calibration_data is empty)");
  // Calibration runs the FP32 graph with the reference kernels whatever the target ISA: the
  // quantization (scales, zero points, int32 biases) is then the same on every ISA, and so are
  // the INT8 results in exact mode.
  const kernels::IsaChoice ref_isa{kernels::Isa::ref, false};
  Graph prepared = prepare_graph(model, fp32_options, ref_isa);
  normalize_for_quantization(prepared);
  run_pass_pipeline(prepared, PassStage::calibration, options, ref_isa);
  std::shared_ptr<const Program> fp32 = build_program(prepared, fp32_options, ref_isa);

  std::vector<std::string> wanted;
  for (const Value& v : prepared.values)
    if (!v.is_const && v.dtype == DType::f32) wanted.push_back(v.name);
  const std::map<std::string, Histogram> hists = collect_histograms(fp32, options.calibration_data, wanted);
  std::map<std::string, Range> ranges;
  for (const auto& kv : hists)
    if (!kv.second.empty()) ranges[kv.first] = choose_range(kv.second, options.calibration_method, options.percentile);

  QuantizeSettings settings;
  settings.weight_bits = options.weight_bits;
  std::shared_ptr<Program> program = quantize_and_build(prepared, fp32, ranges, settings, options, isa);
  if (!options.evaluate) return program;

  // Accuracy-aware mode: layers fall back to FP32, lowest SQNR first, until the drop holds.
  const double fp32_score = options.evaluate(CompiledModel(build_program(prepared, fp32_options, isa)));
  double int8_score = options.evaluate(CompiledModel(program));
  std::vector<LayerError> fallbacks;
  std::set<std::string> tried;
  while (fp32_score - int8_score > options.accuracy_budget_points) {
    const LayerError* worst = nullptr;
    for (const LayerError& e : program->quant_report) {
      if (e.node.empty() || tried.count(e.node) || std::isnan(e.sqnr_db) || !kFallbackOps.count(e.op)) continue;
      if (!worst || e.sqnr_db < worst->sqnr_db) worst = &e;
    }
    if (!worst) break;  // everything quantizable already runs FP32
    LayerError fallback = *worst;
    tried.insert(fallback.node);
    settings.fp32_nodes.insert(fallback.node);
    const double before = int8_score;
    program = quantize_and_build(prepared, fp32, ranges, settings, options, isa);
    int8_score = options.evaluate(CompiledModel(program));
    fallback.fp32_fallback = true;
    fallback.note = "accuracy-aware fallback #" + std::to_string(fallbacks.size() + 1) + ": lowest SQNR (" +
                    format_points(fallback.sqnr_db) + " dB) of the quantized layers while the drop " +
                    format_points(fp32_score - before) + " exceeded the budget " +
                    format_points(options.accuracy_budget_points) + "; score " + format_points(before) + " -> " +
                    format_points(int8_score) + " (FP32 " + format_points(fp32_score) + ")";
    fallbacks.push_back(fallback);
  }
  for (LayerError& f : fallbacks) program->quant_report.push_back(std::move(f));
  return program;
}

}  // namespace octet::detail
