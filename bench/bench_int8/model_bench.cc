#include "bench_int8/model_bench.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "bench_int8/dataset.h"
#include "bench_int8/metrics.h"
#include "bench_int8/progress.h"
#include "bench_int8/runner.h"
#include "bench_int8/sample_inputs.h"
#include "bench_int8/sample_plan.h"
#include "bench_int8/throughput.h"
#include "octet/octet.h"

namespace octet::bench {
namespace fs = std::filesystem;
namespace {

// Architecture-only models have no data: a few N(0,1) inputs calibrate them (their INT8
// accuracy is not measured, only their speed).
constexpr int kSyntheticCalibrationSamples = 32;

double mib(size_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return out;
}

void apply_calibration_method(const std::string& method, CompileOptions* o) {
  if (method == "minmax") o->calibration_method = CalibrationMethod::minmax;
  else if (method == "percentile") o->calibration_method = CalibrationMethod::percentile;
  else if (method == "entropy") o->calibration_method = CalibrationMethod::entropy;
  else if (method == "mse") o->calibration_method = CalibrationMethod::mse;
  // "auto": CompileOptions' own default, i.e. the engine's choice.
}

// Largest |a - b| over every output; infinity when the outputs do not line up.
double max_output_difference(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    const Tensor &x = ia->second, &y = ib->second;
    if (ia->first != ib->first || x.shape() != y.shape() || x.dtype() != y.dtype()) return INFINITY;
    if (x.dtype() != DType::f32) {
      if (std::memcmp(x.data(), y.data(), x.nbytes()) != 0) return INFINITY;
      continue;
    }
    for (int64_t i = 0; i < x.numel(); ++i)
      worst = std::max(worst, double(std::abs(x.data_as<float>()[i] - y.data_as<float>()[i])));
  }
  return worst;
}

// The compiled models of one model, built lazily and kept for every use.
class ModelVariants {
 public:
  ModelVariants(const Model& model, const BenchContext& ctx, std::vector<Inputs> calibration)
      : model_(model), ctx_(ctx), calibration_(std::move(calibration)) {}

  // FP32 for an ISA column's FP32 level; batch > 1 binds the symbolic batch dims.
  const CompiledModel& fp32(const std::string& isa, const std::map<std::string, int64_t>& dims = {}) {
    const std::string key = fp32_isa_of(isa) + key_suffix(dims);
    auto it = fp32_.find(key);
    if (it == fp32_.end()) {
      CompileOptions o;
      o.isa = fp32_isa_of(isa);
      o.threads = ctx_.threads;
      o.dim_values = dims;
      it = fp32_.emplace(key, CompiledModel::compile(model_, o)).first;
    }
    return it->second;
  }

  // Builds every ISA column's INT8 model. Calibration runs once, on the first column; the
  // result is exported as QDQ and re-imported for every column, so that all columns run the
  // very same quantization (and ONNX Runtime runs that file too). When export or re-import
  // is unavailable, or the re-imported model disagrees with the direct one, each column is
  // calibrated on its own.
  void build_int8() {
    CompileOptions o;
    o.precision = Precision::int8;
    o.isa = ctx_.isas.front();
    o.threads = ctx_.threads;
    apply_calibration_method(ctx_.options.calibration, &o);
    o.weight_bits = ctx_.options.weight_bits;
    o.calibration_data = calibration_;
    std::optional<CompiledModel> direct;
    {
      ProgressBar bar("calibrating INT8 (" + std::to_string(calibration_.size()) + " samples, " +
                          ctx_.options.calibration + ") on " + o.isa,
                      0);
      try {
        direct = CompiledModel::compile(model_, o);
        for (const LayerError& layer : direct->quantization_report())
          if (!layer.fp32_fallback && layer.scale > 0) activation_scale_[layer.tensor] = layer.scale;
        bar.finish("done");
      } catch (const Error& e) {
        bar.finish("failed");
        for (const std::string& isa : ctx_.isas) int8_errors_[isa] = std::string("INT8 compile: ") + e.what();
        route_ = "unavailable";
        return;
      }
    }
    std::string why_not_qdq;
    try {
      const std::string path = (fs::path(ctx_.work_dir) / (file_safe(model_name_) + ".int8.qdq.onnx")).string();
      direct->export_qdq(path);
      qdq_path_ = path;
      qdq_model_ = Model::load(path);
      const CompiledModel reloaded = compile_qdq(ctx_.isas.front(), {});
      // The re-import must be the same INT8 model: compare on a calibration sample.
      Session a = direct->create_session(), b = reloaded.create_session();
      const double diff = max_output_difference(a.run(calibration_.front()), b.run(calibration_.front()));
      if (diff != 0) {
        why_not_qdq = "re-imported QDQ model differs from the calibrated one (max |diff| " + std::to_string(diff) + ")";
        qdq_model_.reset();
      }
    } catch (const Error& e) {
      why_not_qdq = e.what();
      qdq_model_.reset();
    }
    route_ = qdq_model_ ? "calibrated once on " + ctx_.isas.front() + ", QDQ export re-imported for every ISA column"
                        : "calibrated per ISA column (QDQ route unavailable: " + why_not_qdq + ")";
    for (size_t i = 0; i < ctx_.isas.size(); ++i) {
      const std::string& isa = ctx_.isas[i];
      try {
        if (qdq_model_) {
          int8_.emplace(isa, compile_qdq(isa, {}));
        } else if (i == 0) {
          int8_.emplace(isa, *direct);
        } else {
          o.isa = isa;
          int8_.emplace(isa, CompiledModel::compile(model_, o));
        }
      } catch (const Error& e) {
        int8_errors_[isa] = "INT8 compile (" + isa + "): " + e.what();
      }
    }
  }

