// octet_run: runs an ONNX model on one ONNX test data set and compares the outputs, like
// ONNX Runtime's onnx_test_runner.
//
//   octet_run --model M.onnx --test-data DIR [--precision fp32|int8]
//             [--isa auto|ref|avx2|avx2_fast|avx512|avx512_fast|vnni]
//             [--rtol R] [--atol A] [--threads N] [--spin-us N] [--verbose]
//             [--calibration-dir DIR] [--calibration-samples N]
//             [--calibration-method minmax|percentile|entropy|mse] [--percentile P]
//             [--weight-bits 8|7] [--report] [--export-qdq FILE] [--profile[=RUNS]]
//             [--save-outputs DIR] [--save-compiled FILE] [--timing] [--hold SECONDS] [--memory]
//   octet_run --compiled FILE --test-data DIR [--threads N] [...]
//
// --profile: after the check, RUNS more runs (default 20, after 3 warm-up runs) give the
// median latency, then RUNS runs with per-node timing give a table sorted by cost.
// DIR holds input_N.pb / output_N.pb (serialized onnx.TensorProto), matched to the model's
// inputs and outputs by the tensor name, or by position when the name is empty.
//
// INT8: a model that is already quantized (QDQ or QOperator) runs as it is. An FP32 model is
// calibrated first, on --calibration-dir: either folders each holding one sample as
// input_N.pb (e.g. the model's test_data_set_*), or .pb files each holding one sample of a
// one-input model; without it, on the --test-data inputs (one sample, said on stdout).
// --report prints the per-tensor SQNR of the quantization; --export-qdq writes it as QDQ ONNX.
// --save-outputs writes what the model computed as DIR/output_N.pb, in graph output order.
// --save-compiled writes the compiled model (CompiledModel::save); --compiled runs such a file
// instead of --model (its precision and ISA level are the file's). --timing prints load_ms,
// compile_ms, ready_ms (load + compile + session) and first_run_ms; --hold keeps the process
// alive that long after the run (to inspect its memory or CPU use from outside).
// --memory prints, after the check, the process's peak and current resident memory (VmHWM,
// VmRSS) beside what the engine itself holds (weights, one session's arena), plus the lines
// peak_rss_kb / steady_rss_kb for scripts.
// Exit status: 0 every output within tolerance, 1 some output is not, 2 bad usage or input
// (one line "octet_run: error: ..." on stderr).
#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "octet/kernels/thread_scratch.h"
#include "octet/octet.h"
#include "process_memory.h"
#include "tensor_compare.h"

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string model, test_data, precision = "fp32", isa = "auto";
  double rtol = 1e-3, atol = 1e-4;
  int threads = 0;
  int spin_us = -1;  // -1: SessionOptions' default
  bool verbose = false;
  std::string calibration_dir, calibration_method = "minmax", export_qdq, save_outputs;
  int weight_bits = 8;
  double percentile = 99.99;
  long calibration_samples = 300;
  bool report = false;
  bool memory = false;
  int profile_runs = 0;  // --profile: timed runs (0 = off)
  std::string save_compiled, compiled;
  bool timing = false;
  double hold_seconds = 0;
};

const char kUsage[] =
    "usage: octet_run --model M.onnx --test-data DIR [--precision fp32|int8]\n"
    "                 [--isa auto|ref|avx2|avx2_fast|avx512|avx512_fast|vnni]\n"
    "                 [--rtol R] [--atol A] [--threads N] [--spin-us N] [--verbose]\n"
    "                 [--calibration-dir DIR] [--calibration-samples N]\n"
    "                 [--calibration-method minmax|percentile|entropy|mse] [--percentile P]\n"
    "                 [--weight-bits 8|7] [--report] [--export-qdq FILE] [--profile[=RUNS]]\n"
    "                 [--save-outputs DIR] [--save-compiled FILE] [--timing] [--hold SECONDS] [--memory]\n"
    "       octet_run --compiled FILE --test-data DIR [--threads N] [--rtol R] [--atol A] [--verbose]\n"
    "                 [--profile[=RUNS]] [--save-outputs DIR] [--timing] [--hold SECONDS] [--memory]\n";

