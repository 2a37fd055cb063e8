#include "bench_int8/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "octet/octet.h"

namespace octet::bench {
namespace {

std::string fixed(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

std::string fixed(const std::optional<double>& v, int decimals, const std::string& missing = "") {
  return v ? fixed(*v, decimals) : missing;
}

nlohmann::ordered_json number(const std::optional<double>& v, int decimals = 4) {
  if (!v || !std::isfinite(*v)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(*v * scale) / scale;
}

// Models in the order of their first row.
std::vector<std::string> model_order(const Report& r) {
  std::vector<std::string> models;
  for (const Row& row : r.rows)
    if (models.empty() || std::find(models.begin(), models.end(), row.model) == models.end()) models.push_back(row.model);
  return models;
}

const Row* find_row(const Report& r, const std::string& model, const std::string& isa) {
  for (const Row& row : r.rows)
    if (row.model == model && row.isa == isa) return &row;
  return nullptr;
}

const Row* first_row(const Report& r, const std::string& model) {
  for (const Row& row : r.rows)
    if (row.model == model) return &row;
  return nullptr;
}

// Markdown cells must not break the table.
std::string cell(std::string text) {
  for (char& c : text)
    if (c == '|' || c == '\n') c = c == '|' ? '/' : ' ';
  return text;
}

// "n/a (reason)" with a short reason: the first error, cut at a readable length; "error (...)"
// for a model that could not be benchmarked at all.
std::string not_available(const Row& row) {
  std::string reason = row.errors.empty() ? "not measured" : row.errors.front();
  if (reason.size() > 90) reason = reason.substr(0, 87) + "...";
  return (row.failed ? "error (" : "n/a (") + cell(reason) + ")";
}

std::string ratio(const std::optional<double>& a, const std::optional<double>& b) {
  if (!a || !b || *b <= 0) return "";
  return fixed(*a / *b, 2) + "x";
}

void table_header(std::ostream& out, const std::vector<std::string>& columns) {
  out << "|";
  for (const std::string& c : columns) out << " " << c << " |";
  out << "\n|";
  for (size_t i = 0; i < columns.size(); ++i) out << "---|";
  out << "\n";
}

void table_row(std::ostream& out, const std::vector<std::string>& cells) {
  out << "|";
  for (const std::string& c : cells) out << " " << cell(c) << " |";
  out << "\n";
}

bool any_peer(const Report& r) {
  for (const Row& row : r.rows)
    if (row.peer) return true;
  return false;
}

}  // namespace

std::string Row::error_text() const {
  std::string out;
  for (const std::string& e : errors) out += (out.empty() ? "" : "; ") + e;
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void write_markdown(const Report& r, std::ostream& out) {
  const std::vector<std::string> models = model_order(r);
  const bool peer = any_peer(r);
  const std::string first_isa = r.isas.empty() ? "" : r.isas.front();

  out << "# octet bench_int8: INT8 vs FP32\n\n";
  out << "CPU: " << r.machine.cpu << ", " << r.machine.cores << " cores; ISA columns: ";
  for (size_t i = 0; i < r.isas.size(); ++i) out << (i ? ", " : "") << r.isas[i];
  out << ". Published figures (pub.) are OpenVINO's, from the CPU column of the same ISA class.\n\n";
  if (r.config.contains("peer") && r.config["peer"] == "none")
    out << "**ONNX Runtime was not measured in this run (--peer=none): no peer columns.**\n\n";

  // ---------------------------------------------------------------- table 1
  const bool accuracy_measured = !(r.config.contains("mode") && r.config["mode"] == "throughput");
  out << "## Table 1: absolute accuracy drop FP32 -> INT8 (points)\n\n";
  std::vector<std::string> columns = {"model", "dataset", "metric", "samples", "calibration", "FP32 %"};
  for (const std::string& isa : r.isas) columns.push_back(isa);
  if (peer) columns.push_back("ORT INT8 % (octet QDQ)");
  table_header(out, columns);
  for (const std::string& model : models) {
    const Row* base = first_row(r, model);
    if (base->failed || !base->no_data.empty()) {
      std::vector<std::string> cells = {model, base->failed ? "error" : "n/a", "", "", "", ""};
      for (size_t i = 0; i < r.isas.size(); ++i)
        cells.push_back(base->failed ? not_available(*base) : "n/a (" + base->no_data + ")");
      if (peer) cells.push_back("");
      table_row(out, cells);
      continue;
    }
    std::vector<std::string> cells = {model, base->dataset, base->metric, std::to_string(base->samples),
                                      base->calibration, fixed(base->fp32, 2, "n/a")};
    for (const std::string& isa : r.isas) {
      const Row* row = find_row(r, model, isa);
      if (!accuracy_measured) {
        cells.push_back("not measured (--mode=throughput)");
        continue;
      }
      if (!row || !row->drop) {
        cells.push_back(row ? not_available(*row) : "");
        continue;
      }
      std::string text = fixed(row->drop, 2);
      if (std::string pub = format_published(row->published_drop, 2); !pub.empty()) text += " (pub. " + pub + ")";
      cells.push_back(text);
    }
    if (peer) cells.push_back(base->peer ? fixed(base->peer->int8_accuracy, 2, "n/a") : "");
    table_row(out, cells);
  }

  // INT8 accuracy and agreement per ISA: the drop hides how many predictions changed.
  bool any_accuracy = false;
  for (const Row& row : r.rows) any_accuracy |= row.fp32.has_value();
  if (any_accuracy) {
    out << "\nINT8 accuracy and top-1 agreement with FP32 (% of samples whose INT8 top-1 is the FP32 top-1):\n\n";
    table_header(out, {"model", "isa", "FP32 %", "INT8 %", "drop", "agreement %", "FP32 top-5 %", "INT8 top-5 %",
                       "FP32 reference %"});
    for (const Row& row : r.rows) {
      if (!row.fp32) continue;
      table_row(out, {row.model, row.isa, fixed(row.fp32, 2), fixed(row.int8, 2, not_available(row)), fixed(row.drop, 2),
                      fixed(row.agreement, 2), fixed(row.fp32_top5, 2), fixed(row.int8_top5, 2),
                      fixed(row.fp32_reference, 2)});
    }
  }

  // The same quantization in two engines: ORT on octet's QDQ export against octet's INT8.
  bool any_peer_comparison = false;
  for (const Row& row : r.rows) any_peer_comparison |= row.peer && row.peer->octet_agreement.has_value();
  if (any_peer_comparison) {
    out << "\nONNX Runtime on octet's QDQ export vs octet INT8 (same quantization; LSB = the output's u8 scale):\n\n";
    table_header(out, {"model", "octet isa", "top-1 agreement %", "max abs diff", "max abs diff (LSB)"});
    for (const std::string& model : models) {
      const Row* base = first_row(r, model);
      if (!base->peer || !base->peer->octet_agreement) continue;
      const PeerFigures& p = *base->peer;
      table_row(out, {model, p.compared_isa, fixed(p.octet_agreement, 2), fixed(p.max_abs_diff, 6),
                      fixed(p.max_diff_lsb, 2, "n/a (FP32 output)")});
    }
  }

  // ---------------------------------------------------------------- table 2
  const bool speed_measured = !(r.config.contains("mode") && r.config["mode"] == "accuracy");
  out << "\n## Table 2: throughput speed-up INT8 vs FP32\n\n";
  columns = {"model", "dataset", "batch"};
  for (const std::string& isa : r.isas) columns.push_back(isa);
  if (peer) {
    for (const char* c : {"ORT FP32 ips", "ORT INT8 ips", "ORT speed-up"}) columns.push_back(c);
    columns.push_back("octet/ORT FP32 (" + first_isa + ")");
    columns.push_back("octet/ORT INT8 (" + first_isa + ")");
  }
  columns.push_back("FP32 MiB");
  columns.push_back("INT8 MiB");
  table_header(out, columns);
  for (const std::string& model : models) {
    const Row* base = first_row(r, model);
    const Row* lead = find_row(r, model, first_isa);
    std::vector<std::string> cells = {model, base->no_data.empty() ? base->dataset : "n/a",
                                      std::to_string(base->batch) + (base->batch_note.empty() ? "" : " (" + base->batch_note + ")")};
    for (const std::string& isa : r.isas) {
      const Row* row = find_row(r, model, isa);
      if (!speed_measured) {
        cells.push_back("not measured (--mode=accuracy)");
        continue;
      }
      if (!row || !row->speedup) {
        cells.push_back(row ? not_available(*row) : "");
        continue;
      }
      std::string text = fixed(*row->speedup, 2) + "x";
      if (std::string pub = format_published(row->published_speedup, 1); !pub.empty()) text += " (pub. " + pub + ")";
      cells.push_back(text);
    }
    if (peer) {
      const std::optional<PeerFigures>& p = base->peer;
      auto ips = [](const std::optional<double>& v) { return v ? fixed(*v, 1) : std::string("n/a"); };
      cells.push_back(p ? ips(p->fp32_ips) : "");
      cells.push_back(p ? ips(p->int8_ips) : "");
      cells.push_back(p ? ratio(p->int8_ips, p->fp32_ips) : "");
      std::optional<double> our_fp32 = lead && lead->fp32_speed ? std::optional<double>(lead->fp32_speed->ips) : std::nullopt;
      std::optional<double> our_int8 = lead && lead->int8_speed ? std::optional<double>(lead->int8_speed->ips) : std::nullopt;
      // Timed in alternating rounds: the median per-round ratio; otherwise the two figures.
      auto versus = [&](const std::optional<double>& rounds, const std::optional<double>& ours,
                        const std::optional<double>& theirs) {
        return rounds ? fixed(*rounds, 2) + "x" : ratio(ours, theirs);
      };
      cells.push_back(p ? versus(p->fp32_ratio, our_fp32, p->fp32_ips) : "");
      cells.push_back(p ? versus(p->int8_ratio, our_int8, p->int8_ips) : "");
    }
    const Row* mem = lead ? lead : base;
    cells.push_back(fixed(mem->fp32_mem_mb, 1));
    cells.push_back(fixed(mem->int8_mem_mb, 1));
    table_row(out, cells);
  }

  int rounds = 0;
  for (const Row& row : r.rows)
    if (row.peer) rounds = std::max(rounds, row.peer->rounds);
  if (peer && rounds > 0)
    out << "\n" << first_isa << " and ONNX Runtime were timed in " << rounds
        << " alternating round" << (rounds > 1 ? "s" : "") << " (octet FP32, octet INT8, ORT FP32, ORT INT8); "
        << "their figures are the median rounds, the " << first_isa
        << " speed-up and the octet/ORT ratios the median per-round ratios.\n";

  bool any_speed = false;
  for (const Row& row : r.rows) any_speed |= row.fp32_speed.has_value() || row.int8_speed.has_value();
  if (any_speed) {
    out << "\nThroughput (inferences/s, median of repeated windows) and latency per run (ms, median / p90):\n\n";
    table_header(out, {"model", "isa", "batch", "FP32 ips", "INT8 ips", "FP32 latency", "INT8 latency"});
    for (const Row& row : r.rows) {
      if (!row.fp32_speed && !row.int8_speed) continue;
      auto latency = [](const std::optional<SpeedFigures>& s) {
        return s ? fixed(s->latency_median_ms, 2) + " / " + fixed(s->latency_p90_ms, 2) : std::string("");
      };
      table_row(out, {row.model, row.isa, std::to_string(row.batch), row.fp32_speed ? fixed(row.fp32_speed->ips, 1) : "",
                      row.int8_speed ? fixed(row.int8_speed->ips, 1) : not_available(row), latency(row.fp32_speed),
                      latency(row.int8_speed)});
    }
  }

  // ---------------------------------------------------------------- coverage
  if (!r.coverage.empty()) {
    out << "\n## Classic table rows covered by this run\n\n";
    table_header(out, {"classic row", "status", "octet model"});
    for (const CoverageEntry& c : r.coverage) table_row(out, {c.classic_row, c.status, c.model});
  }

  // ---------------------------------------------------------------- notes
  std::vector<std::string> errors;
  for (const Row& row : r.rows)
    for (const std::string& e : row.errors) {
      std::string line = row.model + " [" + row.isa + "]: " + e;
      if (std::find(errors.begin(), errors.end(), line) == errors.end()) errors.push_back(line);
    }
  for (const Row& row : r.rows)
    if (row.peer && !row.peer->error.empty()) {
      std::string line = row.model + ": ONNX Runtime: " + row.peer->error;
      if (std::find(errors.begin(), errors.end(), line) == errors.end()) errors.push_back(line);
    }
  if (!r.notes.empty() || !errors.empty()) {
    out << "\nNotes:\n";
    for (const std::string& n : r.notes) out << "- " << n << "\n";
    for (const std::string& e : errors) out << "- " << e << "\n";
  }
  out << "\nTotal time: " << fixed(r.elapsed_s, 1) << " s.\n";
}

void write_csv(const Report& r, std::ostream& out) {
  const std::vector<std::string> header = {
      "model", "dataset", "metric", "isa", "samples", "calibration", "fp32", "int8", "drop", "agreement",
      "fp32_top5", "int8_top5", "fp32_ips", "int8_ips", "speedup", "fp32_latency_ms", "fp32_latency_p90_ms",
      "int8_latency_ms", "int8_latency_p90_ms", "batch", "fp32_mem_mb", "int8_mem_mb", "peer", "peer_fp32_ips",
      "peer_int8_ips", "peer_fp32_ratio", "peer_int8_ratio", "peer_int8_accuracy", "peer_octet_agreement", "peer_max_diff_lsb", "published_row", "published_drop", "published_speedup", "error"};
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << header[i];
  out << "\n";
  for (const Row& row : r.rows) {
    auto speed = [](const std::optional<SpeedFigures>& s, int which) -> std::string {
      if (!s) return "";
      return fixed(which == 0 ? s->ips : which == 1 ? s->latency_median_ms : s->latency_p90_ms, which == 0 ? 2 : 3);
    };
    std::vector<std::string> cells = {
        row.model, row.no_data.empty() ? row.dataset : "", row.metric, row.isa,
        std::to_string(row.samples), row.calibration, fixed(row.fp32, 4), fixed(row.int8, 4), fixed(row.drop, 4),
        fixed(row.agreement, 4), fixed(row.fp32_top5, 4), fixed(row.int8_top5, 4), speed(row.fp32_speed, 0),
        speed(row.int8_speed, 0), fixed(row.speedup, 4), speed(row.fp32_speed, 1), speed(row.fp32_speed, 2),
        speed(row.int8_speed, 1), speed(row.int8_speed, 2), std::to_string(row.batch), fixed(row.fp32_mem_mb, 3),
        fixed(row.int8_mem_mb, 3), row.peer ? row.peer->name : "",
        row.peer ? fixed(row.peer->fp32_ips, 2) : "", row.peer ? fixed(row.peer->int8_ips, 2) : "",
        row.peer ? fixed(row.peer->fp32_ratio, 4) : "", row.peer ? fixed(row.peer->int8_ratio, 4) : "",
        row.peer ? fixed(row.peer->int8_accuracy, 4) : "", row.peer ? fixed(row.peer->octet_agreement, 4) : "",
        row.peer ? fixed(row.peer->max_diff_lsb, 3) : "", row.classic_row,
        format_published(row.published_drop, 2), format_published(row.published_speedup, 1), row.error_text()};
    for (size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_field(cells[i]);
    out << "\n";
  }
}

nlohmann::ordered_json report_json(const Report& r) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const Row& row : r.rows) {
    nlohmann::ordered_json j;
    j["model"] = row.model;
    j["dataset"] = row.no_data.empty() ? nlohmann::ordered_json(row.dataset) : nlohmann::ordered_json(nullptr);
    j["metric"] = row.metric.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.metric);
    j["isa"] = row.isa;
    j["samples"] = row.samples;
    j["fp32"] = number(row.fp32);
    j["int8"] = number(row.int8);
    j["drop"] = number(row.drop);
    j["fp32_ips"] = row.fp32_speed ? number(row.fp32_speed->ips, 3) : nlohmann::ordered_json(nullptr);
    j["int8_ips"] = row.int8_speed ? number(row.int8_speed->ips, 3) : nlohmann::ordered_json(nullptr);
    j["speedup"] = number(row.speedup);
    if (row.peer) {
      j["peer"] = {{"name", row.peer->name},
                   {"fp32_ips", number(row.peer->fp32_ips, 3)},
                   {"int8_ips", number(row.peer->int8_ips, 3)},
                   {"rounds", row.peer->rounds > 0 ? nlohmann::ordered_json(row.peer->rounds) : nlohmann::ordered_json(nullptr)},
                   {"octet_vs_peer_fp32", number(row.peer->fp32_ratio, 4)},
                   {"octet_vs_peer_int8", number(row.peer->int8_ratio, 4)},
                   {"int8_accuracy", number(row.peer->int8_accuracy)},
                   {"int8_agreement", number(row.peer->int8_agreement)},
                   {"octet_int8_agreement", number(row.peer->octet_agreement)},
                   {"max_abs_diff", number(row.peer->max_abs_diff, 6)},
                   {"max_diff_lsb", number(row.peer->max_diff_lsb, 3)},
                   {"error", row.peer->error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.peer->error)}};
    } else {
      j["peer"] = nullptr;
    }
    j["agreement"] = number(row.agreement);
    j["fp32_mem_mb"] = number(row.fp32_mem_mb, 3);
    j["int8_mem_mb"] = number(row.int8_mem_mb, 3);
    // Beyond the schema: what the tables print beside the figures.
    j["source"] = row.source;
    j["calibration"] = row.calibration.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.calibration);
    j["no_data"] = row.no_data.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.no_data);
    j["top5"] = {{"fp32", number(row.fp32_top5)}, {"int8", number(row.int8_top5)}};
    j["fp32_reference"] = number(row.fp32_reference);
    auto latency = [](const std::optional<SpeedFigures>& s) -> nlohmann::ordered_json {
      if (!s) return nullptr;
      return {{"median", number(s->latency_median_ms, 3)}, {"p90", number(s->latency_p90_ms, 3)}};
    };
    j["latency_ms"] = {{"fp32", latency(row.fp32_speed)}, {"int8", latency(row.int8_speed)}};
    j["batch"] = row.batch;
    j["batch_note"] = row.batch_note.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.batch_note);
    nlohmann::ordered_json published = nullptr;
    if (!row.classic_row.empty()) {
      published = {{"row", row.classic_row}, {"drop", nlohmann::ordered_json::object()}, {"speedup", nlohmann::ordered_json::object()}};
      for (const PublishedFigure& f : row.published_drop) published["drop"][f.column] = f.value;
      for (const PublishedFigure& f : row.published_speedup) published["speedup"][f.column] = f.value;
    }
    j["published"] = published;
    j["error"] = row.errors.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.error_text());
    j["failed"] = row.failed;
    rows.push_back(std::move(j));
  }
  nlohmann::ordered_json coverage = nlohmann::ordered_json::array();
  for (const CoverageEntry& c : r.coverage)
    coverage.push_back({{"row", c.classic_row}, {"status", c.status}, {"model", c.model.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(c.model)}});
  return {{"machine", {{"cpu", r.machine.cpu}, {"cores", r.machine.cores}, {"isa_levels", r.machine.isa_levels}}},
          {"config", r.config},
          {"rows", rows},
          {"coverage", coverage},
          {"notes", r.notes},
          {"elapsed_s", number(r.elapsed_s, 1)}};
}

void write_json(const Report& report, std::ostream& out) { out << report_json(report).dump(2) << "\n"; }

void write_report(const Report& report, const std::string& format, std::ostream& out) {
  if (format == "md") write_markdown(report, out);
  else if (format == "csv") write_csv(report, out);
  else if (format == "json") write_json(report, out);
  else throw Error("report: unknown format '" + format + "'");
}

}  // namespace octet::bench
