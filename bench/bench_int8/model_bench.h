// One model through the whole benchmark: data and calibration samples, FP32 and INT8
// compilation per ISA column, accuracy, throughput, memory and the ONNX Runtime peer.
// Failures are recorded in the rows (json: null figure plus "error") and the run goes on.
#pragma once

#include <string>
#include <vector>

#include "bench_int8/catalog.h"
#include "bench_int8/cli.h"
#include "bench_int8/peer_ort.h"
#include "bench_int8/published.h"
#include "bench_int8/results.h"

namespace octet::bench {

struct BenchContext {
  Options options;
  std::vector<std::string> isas;  // the ISA columns, best first
  int threads = 1;                // intra-op threads per stream
  const PublishedTables* published = nullptr;
  const OrtPeer* peer = nullptr;  // null: --peer=none (an unavailable peer stops the run first)
  std::string work_dir;           // scratch space (QDQ exports, peer inputs)
};

struct ModelOutcome {
  std::vector<Row> rows;  // one per ISA column
  bool failed_entirely = false;
  std::vector<std::string> notes;  // run-level remarks (INT8 route taken, ...)
};

ModelOutcome bench_model(const ModelEntry& model, const BenchContext& context);

}  // namespace octet::bench
