#include "bench_int8/published.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "bench_int8/jpeg.h"  // read_file_bytes
#include "octet/octet.h"

namespace octet::bench {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (char c : line) {
    if (c == ',') {
      cells.push_back(cell);
      cell.clear();
    } else if (c != '\r') {
      cell.push_back(c);
    }
  }
  cells.push_back(cell);
  return cells;
}

std::vector<PublishedFigure> figures_for(const std::map<std::string, PublishedRow>& table, const std::string& row,
                                         const std::string& isa) {
  std::vector<PublishedFigure> out;
  const std::string wanted = PublishedTables::isa_class(isa);
  auto it = table.find(row);
  if (wanted.empty() || it == table.end()) return out;
  for (const PublishedFigure& f : it->second.figures)
    if (PublishedTables::column_class(f.column) == wanted) out.push_back(f);
  return out;
}

}  // namespace

std::string PublishedTables::column_class(const std::string& header) {
  // Headers look like "i9-10920X (VNNI)", "i7-1185G7 (TGL VNNI)", "i7-6700K (AVX2)".
  const size_t open = header.rfind('(');
  const std::string tag = open == std::string::npos ? header : header.substr(open);
  if (tag.find("VNNI") != std::string::npos) return "VNNI";
  if (tag.find("AVX512") != std::string::npos || tag.find("AVX-512") != std::string::npos) return "AVX512";
  if (tag.find("AVX2") != std::string::npos) return "AVX2";
  return "";
}

std::string PublishedTables::isa_class(const std::string& isa) {
  if (isa == "vnni") return "VNNI";
  if (isa.rfind("avx512", 0) == 0) return "AVX512";
  if (isa.rfind("avx2", 0) == 0) return "AVX2";
  return "";
}

std::map<std::string, PublishedRow> PublishedTables::parse_csv(const std::string& text, const std::string& name,
                                                               std::vector<std::string>* order) {
  std::map<std::string, PublishedRow> rows;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line == "\r") continue;
    std::vector<std::string> cells = split_csv_line(line);
    if (header.empty()) {
      header = cells;
      if (header.size() < 3 || header[0] != "model" || header[1] != "dataset")
        throw Error(name + ": header must start with model,dataset");
      continue;
    }
    if (cells.size() != header.size())
      throw Error(name + ":" + std::to_string(line_number) + ": " + std::to_string(cells.size()) + " cells, header has " +
                  std::to_string(header.size()));
    PublishedRow row;
    row.model = cells[0];
    row.dataset = cells[1];
    size_t first = 2;
    if (header[2] == "metric") {
      row.metric = cells[2];
      first = 3;
    }
    for (size_t c = first; c < cells.size(); ++c) {
      if (cells[c].empty()) continue;
      errno = 0;
      char* end = nullptr;
      double v = std::strtod(cells[c].c_str(), &end);
      if (errno != 0 || *end != '\0')
        throw Error(name + ":" + std::to_string(line_number) + ": '" + cells[c] + "' is not a number");
      row.figures.push_back({header[c], v});
    }
    if (order && std::find(order->begin(), order->end(), row.model) == order->end()) order->push_back(row.model);
    rows[row.model] = row;
  }
  return rows;
}

PublishedTables PublishedTables::load(const std::string& dir) {
  PublishedTables t;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return t;
  auto read = [&](const char* file, std::map<std::string, PublishedRow>* into) {
    const fs::path p = fs::path(dir) / file;
    if (!fs::exists(p, ec)) return;
    std::vector<uint8_t> bytes = read_file_bytes(p.string());
    *into = parse_csv(std::string(bytes.begin(), bytes.end()), p.string(), &t.order_);
  };
  read("accuracy_drop.csv", &t.accuracy_);
  read("throughput_speedup.csv", &t.speedup_);
  return t;
}

std::string PublishedTables::locate(const std::string& zoo_dir, const std::string& source_dir) {
  std::error_code ec;
  if (!zoo_dir.empty()) {
    fs::path beside = fs::path(zoo_dir).parent_path() / "classic-tables";
    if (fs::is_directory(beside, ec)) return beside.string();
  }
  fs::path shared = fs::path(source_dir).parent_path() / "shared" / "classic-tables";
  return fs::is_directory(shared, ec) ? shared.string() : "";
}

std::vector<PublishedFigure> PublishedTables::drop(const std::string& row, const std::string& isa) const {
  return figures_for(accuracy_, row, isa);
}

std::vector<PublishedFigure> PublishedTables::speedup(const std::string& row, const std::string& isa) const {
  return figures_for(speedup_, row, isa);
}

std::vector<std::string> PublishedTables::all_rows() const { return order_; }

std::string format_published(const std::vector<PublishedFigure>& figures, int decimals) {
  if (figures.empty()) return "";
  double lo = figures[0].value, hi = lo;
  for (const PublishedFigure& f : figures) {
    lo = std::min(lo, f.value);
    hi = std::max(hi, f.value);
  }
  char text[64];
  if (lo == hi) std::snprintf(text, sizeof text, "%.*f", decimals, lo);
  else std::snprintf(text, sizeof text, "%.*f-%.*f", decimals, lo, decimals, hi);
  return text;
}

}  // namespace octet::bench
