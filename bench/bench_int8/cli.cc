#include "bench_int8/cli.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

namespace octet::bench {
namespace {

const std::vector<std::string> kIsaValues = {"auto",   "ref",         "avx2", "avx2_fast",
                                             "avx512", "avx512_fast", "vnni", "all"};
const std::vector<std::string> kCalibrationValues = {"auto", "minmax", "percentile", "entropy", "mse"};

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string one_of(const std::string& flag, const std::string& value,
                   const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
    throw UsageError(flag + "=" + value + ": expected one of " + join(allowed, "|"));
  return value;
}

int64_t parse_integer(const std::string& flag, const std::string& value, int64_t lo, int64_t hi) {
  if (value.empty()) throw UsageError(flag + " needs a value");
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(value.c_str(), &end, 10);
  if (errno != 0 || end == value.c_str() || *end != '\0')
    throw UsageError(flag + "=" + value + ": not an integer");
  if (v < lo || v > hi)
    throw UsageError(flag + "=" + value + ": out of range [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return v;
}

double parse_seconds(const std::string& flag, const std::string& value) {
  if (value.empty()) throw UsageError(flag + " needs a value");
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (errno != 0 || end == value.c_str() || *end != '\0' || !std::isfinite(v))
    throw UsageError(flag + "=" + value + ": not a number");
  if (v <= 0 || v > 3600) throw UsageError(flag + "=" + value + ": must be in (0, 3600] seconds");
  return v;
}

std::vector<std::string> split_list(const std::string& flag, const std::string& value) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(start, comma - start);
    if (item.empty()) throw UsageError(flag + "=" + value + ": empty name in the list");
    items.push_back(item);
    start = comma + 1;
  }
  return items;
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::accuracy: return "accuracy";
    case Mode::throughput: return "throughput";
    case Mode::both: return "both";
  }
  return "?";
}

std::string usage_text() {
  return "usage: bench_int8 [--isa=auto|ref|avx2|avx2_fast|avx512|avx512_fast|vnni|all]\n"
         "                  [--zoo=DIR] [--models=a,b,...] [--mode=accuracy|throughput|both]\n"
         "                  [--threads=N] [--spin-us=N] [--streams=N] [--batch=N] [--time=SECONDS] [--rounds=N] [--limit=N]\n"
         "                  [--calibration=minmax|percentile|entropy|mse|auto] [--calib-samples=N]\n"
         "                  [--weight-bits=8|7]\n"
         "                  [--peer=ort|none] [--format=md|csv|json] [--out=FILE] [--plot=FILE.svg]\n"
         "                  [--models-dir=DIR] [--local-dir=DIR] [--peers-dir=DIR] [--no-progress]\n"
         "\n"
         "Reproduces the INT8-vs-FP32 tables: (1) accuracy drop per model and ISA, (2) throughput\n"
         "speed-up per model and ISA, with ONNX Runtime beside octet.\n"
         "  --peer         ort (default): ONNX Runtime measured beside octet; a peer that cannot be\n"
         "                 installed or loaded is an error. none: octet alone, said in the tables\n"
         "  --isa          ISA column(s); all = every level this CPU has, _fast variants included\n"
         "  --zoo          model zoo (default $OCTET_ZOO, then ../shared/zoo beside the sources)\n"
         "  --models-dir   torchvision exports of tools/export_torchvision.py (default build/models)\n"
         "  --local-dir    nets of tools/train_fmnist.py (default build/fmnist)\n"
         "  --peers-dir    onnxruntime-node cache (default build/peers; installed when missing)\n"
         "  --threads      intra-op threads per stream (default: cores / streams)\n"
         "  --spin-us      microseconds octet's pool threads busy-wait for work before sleeping\n"
         "                 (SessionOptions::spin_us; default: the engine's)\n"
         "  --streams      sessions running in parallel threads (default 1)\n"
         "  --time         seconds measured per throughput figure (default 3)\n"
         "  --rounds       with --peer=ort: octet and ONNX Runtime timed in this many alternating\n"
         "                 rounds on the first ISA column, ratios = median per-round ratio (default 5)\n"
         "  --limit        evaluation samples per model (default all)\n"
         "  --calib-samples  calibration samples (default 300), never part of the evaluation\n"
         "  --weight-bits  8 (default) or 7: weights in [-63, 63], exact on vpmaddubsw on every level\n";
}

