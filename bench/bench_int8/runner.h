// The benchmark run: for every selected model, calibrate INT8, evaluate FP32 and INT8 on the
// model's labelled data, time both per ISA column, measure the ONNX Runtime peer, and collect
// the rows of the two tables.
#pragma once

#include <string>
#include <vector>

#include "bench_int8/cli.h"
#include "bench_int8/results.h"

namespace octet::bench {

// The ISA columns --isa asks for: every level the CPU has for "all", else the one level.
// A level the CPU lacks (or OCTET_MAX_ISA forbids) is a UsageError.
std::vector<std::string> select_isas(const std::string& isa);
// The level whose FP32 kernels an ISA column uses ("avx2_fast" -> "avx2").
std::string fp32_isa_of(const std::string& isa);

// Runs everything; *model_failed is set when some model produced no figure at all.
Report run_benchmark(const Options& options, bool* model_failed);

// The whole program after parsing: runs, writes the report and the plot. Returns the exit
// status (0 ok, 1 a model failed entirely). Throws UsageError for bad usage.
int run_bench_int8(const Options& options);

}  // namespace octet::bench
