#include "bench_int8/runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "bench_int8/catalog.h"
#include "bench_int8/model_bench.h"
#include "bench_int8/peer_ort.h"
#include "bench_int8/progress.h"
#include "bench_int8/published.h"
#include "bench_int8/report.h"
#include "bench_int8/svg_plot.h"
#include "octet/kernels/isa.h"
#include "octet/octet.h"

namespace octet::bench {
namespace fs = std::filesystem;
namespace {

int core_count() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Scratch folder for QDQ exports and peer inputs, removed when the run ends.
class WorkDir {
 public:
  WorkDir() {
    path_ = (fs::temp_directory_path() / ("octet-bench-int8-" + std::to_string(getpid()))).string();
    fs::create_directories(path_);
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<CoverageEntry> coverage_of(const PublishedTables& published, const std::vector<Row>& rows,
                                       const std::vector<ModelEntry>& discovered) {
  std::vector<CoverageEntry> out;
  for (const std::string& classic : published.all_rows()) {
    CoverageEntry c{classic, "no model in the zoo or tools/ (not yet supported)", ""};
    for (const ModelEntry& m : discovered)
      if (m.classic_row == classic) c = {classic, "not selected in this run (--models)", m.name};
    for (const Row& r : rows) {
      if (r.classic_row != classic) continue;
      c.model = r.model;
      if (!r.no_data.empty()) c.status = "architecture only (speed)";
      else if (r.fp32) c.status = "real weights + data";
      else c.status = "real weights + data (accuracy not measured in this run)";
      if (!r.fp32 && !r.fp32_speed && !r.errors.empty()) c.status = "failed: " + r.errors.front();
      break;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string fp32_isa_of(const std::string& isa) {
  const std::string suffix = "_fast";
  if (isa.size() > suffix.size() && isa.compare(isa.size() - suffix.size(), suffix.size(), suffix) == 0)
    return isa.substr(0, isa.size() - suffix.size());
  return isa;
}

std::vector<std::string> select_isas(const std::string& isa) {
  std::vector<std::string> out;
  try {
    if (isa == "all") {
      for (const kernels::IsaChoice& c : kernels::available_isas()) out.push_back(c.name());
    } else {
      out.push_back(kernels::resolve_isa(isa).name());
    }
  } catch (const Error& e) {
    throw UsageError(std::string("--isa=") + isa + ": " + e.what());
  }
  if (out.empty()) throw UsageError("--isa=" + isa + ": no ISA level available");
  return out;
}

Report run_benchmark(const Options& options, bool* model_failed) {
  const auto started = std::chrono::steady_clock::now();
  ProgressBar::set_enabled(options.progress);
  Report report;
  report.isas = select_isas(options.isa);
  report.machine.cpu = kernels::cpu_description();
  report.machine.cores = core_count();
  for (const kernels::IsaChoice& c : kernels::available_isas()) report.machine.isa_levels.push_back(c.name());

  const ModelSources sources = resolve_sources(options);
  std::vector<std::string> warnings;
  const std::vector<ModelEntry> discovered = discover_models(sources, &warnings);
  const std::vector<ModelEntry> models = select_models(discovered, options.models);
  for (const std::string& w : warnings) progress_note("warning: " + w);
  if (sources.zoo_dir.empty()) report.notes.push_back("no model zoo found (--zoo, $OCTET_ZOO, ../shared/zoo)");
  if (models.empty())
    throw UsageError("no models found: give --zoo, or export them with tools/export_torchvision.py (--models-dir) "
                     "and tools/train_fmnist.py (--local-dir)");

  const PublishedTables published = PublishedTables::load(PublishedTables::locate(sources.zoo_dir, sources.source_dir));
  WorkDir work;

  BenchContext ctx;
  ctx.options = options;
  ctx.isas = report.isas;
  ctx.threads = options.threads > 0 ? options.threads : std::max(1, core_count() / options.streams);
  ctx.published = &published;
  ctx.work_dir = work.path();
  OrtPeer peer;
  if (options.peer == "ort") {
    const std::string peers_dir =
        options.peers_dir.empty() ? (fs::path(sources.source_dir) / "build" / "peers").string() : options.peers_dir;
    try {
      peer = prepare_ort_peer(sources.source_dir, peers_dir);
      ctx.peer = &peer;
    } catch (const Error& e) {
      // The peer is half of the main job's figures: no table is printed without it unless asked.
      throw Error(std::string("ONNX Runtime peer unavailable: ") + e.what() +
                  "\nFix the cause above and run again, or measure octet alone with --peer=none.");
    }
  } else {
    report.notes.push_back("ONNX Runtime was not measured in this run (--peer=none).");
  }

  report.config = {
      {"isa", options.isa},
      {"isas", report.isas},
      {"mode", mode_name(options.mode)},
      {"threads", ctx.threads},
      {"streams", options.streams},
      {"spin_us", options.spin_us >= 0 ? options.spin_us : SessionOptions{}.spin_us},
      {"batch", options.batch},
      {"time_s", options.time_s},
      {"rounds", options.peer == "none" ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(options.rounds)},
      {"limit", options.limit > 0 ? nlohmann::ordered_json(options.limit) : nlohmann::ordered_json(nullptr)},
      {"calibration", options.calibration},
      {"calib_samples", options.calib_samples},
      {"weight_bits", options.weight_bits},
      {"peer", options.peer},
      {"zoo", sources.zoo_dir.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(sources.zoo_dir)},
      {"models_dir", sources.models_dir.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(sources.models_dir)},
      {"local_dir", sources.local_dir.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(sources.local_dir)},
      {"fp32_accuracy_isa", fp32_isa_of(report.isas.front())},
      {"date", utc_now()},
  };
  report.notes.push_back("FP32 accuracy is measured once, on " + fp32_isa_of(report.isas.front()) +
                         " (FP32 differs between ISAs only by float rounding); INT8 accuracy per ISA column.");
  if (options.weight_bits == 7)
    report.notes.push_back("INT8 weights are 7-bit (--weight-bits=7: [-63, 63] per channel), which vpmaddubsw computes "
                           "exactly: the avx2 / avx512 GEMMs run on it and every level gives the same integers.");
  report.notes.push_back("Calibration samples are never evaluated: a training split where the dataset has one, else "
                         "a held-out slice spread over the dataset, which FP32 and INT8 both skip.");

  *model_failed = false;
  for (const ModelEntry& m : models) {
    ModelOutcome outcome;
    try {
      if (!m.error.empty()) throw Error(m.error);  // a malformed manifest entry: its own error row
      outcome = bench_model(m, ctx);
    } catch (const std::exception& e) {  // an unexpected failure costs this model, not the run
      for (const std::string& isa : ctx.isas) {
        Row r;
        r.model = m.name;
        r.isa = isa;
        r.source = source_name(m.source);
        r.no_data = m.has_labelled_data() ? "" : m.no_data_reason;
        r.errors.push_back(e.what());
        r.failed = true;
        outcome.rows.push_back(std::move(r));
      }
      outcome.failed_entirely = true;
    }
    *model_failed |= outcome.failed_entirely;
    for (Row& r : outcome.rows) report.rows.push_back(std::move(r));
    for (std::string& n : outcome.notes) report.notes.push_back(std::move(n));
  }
  report.coverage = coverage_of(published, report.rows, discovered);
  report.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

int run_bench_int8(const Options& options) {
  // Check the outputs can be written before spending minutes measuring.
  if (!options.out.empty()) {
    std::ofstream probe(options.out, std::ios::app);
    if (!probe) throw UsageError("--out=" + options.out + ": cannot write there");
  }
  bool model_failed = false;
  const Report report = run_benchmark(options, &model_failed);
  if (options.out.empty()) {
    write_report(report, options.format, std::cout);
    std::cout.flush();
  } else {
    std::ofstream out(options.out, std::ios::binary | std::ios::trunc);
    write_report(report, options.format, out);
    if (!out) throw Error(options.out + ": write failed");
    progress_note("wrote " + options.out);
  }
  if (!options.plot.empty()) {
    write_speedup_chart(report, options.plot);
    progress_note("wrote " + options.plot);
  }
  // Any row with an error fails the run, after every other row was measured and written.
  std::vector<std::string> failed;
  std::vector<std::string> models;
  for (const Row& r : report.rows) {
    const bool bad = !r.errors.empty() || (r.peer && !r.peer->error.empty());
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
    if (bad && std::find(failed.begin(), failed.end(), r.model) == failed.end()) failed.push_back(r.model);
  }
  if (!failed.empty()) {
    std::string names;
    for (const std::string& f : failed) names += (names.empty() ? "" : ", ") + f;
    std::fprintf(stderr, "bench_int8: %zu of %zu models had errors (%s%s); their reasons are in the tables' notes\n",
                 failed.size(), models.size(), names.c_str(), model_failed ? "; at least one failed entirely" : "");
    return 1;
  }
  return 0;
}

}  // namespace octet::bench