double parse_double(const std::string& flag, const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(v >= 0)) throw UsageError(flag + " needs a non-negative number, got '" + s + "'");
  return v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    const bool is_flag = arg.rfind("--", 0) == 0;
    const size_t eq = arg.find('=');
    bool has_inline_value = is_flag && eq != std::string::npos;
    if (has_inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto next = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") a.model = next();
    else if (arg == "--test-data") a.test_data = next();
    else if (arg == "--precision") a.precision = next();
    else if (arg == "--isa") a.isa = next();
    else if (arg == "--rtol") a.rtol = parse_double(arg, next());
    else if (arg == "--atol") a.atol = parse_double(arg, next());
    else if (arg == "--threads") {
      const std::string v = next();
      char* end = nullptr;
      const long t = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || t < 0 || t > 1024) throw UsageError("--threads needs a count, got '" + v + "'");
      a.threads = static_cast<int>(t);
    } else if (arg == "--spin-us") {
      const std::string v = next();
      char* end = nullptr;
      const long us = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || us < 0 || us > 1000000)
        throw UsageError("--spin-us needs microseconds in [0, 1000000], got '" + v + "'");
      a.spin_us = static_cast<int>(us);
    } else if (arg == "--verbose" && !has_inline_value) a.verbose = true;
    else if (arg == "--calibration-dir") a.calibration_dir = next();
    else if (arg == "--calibration-method") a.calibration_method = next();
    else if (arg == "--percentile") {
      a.percentile = parse_double(arg, next());
      if (a.percentile <= 0 || a.percentile > 100) throw UsageError("--percentile must be in (0, 100]");
    } else if (arg == "--calibration-samples") {
      const std::string v = next();
      char* end = nullptr;
      a.calibration_samples = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || a.calibration_samples < 1 || a.calibration_samples > 1000000)
        throw UsageError("--calibration-samples needs a count, got '" + v + "'");
    } else if (arg == "--report" && !has_inline_value) a.report = true;
    else if (arg == "--memory" && !has_inline_value) a.memory = true;
    else if (arg == "--export-qdq") a.export_qdq = next();
    else if (arg == "--save-outputs") a.save_outputs = next();
    else if (arg == "--save-compiled") a.save_compiled = next();
    else if (arg == "--compiled") a.compiled = next();
    else if (arg == "--timing" && !has_inline_value) a.timing = true;
    else if (arg == "--hold") {
      const std::string v = next();
      a.hold_seconds = parse_double(arg, v);
      if (!(a.hold_seconds >= 0 && a.hold_seconds <= 3600)) throw UsageError("--hold needs seconds in [0, 3600]");
    }
    else if (arg == "--weight-bits") {
      const std::string v = next();
      if (v != "7" && v != "8") throw UsageError("--weight-bits must be 7 or 8, got '" + v + "'");
      a.weight_bits = v == "7" ? 7 : 8;
    }
    else if (arg == "--profile") {
      a.profile_runs = 20;
      if (has_inline_value) {
        char* end = nullptr;
        const long r = std::strtol(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || r < 1 || r > 100000)
          throw UsageError("--profile needs a run count, got '" + value + "'");
        a.profile_runs = static_cast<int>(r);
      }
    }
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else throw UsageError("unknown argument '" + std::string(argv[i]) + "'");
  }
  if (a.model.empty() == a.compiled.empty()) throw UsageError("give one of --model and --compiled");
  if (!a.compiled.empty() && (a.precision != "fp32" || a.isa != "auto" || !a.calibration_dir.empty() ||
                              a.report || !a.export_qdq.empty() || !a.save_compiled.empty() || a.weight_bits != 8))
    throw UsageError("--compiled takes its precision, ISA and quantization from the file: drop --precision, --isa, "
                     "--calibration-*, --report, --export-qdq, --save-compiled and --weight-bits");
  if (a.test_data.empty()) throw UsageError("--test-data is required");
  if (a.precision != "fp32" && a.precision != "int8")
    throw UsageError("--precision must be fp32 or int8, got '" + a.precision + "'");
  const std::string m = a.calibration_method;
  if (m != "minmax" && m != "percentile" && m != "entropy" && m != "mse")
    throw UsageError("--calibration-method must be minmax, percentile, entropy or mse, got '" + m + "'");
  if (a.precision != "int8" && (a.report || !a.export_qdq.empty() || !a.calibration_dir.empty()))
    throw UsageError("--calibration-dir, --report and --export-qdq need --precision int8");
  if (a.precision != "int8" && a.weight_bits != 8) throw UsageError("--weight-bits needs --precision int8");
  return a;
}