  const CompiledModel* int8(const std::string& isa) const {
    auto it = int8_.find(isa);
    return it == int8_.end() ? nullptr : &it->second;
  }

  // INT8 with bound batch dims: only through the QDQ route (calibration samples are batch 1).
  CompiledModel int8_batched(const std::string& isa, const std::map<std::string, int64_t>& dims) {
    if (dims.empty()) {
      if (const CompiledModel* m = int8(isa)) return *m;
      throw Error(int8_error(isa));
    }
    if (!qdq_model_) throw Error("INT8 at batch > 1 needs the QDQ re-import route (" + route_ + ")");
    return compile_qdq(isa, dims);
  }

  std::string int8_error(const std::string& isa) const {
    auto it = int8_errors_.find(isa);
    return it == int8_errors_.end() ? "INT8 model unavailable" : it->second;
  }
  const std::string& qdq_path() const { return qdq_path_; }
  const std::string& route() const { return route_; }
  // The u8 scale octet's calibration chose for an activation (one LSB of it), if quantized.
  std::optional<float> activation_scale(const std::string& tensor) const {
    auto it = activation_scale_.find(tensor);
    return it == activation_scale_.end() ? std::nullopt : std::optional<float>(it->second);
  }
  void set_name(const std::string& name) { model_name_ = name; }

 private:
  CompiledModel compile_qdq(const std::string& isa, const std::map<std::string, int64_t>& dims) {
    CompileOptions q;
    q.precision = Precision::int8;  // a QDQ model: the quantization is in the file
    q.isa = isa;
    q.threads = ctx_.threads;
    q.dim_values = dims;
    return CompiledModel::compile(*qdq_model_, q);
  }
  static std::string key_suffix(const std::map<std::string, int64_t>& dims) {
    std::string s;
    for (const auto& [k, v] : dims) s += "|" + k + "=" + std::to_string(v);
    return s;
  }

