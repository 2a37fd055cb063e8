// bench_int8's command line: the documented flags, parsed and validated.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace octet::bench {

// A command-line mistake: main() prints it on one line and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

enum class Mode { accuracy, throughput, both };

struct Options {
  std::string isa = "auto";  // auto|ref|avx2|avx2_fast|avx512|avx512_fast|vnni|all
  std::string zoo;           // --zoo; empty = $OCTET_ZOO, then ../shared/zoo
  std::string models_dir;    // torchvision exports; empty = build/models in the source tree
  std::string local_dir;     // locally trained nets; empty = build/fmnist in the source tree
  std::string peers_dir;     // ONNX Runtime cache; empty = build/peers in the source tree
  std::vector<std::string> models;  // empty = every model found
  Mode mode = Mode::both;
  int threads = 0;           // intra-op threads per stream; 0 = cores / streams
  int streams = 1;           // sessions run in parallel threads
  int spin_us = -1;          // SessionOptions::spin_us; -1 = the engine's default
  int batch = 1;
  double time_s = 3.0;       // measured duration per throughput figure
  int rounds = 5;            // with a peer: alternating octet / ORT rounds for the first ISA column
  int64_t limit = 0;         // evaluation samples cap; 0 = all
  std::string calibration = "auto";  // minmax|percentile|entropy|mse|auto
  int calib_samples = 300;
  int weight_bits = 8;        // 8, or 7 (exact on vpmaddubsw)
  std::string peer = "ort";   // ort|none: ONNX Runtime beside octet unless --peer=none
  std::string format = "md";  // md|csv|json
  std::string out;            // empty = stdout
  std::string plot;           // SVG file, empty = none
  bool progress = true;       // progress bars on stderr
  bool help = false;

  bool wants_accuracy() const { return mode != Mode::throughput; }
  bool wants_throughput() const { return mode != Mode::accuracy; }
};

// Parses argv[1..]. Accepts --flag=value and --flag value. Throws UsageError.
Options parse_cli(const std::vector<std::string>& args);
Options parse_cli(int argc, char** argv);
std::string usage_text();
const char* mode_name(Mode m);

}  // namespace octet::bench