// DIR/<prefix>N.pb sorted by N.
std::vector<std::string> numbered_files(const std::string& dir, const std::string& prefix) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw octet::Error(dir + ": cannot open test data folder");
  std::vector<std::pair<long, std::string>> found;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + 3) continue;
    if (name.compare(name.size() - 3, 3, ".pb") != 0) continue;
    const std::string num = name.substr(prefix.size(), name.size() - prefix.size() - 3);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::strtol(num.c_str(), nullptr, 10), dir + "/" + name);
  }
  ::closedir(d);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

struct NamedTensor {
  std::string name, file;
  octet::Tensor tensor;
};

// Loads the files and gives each the model name it belongs to (its own name, else position).
std::vector<NamedTensor> load_matched(const std::vector<std::string>& files, const std::vector<octet::TensorInfo>& infos,
                                      const char* what) {
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < files.size(); ++i) {
    NamedTensor nt;
    nt.file = files[i];
    nt.tensor = octet::load_tensor_pb(files[i], &nt.name);
    if (nt.name.empty()) {
      if (i >= infos.size())
        throw octet::Error(files[i] + ": the model has only " + std::to_string(infos.size()) + " " + what + "s");
      nt.name = infos[i].name;
    } else {
      bool known = false;
      for (const auto& info : infos) known = known || info.name == nt.name;
      if (!known) throw octet::Error(files[i] + ": names '" + nt.name + "', which is not a model " + what);
    }
    out.push_back(std::move(nt));
  }
  return out;
}

// Calibration samples from a folder: sub-folders with input_N.pb (one sample each), else .pb
// files (one sample each, for a one-input model). Sorted by name; at most `limit`.
std::vector<std::map<std::string, octet::Tensor>> load_calibration(const std::string& dir, long limit,
                                                                    const std::vector<octet::TensorInfo>& infos) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw octet::Error(dir + ": cannot open calibration folder");
  std::vector<std::string> subdirs, files;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    if (DIR* sub = ::opendir(path.c_str())) {
      ::closedir(sub);
      subdirs.push_back(path);
    } else if (name.size() > 3 && name.compare(name.size() - 3, 3, ".pb") == 0) {
      files.push_back(path);
    }
  }
  ::closedir(d);
  std::sort(subdirs.begin(), subdirs.end());
  std::sort(files.begin(), files.end());
  std::vector<std::map<std::string, octet::Tensor>> samples;
  for (const auto& sub : subdirs) {
    if (static_cast<long>(samples.size()) >= limit) break;
    const auto inputs = numbered_files(sub, "input_");
    if (inputs.empty()) continue;
    std::map<std::string, octet::Tensor> sample;
    for (auto& nt : load_matched(inputs, infos, "input")) sample[nt.name] = nt.tensor;
    samples.push_back(std::move(sample));
  }
  if (samples.empty() && !files.empty()) {
    if (infos.size() != 1)
      throw octet::Error(dir + ": loose .pb calibration files need a one-input model; use one folder per sample");
    for (const auto& f : files) {
      if (static_cast<long>(samples.size()) >= limit) break;
      std::string name;
      octet::Tensor t = octet::load_tensor_pb(f, &name);
      if (!name.empty() && name != infos[0].name)
        throw octet::Error(f + ": names '" + name + "', not the model input '" + infos[0].name + "'");
      samples.push_back({{infos[0].name, t}});
    }
  }
  if (samples.empty()) throw octet::Error(dir + ": no calibration samples (no input_N.pb folders, no .pb files)");
  return samples;
}

