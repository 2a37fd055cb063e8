// bench_int8: the INT8-vs-FP32 tables (accuracy drop, throughput speed-up) per model and ISA,
// with ONNX Runtime beside octet. Exit status: 0 ok, 1 a model failed entirely, 2 bad usage.
#include <cstdio>
#include <exception>

#include "bench_int8/cli.h"
#include "bench_int8/runner.h"

int main(int argc, char** argv) {
  using namespace octet::bench;
  try {
    const Options options = parse_cli(argc, argv);
    if (options.help) {
      std::fputs(usage_text().c_str(), stdout);
      return 0;
    }
    return run_bench_int8(options);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "bench_int8: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_int8: %s\n", e.what());
    return 1;
  }
}