  const Model& model_;
  const BenchContext& ctx_;
  std::vector<Inputs> calibration_;
  std::string model_name_;
  std::map<std::string, CompiledModel> fp32_;
  std::map<std::string, CompiledModel> int8_;
  std::map<std::string, std::string> int8_errors_;
  std::map<std::string, float> activation_scale_;
  std::optional<Model> qdq_model_;
  std::string qdq_path_;
  std::string route_;
};

// Engine messages start with the model's path; the row already names the model.
std::string without_path(std::string message, const std::string& path) {
  for (const std::string& prefix : {path + ": ", path + " "}) {
    size_t at;
    while ((at = message.find(prefix)) != std::string::npos) message.erase(at, prefix.size());
  }
  return message;
}

Row& row_of(std::vector<Row>& rows, const std::string& isa) {
  for (Row& r : rows)
    if (r.isa == isa) return r;
  throw Error("internal: no row for " + isa);
}

void add_error(Row& row, const std::string& e) {
  if (std::find(row.errors.begin(), row.errors.end(), e) == row.errors.end()) row.errors.push_back(e);
}

SpeedFigures speed_of(const ThroughputResult& r) { return {r.ips, r.latency_median_ms, r.latency_p90_ms}; }

ThroughputResult timed(const std::string& label, const CompiledModel& compiled, const Inputs& inputs,
                       const BenchContext& ctx, int batch) {
  ThroughputConfig config;
  config.streams = ctx.options.streams;
  config.spin_us = ctx.options.spin_us;
  config.seconds = ctx.options.time_s;
  config.warmup_seconds = std::min(1.0, std::max(0.2, ctx.options.time_s / 5));
  config.batch = batch;
  ProgressBar bar(label, 100);
  ThroughputResult r = measure_throughput(compiled, inputs, config, [&](double f) { bar.set(static_cast<int64_t>(f * 100)); });
  bar.set(100);
  char note[64];
  std::snprintf(note, sizeof note, "%.1f inferences/s", r.ips);
  bar.finish(note);
  return r;
}

// The measurement of a round whose rate is the median of all rounds (lower middle for an even
// count), so its latencies go with the rate reported.
ThroughputResult median_run(std::vector<ThroughputResult> runs) {
  std::sort(runs.begin(), runs.end(), [](const ThroughputResult& a, const ThroughputResult& b) { return a.ips < b.ips; });
  return runs[(runs.size() - 1) / 2];
}

// Times the first ISA column (its FP32 level and its INT8 model) and ONNX Runtime (the FP32
// model and octet's QDQ export) in ctx.options.rounds alternating rounds, each figure for
// --time. Fills the column's FP32 figure (median round) into fp32_speed, its INT8 figure and
// memory into its row, the INT8/FP32 speed-up as the median per-round ratio into *speedup, and
// returns ORT's figures with the octet / ORT ratios (median per-round ratios).
PeerFigures time_in_rounds(const ModelEntry& entry, ModelVariants& variants, const std::string& lead,
                           const std::map<std::string, int64_t>& dims, const Inputs& sample, const BenchContext& ctx,
                           int batch, std::map<std::string, ThroughputResult>* fp32_speed,
                           std::map<std::string, std::string>* fp32_errors, std::vector<Row>* rows,
                           std::optional<double>* speedup) {
  const Options& opt = ctx.options;
  const std::string level = fp32_isa_of(lead);
  Row& row = row_of(*rows, lead);
  PeerFigures p;
  p.rounds = opt.rounds;
  std::vector<std::string> errors;
  auto note = [&](const std::string& e) {
    if (std::find(errors.begin(), errors.end(), e) == errors.end()) errors.push_back(e);
  };
  std::vector<ThroughputResult> fp32_runs, int8_runs;
  std::vector<double> ort_fp32, ort_int8, fp32_ratios, int8_ratios, speedups;
  std::optional<CompiledModel> int8;
  for (int k = 0; k < opt.rounds; ++k) {
    const std::string round = opt.rounds > 1 ? " round " + std::to_string(k + 1) + "/" + std::to_string(opt.rounds) : "";
    std::optional<double> octet_fp32, octet_int8, peer_fp32, peer_int8;
    try {
      fp32_runs.push_back(timed("timing FP32 [" + level + "]" + round, variants.fp32(level, dims), sample, ctx, batch));
      octet_fp32 = fp32_runs.back().ips;
    } catch (const Error& e) {
      (*fp32_errors)[level] = "FP32 timing (" + level + "): " + e.what();
    }
    if (variants.int8(lead)) {
      try {
        if (!int8) int8 = variants.int8_batched(lead, dims);
        int8_runs.push_back(timed("timing INT8 [" + lead + "]" + round, *int8, sample, ctx, batch));
        octet_int8 = int8_runs.back().ips;
      } catch (const Error& e) {
        add_error(row, std::string("INT8 timing: ") + e.what());
      }
    }
    try {
      peer_fp32 = ort_throughput(*ctx.peer, entry.onnx_path, ctx.threads, opt.streams, opt.time_s, entry.test_data_dir).ips;
      progress_note("ORT FP32" + round + ": " + std::to_string(*peer_fp32) + " inferences/s");
      ort_fp32.push_back(*peer_fp32);
    } catch (const Error& e) {
      note(e.what());
    }
    if (!variants.qdq_path().empty()) {
      try {
        peer_int8 = ort_throughput(*ctx.peer, variants.qdq_path(), ctx.threads, opt.streams, opt.time_s, entry.test_data_dir).ips;
        progress_note("ORT INT8 (octet QDQ)" + round + ": " + std::to_string(*peer_int8) + " inferences/s");
        ort_int8.push_back(*peer_int8);
      } catch (const Error& e) {
        note(e.what());
      }
    }
    if (octet_fp32 && peer_fp32 && *peer_fp32 > 0) fp32_ratios.push_back(*octet_fp32 / *peer_fp32);
    if (octet_int8 && peer_int8 && *peer_int8 > 0) int8_ratios.push_back(*octet_int8 / *peer_int8);
    if (octet_fp32 && octet_int8 && *octet_fp32 > 0) speedups.push_back(*octet_int8 / *octet_fp32);
  }
  if (!fp32_runs.empty()) {
    (*fp32_speed)[level] = median_run(fp32_runs);
    fp32_errors->erase(level);
  }
  if (!int8_runs.empty()) {
    row.int8_speed = speed_of(median_run(int8_runs));
    row.int8_mem_mb = mib(int8->weights_bytes() + int8->arena_bytes());
  }
  if (!speedups.empty()) *speedup = median(speedups);
  if (!ort_fp32.empty()) p.fp32_ips = median(ort_fp32);
  if (!ort_int8.empty()) p.int8_ips = median(ort_int8);
  if (!fp32_ratios.empty()) p.fp32_ratio = median(fp32_ratios);
  if (!int8_ratios.empty()) p.int8_ratio = median(int8_ratios);
  for (const std::string& e : errors) p.error += (p.error.empty() ? "" : "; ") + e;
  return p;
}

}  // namespace

