// What one bench_int8 run measured: one Row per (model, ISA column), plus the machine and the
// configuration. The report writers (md, csv, json) and the plot read only this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_int8/published.h"

namespace octet::bench {

struct SpeedFigures {
  double ips = 0;
  double latency_median_ms = 0, latency_p90_ms = 0;
};

struct PeerFigures {
  std::string name = "ort";
  std::optional<double> fp32_ips, int8_ips, int8_accuracy, int8_agreement;
  // ORT on octet's QDQ export against octet's own INT8 run (ISA compared_isa): top-1
  // agreement in percent, and the largest output difference, absolute and in LSBs of the
  // output's quantization scale (when the output is a quantized tensor).
  std::optional<double> octet_agreement, max_abs_diff, max_diff_lsb;
  std::string compared_isa;
  // Timing beside octet's first ISA column: `rounds` alternating rounds (octet FP32, octet
  // INT8, ORT FP32, ORT INT8, each for --time), fp32_ips / int8_ips the median ORT rounds and
  // the ratios octet / ORT the median of the per-round ratios, so that a slow spell on a shared
  // machine hits both sides of a ratio rather than one.
  int rounds = 0;
  std::optional<double> fp32_ratio, int8_ratio;
  std::string error;  // "" when everything measured
};

struct Row {
  std::string model, dataset, metric, isa;
  std::string source;       // zoo | local | torchvision
  std::string classic_row;  // published row name, "" if none
  int64_t samples = 0;      // evaluated samples (0: no accuracy figures)
  std::string calibration;  // "train split" | "held-out slice" | "synthetic N(0,1), 32 samples"
  std::string no_data;      // why table 1 has no figures ("no labelled data")
  std::optional<double> fp32, int8, drop;        // headline metric, percent / points
  std::optional<double> fp32_top5, int8_top5;    // where classes > 5
  std::optional<double> agreement;               // % samples with INT8 top-1 == FP32 top-1
  std::optional<double> fp32_reference;          // manifest's FP32 figure (full dataset)
  std::optional<SpeedFigures> fp32_speed, int8_speed;
  std::optional<double> speedup;
  int batch = 1;
  std::string batch_note;  // "batch dim fixed at 1 in the model"
  std::optional<double> fp32_mem_mb, int8_mem_mb;
  std::optional<PeerFigures> peer;
  std::vector<PublishedFigure> published_drop, published_speedup;
  std::vector<std::string> errors;  // what failed (INT8 compile, peer, ...)
  bool failed = false;              // nothing measured: a bad manifest entry, a model that does not load

  std::string error_text() const;  // errors joined with "; "
};

struct MachineInfo {
  std::string cpu;
  int cores = 0;
  std::vector<std::string> isa_levels;
};

struct CoverageEntry {
  std::string classic_row;
  std::string status;  // "real weights + data", "architecture only (speed)", "not available: ..."
  std::string model;   // octet's model name measured for it, "" if none
};

struct Report {
  MachineInfo machine;
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  std::vector<std::string> isas;  // ISA columns, in order
  std::vector<Row> rows;
  std::vector<CoverageEntry> coverage;
  std::vector<std::string> notes;  // run-level notes printed under the tables
  double elapsed_s = 0;
};

}  // namespace octet::bench
