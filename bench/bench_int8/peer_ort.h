// ONNX Runtime as the peer: bench/peers/ort_bench.mjs run by Node.js with onnxruntime-node,
// on the same FP32 model and on the QDQ export of octet's INT8 model. onnxruntime-node is
// installed into a cache folder (bench/peers/install_ort.sh) when missing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench_int8/dataset.h"

namespace octet::bench {

struct OrtPeer {
  std::string node;     // the node executable
  std::string script;   // bench/peers/ort_bench.mjs
  std::string ort_dir;  // folder holding node_modules/onnxruntime-node
};

struct OrtSpeed {
  double ips = 0;
  double latency_median_ms = 0, latency_p90_ms = 0;
};

// Finds node and ort_bench.mjs in the source tree and installs onnxruntime-node into
// peers_dir when it is not there. Throws octet::Error with the reason.
OrtPeer prepare_ort_peer(const std::string& source_dir, const std::string& peers_dir);

// Throughput with `streams` sessions of `threads` intra-op threads for `seconds`. input_dir:
// a test_data_set folder whose input_N.pb feed the model ("" = ort_bench's random inputs).
OrtSpeed ort_throughput(const OrtPeer& peer, const std::string& model, int threads, int streams, double seconds,
                        const std::string& input_dir);

// What ort_bench --eval-inputs returns for a set of samples.
struct OrtEvalOptions {
  std::string output;                            // the output to read ("" = the model's first)
  std::vector<float>* raw_outputs = nullptr;     // when set: every sample's float output, concatenated
  std::function<void(int64_t)> progress;         // samples done so far
};

// Arg-max of one output for `count` samples that sample(k) produces, through
// ort_bench --eval-inputs. Inputs go through OCTEVAL1 files in work_dir, in chunks of at most
// ~256 MB so that ImageNet-sized sets never need one huge file.
std::vector<int64_t> ort_eval_argmax(const OrtPeer& peer, const std::string& model, int threads, int64_t count,
                                     const std::function<Inputs(int64_t)>& sample, const std::string& work_dir,
                                     const OrtEvalOptions& options = {});

// Writes samples in the OCTEVAL1 format of bench/peers/README.md (exposed for tests).
void write_eval_inputs(const std::string& path, const std::vector<Inputs>& samples);

// Runs a shell command; returns its stdout, throws octet::Error with the last `error_chars`
// characters of its stderr on failure.
std::string run_command(const std::vector<std::string>& argv, const std::string& what, size_t error_chars = 300);
std::string shell_quote(const std::string& arg);

}  // namespace octet::bench