Options parse_cli(const std::vector<std::string>& args) {
  Options o;
  using Setter = std::function<void(const std::string& flag, const std::string& value)>;
  const std::map<std::string, Setter> setters = {
      {"--isa", [&](auto& f, auto& v) { o.isa = one_of(f, v, kIsaValues); }},
      {"--zoo", [&](auto& f, auto& v) { if (v.empty()) throw UsageError(f + " needs a directory"); o.zoo = v; }},
      {"--models-dir", [&](auto& f, auto& v) { if (v.empty()) throw UsageError(f + " needs a directory"); o.models_dir = v; }},
      {"--local-dir", [&](auto& f, auto& v) { if (v.empty()) throw UsageError(f + " needs a directory"); o.local_dir = v; }},
      {"--peers-dir", [&](auto& f, auto& v) { if (v.empty()) throw UsageError(f + " needs a directory"); o.peers_dir = v; }},
      {"--models", [&](auto& f, auto& v) { o.models = split_list(f, v); }},
      {"--mode", [&](auto& f, auto& v) {
         one_of(f, v, {"accuracy", "throughput", "both"});
         o.mode = v == "accuracy" ? Mode::accuracy : v == "throughput" ? Mode::throughput : Mode::both;
       }},
      {"--threads", [&](auto& f, auto& v) { o.threads = static_cast<int>(parse_integer(f, v, 0, 1024)); }},
      {"--spin-us", [&](auto& f, auto& v) { o.spin_us = static_cast<int>(parse_integer(f, v, 0, 1000000)); }},
      {"--streams", [&](auto& f, auto& v) { o.streams = static_cast<int>(parse_integer(f, v, 1, 256)); }},
      {"--batch", [&](auto& f, auto& v) { o.batch = static_cast<int>(parse_integer(f, v, 1, 4096)); }},
      {"--time", [&](auto& f, auto& v) { o.time_s = parse_seconds(f, v); }},
      {"--rounds", [&](auto& f, auto& v) { o.rounds = static_cast<int>(parse_integer(f, v, 1, 20)); }},
      {"--limit", [&](auto& f, auto& v) { o.limit = parse_integer(f, v, 0, int64_t(1) << 40); }},
      {"--calibration", [&](auto& f, auto& v) { o.calibration = one_of(f, v, kCalibrationValues); }},
      {"--calib-samples", [&](auto& f, auto& v) { o.calib_samples = static_cast<int>(parse_integer(f, v, 1, 1000000)); }},
      {"--weight-bits", [&](auto& f, auto& v) { o.weight_bits = static_cast<int>(parse_integer(f, v, 7, 8)); }},
      {"--peer", [&](auto& f, auto& v) { o.peer = one_of(f, v, {"none", "ort"}); }},
      {"--format", [&](auto& f, auto& v) { o.format = one_of(f, v, {"md", "csv", "json"}); }},
      {"--out", [&](auto& f, auto& v) { if (v.empty()) throw UsageError(f + " needs a file name"); o.out = v; }},
      {"--plot", [&](auto& f, auto& v) {
         if (v.size() < 5 || v.compare(v.size() - 4, 4, ".svg") != 0)
           throw UsageError(f + "=" + v + ": the plot is an SVG file (FILE.svg)");
         o.plot = v;
       }},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      continue;
    }
    if (arg == "--no-progress") {
      o.progress = false;
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "' (see --help)");
    size_t eq = arg.find('=');
    std::string flag = arg.substr(0, eq);
    auto it = setters.find(flag);
    if (it == setters.end()) throw UsageError("unknown option '" + flag + "' (see --help)");
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0)
        throw UsageError(flag + " needs a value");
      value = args[++i];
    }
    it->second(flag, value);
  }
  return o;
}

Options parse_cli(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parse_cli(args);
}

}  // namespace octet::bench