void print_report(const octet::CompiledModel& compiled) {
  const auto report = compiled.quantization_report();
  if (report.empty()) {
    std::printf("quantization report: none (the model was quantized by another tool)\n");
    return;
  }
  std::printf("quantization report (SQNR of each quantized tensor vs FP32 on the calibration samples):\n");
  std::printf("  %-48s %-18s %12s %5s %9s\n", "tensor", "op", "scale", "zp", "SQNR dB");
  for (const auto& e : report) {
    if (e.fp32_fallback) continue;
    std::printf("  %-48s %-18s %12.6g %5d %9.2f\n", e.tensor.c_str(), e.op.c_str(), e.scale, e.zero_point, e.sqnr_db);
  }
  for (const auto& e : report)
    if (e.fp32_fallback) std::printf("  FP32 fallback: %s (%s, node '%s'): %s\n", e.tensor.c_str(), e.op.c_str(),
                                     e.node.c_str(), e.note.c_str());
}

std::string mb(size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// Median latency of `runs` runs (after warm-up), then the per-node profile of `runs` more.
void print_profile(octet::Session& session, const std::map<std::string, octet::Tensor>& feeds, int runs) {
  for (int i = 0; i < 3; ++i) session.run(feeds);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    session.run(feeds);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("latency: median %.3f ms, min %.3f ms over %d runs\n", ms[ms.size() / 2], ms.front(), runs);
  session.enable_profiling(true);
  for (int i = 0; i < runs; ++i) session.run(feeds);
  session.enable_profiling(false);
  const auto prof = session.profile();
  double total = 0;
  for (const auto& p : prof) total += p.total_ms;
  std::printf("profile: %zu nodes, %.3f ms per run in nodes (sorted by cost)\n", prof.size(), total / runs);
  std::printf("  %4s %9s %6s %6s  %-40s %-16s %s\n", "#", "ms/run", "%", "cum%", "node", "op", "kernel");
  double cum = 0;
  int rank = 0;
  for (const auto& p : prof) {
    cum += p.total_ms;
    std::printf("  %4d %9.3f %6.2f %6.2f  %-40s %-16s %s\n", ++rank, p.total_ms / runs,
                total > 0 ? 100.0 * p.total_ms / total : 0.0, total > 0 ? 100.0 * cum / total : 0.0,
                p.node.c_str(), p.op.c_str(), p.kernel.c_str());
  }
}

// Resident memory after each stage of the run, for --memory.
struct MemoryTrace {
  octet::tools::ProcessMemory load, compile, run;
};

// One block: the process (what the OS counts, peak and now, and after each stage) and the
// engine (what octet allocated itself). "now" is after the check, with the model, the compiled
// model and one session alive.
void print_memory(const octet::CompiledModel& compiled, const MemoryTrace& trace) {
  const octet::tools::ProcessMemory m = octet::tools::read_process_memory();
  std::printf("memory:\n");
  if (m.known) {
    std::printf("  process peak RSS (VmHWM)    %s\n", mb(m.peak_bytes).c_str());
    std::printf("  process RSS now (VmRSS)     %s  (model, compiled model, one session alive)\n",
                mb(m.current_bytes).c_str());
    std::printf("  RSS after load / compile / first run  %s / %s / %s  (peak so far %s / %s / %s)\n",
                mb(trace.load.current_bytes).c_str(), mb(trace.compile.current_bytes).c_str(),
                mb(trace.run.current_bytes).c_str(), mb(trace.load.peak_bytes).c_str(),
                mb(trace.compile.peak_bytes).c_str(), mb(trace.run.peak_bytes).c_str());
  } else {
    std::printf("  process RSS                 unknown (no VmHWM/VmRSS in /proc/self/status)\n");
  }
  std::printf("  engine weights              %s  (constants and packed weights)\n", mb(compiled.weights_bytes()).c_str());
  std::printf("  engine arena per session    %s  (planned activations)\n", mb(compiled.arena_bytes()).c_str());
  std::printf("  kernel scratch, all threads %s  (per-thread buffers kernels keep between calls)\n",
              mb(octet::kernels::thread_scratch_bytes()).c_str());
  if (m.known) std::printf("peak_rss_kb %llu\nsteady_rss_kb %llu\n", static_cast<unsigned long long>(m.peak_bytes / 1024),
                           static_cast<unsigned long long>(m.current_bytes / 1024));
}

std::string describe(const octet::Tensor& t) { return std::string(octet::dtype_name(t.dtype())) + octet::shape_str(t.shape()); }

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// Feeds for the model's inputs from the test data; binds symbolic dims into opt when given.
std::map<std::string, octet::Tensor> make_feeds(const Args& args, const std::vector<octet::TensorInfo>& model_inputs,
                                                octet::CompileOptions* opt) {
  auto inputs = load_matched(numbered_files(args.test_data, "input_"), model_inputs, "input");
  std::map<std::string, octet::Tensor> feeds;
  for (const auto& in : inputs) {
    feeds[in.name] = in.tensor;
    // Bind the model's symbolic dims to the shapes the test data has.
    for (const auto& info : model_inputs) {
      if (info.name != in.name) continue;
      if (info.shape.size() != in.tensor.rank())
        throw octet::Error(in.file + ": shape " + octet::shape_str(in.tensor.shape()) + " does not match input '" +
                           info.name + "' " + octet::shape_str(info.shape));
      for (size_t d = 0; d < info.shape.size() && opt; ++d) {
        const std::string dn = d < info.dim_names.size() ? info.dim_names[d] : std::string();
        if (info.shape[d] >= 0 || dn.empty()) continue;
        auto it = opt->dim_values.find(dn);
        if (it != opt->dim_values.end() && it->second != in.tensor.shape()[d])
          throw octet::Error(in.file + ": dimension '" + dn + "' is " + std::to_string(it->second) +
                             " in another input but " + std::to_string(in.tensor.shape()[d]) + " here");
        opt->dim_values[dn] = in.tensor.shape()[d];
      }
    }
  }
  for (const auto& info : model_inputs)
    if (!feeds.count(info.name)) throw octet::Error(args.test_data + ": no input_N.pb for model input '" + info.name + "'");
  return feeds;
}

// Compiles --model as the flags say (calibrating when INT8 from FP32); fills feeds and the
// load / compile times.
octet::CompiledModel compile_from_onnx(const Args& args, std::map<std::string, octet::Tensor>* feeds, double* load_ms,
                                       double* compile_ms, MemoryTrace* trace) {
  const auto t_load = Clock::now();
  octet::Model model = octet::Model::load(args.model);
  *load_ms = ms_between(t_load, Clock::now());
  trace->load = octet::tools::read_process_memory();
  const auto model_inputs = model.inputs();

  octet::CompileOptions opt;
  opt.precision = args.precision == "int8" ? octet::Precision::int8 : octet::Precision::fp32;
  opt.isa = args.isa;
  opt.threads = args.threads;
  *feeds = make_feeds(args, model_inputs, &opt);

  if (args.precision == "int8") {
    if (args.calibration_method == "percentile") opt.calibration_method = octet::CalibrationMethod::percentile;
    if (args.calibration_method == "entropy") opt.calibration_method = octet::CalibrationMethod::entropy;
    if (args.calibration_method == "mse") opt.calibration_method = octet::CalibrationMethod::mse;
    opt.percentile = static_cast<float>(args.percentile);
    opt.weight_bits = args.weight_bits;
    if (!args.calibration_dir.empty()) {
      opt.calibration_data = load_calibration(args.calibration_dir, args.calibration_samples, model_inputs);
      std::printf("calibration: %zu samples from %s (%s)\n", opt.calibration_data.size(), args.calibration_dir.c_str(),
                  args.calibration_method.c_str());
    } else {
      opt.calibration_data = {*feeds};  // used only when the model is FP32
    }
  }

  const auto t0 = Clock::now();
  octet::CompiledModel compiled = octet::CompiledModel::compile(model, opt);
  *compile_ms = ms_between(t0, Clock::now());
  trace->compile = octet::tools::read_process_memory();
  if (args.precision == "int8" && args.calibration_dir.empty() && !compiled.quantization_report().empty())
    std::printf("calibration: the --test-data inputs (1 sample; --calibration-dir gives more)\n");
  if (args.report) print_report(compiled);
  if (!args.export_qdq.empty()) {
    compiled.export_qdq(args.export_qdq);
    std::printf("QDQ model written to %s\n", args.export_qdq.c_str());
  }
  if (!args.save_compiled.empty()) {
    compiled.save(args.save_compiled);
    std::printf("compiled model written to %s\n", args.save_compiled.c_str());
  }
  return compiled;
}

int run(const Args& args) {
  std::map<std::string, octet::Tensor> feeds;
  double load_ms = 0, compile_ms = 0;
  const auto t_start = Clock::now();
  std::optional<octet::CompiledModel> loaded;
  MemoryTrace trace;
  if (!args.compiled.empty()) {
    loaded.emplace(octet::CompiledModel::load(args.compiled, args.threads));
    load_ms = ms_between(t_start, Clock::now());
    trace.load = trace.compile = octet::tools::read_process_memory();
    feeds = make_feeds(args, loaded->inputs(), nullptr);
  } else {
    loaded.emplace(compile_from_onnx(args, &feeds, &load_ms, &compile_ms, &trace));
  }
  const octet::CompiledModel& compiled = *loaded;
  const std::string model_name = args.compiled.empty() ? args.model : args.compiled;
  auto expected = load_matched(numbered_files(args.test_data, "output_"), compiled.outputs(), "output");
  if (expected.empty()) throw octet::Error(args.test_data + ": no output_N.pb files");

  const auto t1 = Clock::now();
  octet::SessionOptions session_options;
  if (args.spin_us >= 0) session_options.spin_us = args.spin_us;
  octet::Session session = compiled.create_session(session_options);
  const auto t_ready = Clock::now();
  std::map<std::string, octet::Tensor> results = session.run(feeds);
  const auto t2 = Clock::now();
  trace.run = octet::tools::read_process_memory();
  if (args.timing) {
    // ready: what it takes before the first inference can start, file reading included.
    std::printf("load_ms %.3f\ncompile_ms %.3f\nready_ms %.3f\nfirst_run_ms %.3f\n", load_ms, compile_ms,
                load_ms + compile_ms + ms_between(t1, t_ready), ms_between(t_ready, t2));
  }

  std::printf("model %s: isa %s, arena %s (%zu bytes), weights %s (%zu bytes)\n", model_name.c_str(),
              compiled.isa().c_str(), mb(compiled.arena_bytes()).c_str(), compiled.arena_bytes(),
              mb(compiled.weights_bytes()).c_str(), compiled.weights_bytes());
  if (args.verbose) {
    std::printf("session: %s\n", session.threading().c_str());
    std::printf("load %.1f ms, compile %.1f ms, first run %.1f ms\n", load_ms, compile_ms, ms_between(t_ready, t2));
    std::printf("%s", compiled.describe().c_str());
  }

  if (!args.save_outputs.empty()) {
    const std::vector<octet::TensorInfo> outs = compiled.outputs();
    for (size_t i = 0; i < outs.size(); ++i)
      octet::save_tensor_pb(results.at(outs[i].name), outs[i].name,
                            args.save_outputs + "/output_" + std::to_string(i) + ".pb");
    std::printf("outputs written to %s\n", args.save_outputs.c_str());
  }
  bool all_ok = true;
  for (const auto& e : expected) {
    auto it = results.find(e.name);
    if (it == results.end()) throw octet::Error(e.file + ": the model produced no output '" + e.name + "'");
    const auto c = octet::tools::compare_tensors(it->second, e.tensor, args.rtol, args.atol);
    if (!c.problem.empty()) {
      std::printf("output '%s': %s  FAIL\n", e.name.c_str(), c.problem.c_str());
      all_ok = false;
      continue;
    }
    std::printf("output '%s' %s: max abs err %.3g, max rel err %.3g, %lld of %lld out of tolerance  %s\n",
                e.name.c_str(), describe(e.tensor).c_str(), c.max_abs, c.max_rel,
                static_cast<long long>(c.mismatches), static_cast<long long>(c.count), c.ok() ? "OK" : "FAIL");
    all_ok = all_ok && c.ok();
  }
  std::printf("%s (rtol %g, atol %g)\n", all_ok ? "PASS" : "FAIL", args.rtol, args.atol);
  if (args.profile_runs > 0) print_profile(session, feeds, args.profile_runs);
  if (args.memory) print_memory(compiled, trace);
  if (args.hold_seconds > 0) {
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(args.hold_seconds));
  }
  return all_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const UsageError& e) {
    std::cerr << "octet_run: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const octet::Error& e) {
    std::cerr << "octet_run: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "octet_run: error: " << e.what() << "\n";
    return 2;
  }
}