ModelOutcome bench_model(const ModelEntry& entry, const BenchContext& ctx) {
  ModelOutcome outcome;
  const Options& opt = ctx.options;
  for (const std::string& isa : ctx.isas) {
    Row r;
    r.model = entry.name;
    r.isa = isa;
    r.source = source_name(entry.source);
    r.classic_row = entry.classic_row;
    r.dataset = entry.dataset ? entry.dataset->name : "";
    r.no_data = entry.has_labelled_data() ? "" : entry.no_data_reason;
    r.fp32_reference = entry.reference_top1;
    if (ctx.published && !entry.classic_row.empty()) {
      r.published_drop = ctx.published->drop(entry.classic_row, isa);
      r.published_speedup = ctx.published->speedup(entry.classic_row, isa);
    }
    if (ctx.peer) r.peer = PeerFigures{};
    outcome.rows.push_back(std::move(r));
  }
  auto fail_all = [&](const std::string& e) {
    for (Row& r : outcome.rows) add_error(r, without_path(e, entry.onnx_path));
  };
  progress_note("== " + entry.name + " (" + source_name(entry.source) + ", " + entry.onnx_path + ")");

  std::optional<Model> model;
  try {
    model = Model::load(entry.onnx_path);
  } catch (const Error& e) {
    fail_all(std::string("load: ") + e.what());
    outcome.failed_entirely = true;
    return outcome;
  }
  const std::vector<TensorInfo> input_infos = model->inputs();
  {
    // The metric's printed name before any sample is seen (throughput-only runs).
    const std::vector<TensorInfo> outs = model->outputs();
    int64_t classes = 1;
    if (!outs.empty())
      for (size_t d = 1; d < outs[0].shape.size(); ++d) classes *= std::max<int64_t>(1, outs[0].shape[d]);
    for (Row& r : outcome.rows)
      if (r.no_data.empty()) r.metric = classes <= 2 ? "accuracy" : "top-1";
  }

  // ---------------------------------------------------------------- data and calibration
  std::unique_ptr<Dataset> eval_set, train_set;
  SamplePlan plan;
  bool have_data = false;
  std::vector<Inputs> calibration;
  std::string calibration_label;
  if (entry.has_labelled_data()) {
    try {
      eval_set = open_dataset(entry, Split::evaluation);
      if (has_train_split(entry)) train_set = open_dataset(entry, Split::train);
      plan = plan_samples(eval_set->size(), train_set ? train_set->size() : 0, opt.calib_samples, opt.limit);
      const Dataset& source = train_set ? *train_set : *eval_set;
      ProgressBar bar("calibration samples (" + std::string(calibration_source_name(plan.source)) + ")",
                      static_cast<int64_t>(plan.calibration.size()));
      for (int64_t i : plan.calibration) {
        calibration.push_back(source.inputs(i));
        bar.advance();
      }
      bar.finish();
      have_data = true;
      calibration_label = calibration_source_name(plan.source);
    } catch (const Error& e) {
      fail_all(std::string("dataset: ") + e.what());
      calibration.clear();
    }
  }
  if (!have_data) {
    try {
      const int count = std::min(opt.calib_samples, kSyntheticCalibrationSamples);
      calibration = synthetic_samples(input_infos, count, entry.test_data_dir);
      calibration_label = "synthetic N(0,1), " + std::to_string(calibration.size()) + " samples";
    } catch (const Error& e) {
      fail_all(std::string("synthetic inputs: ") + e.what());
      outcome.failed_entirely = true;
      return outcome;
    }
  }
  for (Row& r : outcome.rows) r.calibration = calibration_label;
  if (!have_data && !opt.wants_throughput()) {
    for (Row& r : outcome.rows) r.calibration.clear();
    return outcome;  // nothing to measure: table 1 says why
  }

  ModelVariants variants(*model, ctx, calibration);
  variants.set_name(entry.name);
  const std::string& lead_isa = ctx.isas.front();
  try {
    variants.fp32(lead_isa);
  } catch (const Error& e) {
    fail_all(std::string("FP32 compile: ") + e.what());
    outcome.failed_entirely = true;
    return outcome;
  }
  variants.build_int8();
  if (!variants.qdq_path().empty() || variants.int8(lead_isa)) outcome.notes.push_back(entry.name + ": INT8 " + variants.route());
  for (Row& r : outcome.rows)
    if (!variants.int8(r.isa)) add_error(r, without_path(variants.int8_error(r.isa), entry.onnx_path));

  // ---------------------------------------------------------------- accuracy
  std::vector<int64_t> fp32_top1;
  // The lead ISA column's INT8 scores (the output the metric reads), kept to compare with
  // ONNX Runtime running the QDQ export of the same quantization.
  std::vector<int64_t> lead_int8_top1;
  std::vector<float> lead_int8_scores;
  std::string scored_output;
  if (have_data && opt.wants_accuracy()) {
    Session fp32_session = variants.fp32(lead_isa).create_session();
    auto fp32_metric = make_metric(entry.label_offset);
    std::map<std::string, std::unique_ptr<Metric>> int8_metric;
    std::map<std::string, std::vector<int64_t>> int8_top1;
    std::map<std::string, Session> int8_sessions;
    for (const std::string& isa : ctx.isas)
      if (const CompiledModel* m = variants.int8(isa)) {
        int8_sessions.emplace(isa, m->create_session());
        int8_metric[isa] = make_metric(entry.label_offset);
      }
    ProgressBar bar("evaluating FP32 + " + std::to_string(int8_sessions.size()) + " INT8 on " +
                        std::to_string(plan.evaluation.size()) + " samples",
                    static_cast<int64_t>(plan.evaluation.size()));
    bool fp32_failed = false;
    try {
      for (int64_t index : plan.evaluation) {
        const Inputs inputs = eval_set->inputs(index);
        const Annotation truth{eval_set->label(index)};
        const auto out = fp32_session.run(inputs);
        fp32_metric->add(out, truth);
        fp32_top1.push_back(top1_class(out));
        for (auto it = int8_sessions.begin(); it != int8_sessions.end();) {
          try {
            const auto q = it->second.run(inputs);
            int8_metric[it->first]->add(q, truth);
            int8_top1[it->first].push_back(top1_class(q));
            if (it->first == lead_isa) {
              int64_t classes = 0;
              const float* scores = class_scores(q, &classes);
              lead_int8_scores.insert(lead_int8_scores.end(), scores, scores + classes);
              scored_output = q.begin()->first;
            }
            ++it;
          } catch (const Error& e) {  // this column stops; the others go on
            add_error(row_of(outcome.rows, it->first), "INT8 run (" + eval_set->describe(index) + "): " + e.what());
            int8_metric.erase(it->first);
            it = int8_sessions.erase(it);
          }
        }
        bar.advance();
      }
    } catch (const Error& e) {
      fp32_failed = true;
      fail_all(std::string("FP32 evaluation: ") + e.what());
    }
    const auto* fp32_acc = dynamic_cast<const ClassificationAccuracy*>(fp32_metric.get());
    bar.finish(fp32_failed || !fp32_acc->top1() ? "failed" : "FP32 " + std::to_string(*fp32_acc->top1()).substr(0, 5) + " %");
    if (!fp32_failed) {
      for (Row& r : outcome.rows) {
        r.samples = fp32_metric->count();
        r.metric = fp32_metric->name();
        r.fp32 = fp32_acc->top1();
        r.fp32_top5 = fp32_acc->top5();
        auto it = int8_metric.find(r.isa);
        if (it == int8_metric.end()) continue;
        const auto* q = dynamic_cast<const ClassificationAccuracy*>(it->second.get());
        r.int8 = q->top1();
        r.int8_top5 = q->top5();
        if (r.fp32 && r.int8) r.drop = *r.fp32 - *r.int8;
        r.agreement = top1_agreement(fp32_top1, int8_top1[r.isa]);
      }
      auto lead = int8_top1.find(lead_isa);
      if (lead != int8_top1.end() && lead->second.size() == plan.evaluation.size()) lead_int8_top1 = lead->second;
    } else {
      fp32_top1.clear();
    }
  }

  // ---------------------------------------------------------------- throughput
  PeerFigures paired_peer;  // ONNX Runtime's timing, measured in rounds beside the first ISA column
  if (opt.wants_throughput()) {
    int batch = opt.batch;
    std::string batch_note;
    std::map<std::string, int64_t> dims;
    if (batch > 1) {
      for (const TensorInfo& in : input_infos) {
        if (in.shape.empty() || in.dim_names.empty() || in.dim_names[0].empty()) {
          batch = 1;
          batch_note = "batch dim fixed at 1 in the model";
          dims.clear();
          break;
        }
        dims[in.dim_names[0]] = batch;
      }
    }
    for (Row& r : outcome.rows) {
      r.batch = batch;
      r.batch_note = batch_note;
    }
    Inputs sample = have_data ? eval_set->inputs(plan.evaluation.front()) : calibration.front();
    try {
      sample = tile_batch(sample, batch);
    } catch (const Error& e) {
      fail_all(e.what());
    }
    std::map<std::string, ThroughputResult> fp32_speed;  // by FP32 level
    std::map<std::string, std::string> fp32_errors;
    // With a peer, the first ISA column and ONNX Runtime are timed in alternating rounds
    // (below); the other columns once, here.
    const std::string& lead = ctx.isas.front();
    const bool paired = ctx.peer != nullptr;
    for (const std::string& isa : ctx.isas) {
      const std::string level = fp32_isa_of(isa);
      if (fp32_speed.count(level) || fp32_errors.count(level) || (paired && level == fp32_isa_of(lead))) continue;
      try {
        fp32_speed[level] = timed("timing FP32 [" + level + "]", variants.fp32(level, dims), sample, ctx, batch);
      } catch (const Error& e) {
        fp32_errors[level] = "FP32 timing (" + level + "): " + e.what();
      }
    }
    std::optional<double> lead_speedup;
    if (paired) {
      paired_peer = time_in_rounds(entry, variants, lead, dims, sample, ctx, batch, &fp32_speed, &fp32_errors,
                                   &outcome.rows, &lead_speedup);
    }
    for (Row& r : outcome.rows) {
      const std::string level = fp32_isa_of(r.isa);
      if (auto it = fp32_speed.find(level); it != fp32_speed.end()) r.fp32_speed = speed_of(it->second);
      else add_error(r, fp32_errors[level]);
      if (!variants.int8(r.isa)) continue;
      if (paired && r.isa == lead) {  // timed in the rounds
        r.speedup = lead_speedup;
        continue;
      }
      try {
        const CompiledModel int8 = variants.int8_batched(r.isa, dims);
        r.int8_speed = speed_of(timed("timing INT8 [" + r.isa + "]", int8, sample, ctx, batch));
        r.int8_mem_mb = mib(int8.weights_bytes() + int8.arena_bytes());
        if (r.fp32_speed && r.fp32_speed->ips > 0) r.speedup = r.int8_speed->ips / r.fp32_speed->ips;
      } catch (const Error& e) {
        add_error(r, std::string("INT8 timing: ") + e.what());
      }
    }
    for (Row& r : outcome.rows) {
      try {
        const CompiledModel& f = variants.fp32(r.isa, dims);
        r.fp32_mem_mb = mib(f.weights_bytes() + f.arena_bytes());
      } catch (const Error&) {
      }
    }
  } else {
    for (Row& r : outcome.rows) {
      try {
        const CompiledModel& f = variants.fp32(r.isa);
        r.fp32_mem_mb = mib(f.weights_bytes() + f.arena_bytes());
      } catch (const Error&) {
      }
      if (const CompiledModel* q = variants.int8(r.isa)) r.int8_mem_mb = mib(q->weights_bytes() + q->arena_bytes());
    }
  }

  // ---------------------------------------------------------------- peer
  if (ctx.peer) {
    PeerFigures p = paired_peer;  // the throughput figures, from the rounds
    auto peer_error = [&](const std::string& e) { p.error += (p.error.empty() ? "" : "; ") + e; };
    if (variants.qdq_path().empty()) {
      peer_error("no QDQ export of octet's INT8 model");
    } else {
      if (have_data && opt.wants_accuracy() && !plan.evaluation.empty()) {
        try {
          ProgressBar bar("ORT INT8 accuracy on octet's QDQ export", static_cast<int64_t>(plan.evaluation.size()));
          OrtEvalOptions eval;
          eval.output = scored_output;
          std::vector<float> ort_scores;
          if (!lead_int8_top1.empty()) eval.raw_outputs = &ort_scores;
          eval.progress = [&](int64_t done) { bar.set(done); };
          const std::vector<int64_t> predictions = ort_eval_argmax(
              *ctx.peer, variants.qdq_path(), ctx.threads, static_cast<int64_t>(plan.evaluation.size()),
              [&](int64_t k) { return eval_set->inputs(plan.evaluation[k]); }, ctx.work_dir, eval);
          int64_t hits = 0;
          for (size_t k = 0; k < predictions.size(); ++k)
            hits += predictions[k] == eval_set->label(plan.evaluation[k]) + entry.label_offset;
          p.int8_accuracy = 100.0 * double(hits) / double(predictions.size());
          p.int8_agreement = top1_agreement(fp32_top1, predictions);
          if (!lead_int8_top1.empty()) {
            // Same quantization on both sides: how often the two engines pick the same class,
            // and how far apart their numbers are, in LSBs of the output's u8 scale.
            p.octet_agreement = top1_agreement(lead_int8_top1, predictions);
            p.compared_isa = lead_isa;
            if (ort_scores.size() == lead_int8_scores.size()) {
              double worst = 0;
              for (size_t k = 0; k < ort_scores.size(); ++k)
                worst = std::max(worst, double(std::abs(ort_scores[k] - lead_int8_scores[k])));
              p.max_abs_diff = worst;
              if (auto scale = variants.activation_scale(scored_output)) p.max_diff_lsb = worst / double(*scale);
            } else {
              peer_error("ORT returned " + std::to_string(ort_scores.size()) + " scores, octet " +
                         std::to_string(lead_int8_scores.size()));
            }
          }
          bar.finish(std::to_string(*p.int8_accuracy).substr(0, 5) + " %");
        } catch (const Error& e) {
          peer_error(e.what());
        }
      }
    }
    if (opt.batch > 1) peer_error("ONNX Runtime measured at the model's own batch");
    for (Row& r : outcome.rows) r.peer = p;
  }

  bool any_figure = false;
  for (const Row& r : outcome.rows) any_figure |= r.fp32 || r.int8 || r.fp32_speed || r.int8_speed;
  outcome.failed_entirely = !any_figure && !(opt.mode == Mode::accuracy && !have_data);
  return outcome;
}

}  // namespace octet::bench
