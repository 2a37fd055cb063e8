#include "bench_int8/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "octet/octet.h"

namespace octet::bench {
namespace {

const char* kPalette[] = {"#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#bcbd22"};
const char* kPeerColor = "#7f7f7f";

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

struct Series {
  std::string label, color;
};

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string speedup_chart_svg(const Report& report) {
  // Data: per model, the speed-up per ISA column and ORT's.
  std::vector<Series> series;
  for (size_t i = 0; i < report.isas.size(); ++i)
    series.push_back({"octet " + report.isas[i], kPalette[i % (sizeof kPalette / sizeof *kPalette)]});
  bool peer = false;
  for (const Row& r : report.rows) peer |= r.peer && r.peer->fp32_ips && r.peer->int8_ips;
  if (peer) series.push_back({"ONNX Runtime", kPeerColor});

  struct Group {
    std::string model;
    std::vector<std::optional<double>> values;
  };
  std::vector<Group> groups;
  for (const Row& r : report.rows) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.model == r.model; });
    if (it == groups.end()) {
      groups.push_back({r.model, std::vector<std::optional<double>>(series.size())});
      it = groups.end() - 1;
    }
    auto col = std::find(report.isas.begin(), report.isas.end(), r.isa);
    if (col != report.isas.end() && r.speedup) it->values[col - report.isas.begin()] = r.speedup;
    if (peer && r.peer && r.peer->fp32_ips && r.peer->int8_ips && *r.peer->fp32_ips > 0)
      it->values.back() = *r.peer->int8_ips / *r.peer->fp32_ips;
  }
  groups.erase(std::remove_if(groups.begin(), groups.end(),
                              [](const Group& g) {
                                return std::none_of(g.values.begin(), g.values.end(), [](auto& v) { return v.has_value(); });
                              }),
               groups.end());

  double max_value = 1.0;
  for (const Group& g : groups)
    for (const auto& v : g.values)
      if (v && std::isfinite(*v)) max_value = std::max(max_value, *v);
  const double axis_max = std::ceil(max_value * 1.1 + 1e-9);

  const double bar = 14, gap = 18, left = 60, top = 50, plot_h = 300, bottom = 130;
  const double group_w = std::max<size_t>(1, series.size()) * bar + gap;
  const double plot_w = std::max(1.0, double(groups.size())) * group_w;
  const double width = left + plot_w + 190, height = top + plot_h + bottom;
  auto y_of = [&](double v) { return top + plot_h - plot_h * std::min(v, axis_max) / axis_max; };

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width) << "\" height=\"" << num(height)
    << "\" viewBox=\"0 0 " << num(width) << " " << num(height) << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << num(left) << "\" y=\"24\" font-size=\"15\" font-weight=\"bold\">INT8 speed-up over FP32 ("
    << xml_escape(report.machine.cpu) << ")</text>\n";
  // Grid and y axis.
  const int ticks = static_cast<int>(axis_max);
  const int step = ticks > 10 ? (ticks + 9) / 10 : 1;
  for (int t = 0; t <= ticks; t += step) {
    const double y = y_of(t);
    s << "<line x1=\"" << num(left) << "\" y1=\"" << num(y) << "\" x2=\"" << num(left + plot_w) << "\" y2=\"" << num(y)
      << "\" stroke=\"" << (t == 1 ? "#d62728" : "#dddddd") << "\"" << (t == 1 ? " stroke-dasharray=\"4,3\"" : "") << "/>\n";
    s << "<text x=\"" << num(left - 6) << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">" << t << "x</text>\n";
  }
  s << "<line x1=\"" << num(left) << "\" y1=\"" << num(top) << "\" x2=\"" << num(left) << "\" y2=\"" << num(top + plot_h)
    << "\" stroke=\"black\"/>\n";
  s << "<text transform=\"translate(16," << num(top + plot_h / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
       "INT8 / FP32 throughput</text>\n";
  // Bars.
  for (size_t g = 0; g < groups.size(); ++g) {
    const double x0 = left + gap / 2 + g * group_w;
    for (size_t k = 0; k < series.size(); ++k) {
      const auto& v = groups[g].values[k];
      if (!v || !std::isfinite(*v)) continue;
      const double x = x0 + k * bar, y = y_of(*v);
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(bar - 2) << "\" height=\""
        << num(top + plot_h - y) << "\" fill=\"" << series[k].color << "\"><title>" << xml_escape(groups[g].model) << ", "
        << xml_escape(series[k].label) << ": " << num(*v) << "x</title></rect>\n";
    }
    const double cx = x0 + series.size() * bar / 2;
    s << "<text transform=\"translate(" << num(cx) << "," << num(top + plot_h + 12) << ") rotate(40)\">"
      << xml_escape(groups[g].model) << "</text>\n";
  }
  if (groups.empty())
    s << "<text x=\"" << num(left + 10) << "\" y=\"" << num(top + plot_h / 2) << "\">no INT8 speed-up was measured</text>\n";
  // Legend.
  for (size_t k = 0; k < series.size(); ++k) {
    const double x = left + plot_w + 20, y = top + 10 + 18 * k;
    s << "<rect x=\"" << num(x) << "\" y=\"" << num(y - 10) << "\" width=\"12\" height=\"12\" fill=\"" << series[k].color
      << "\"/>\n<text x=\"" << num(x + 18) << "\" y=\"" << num(y) << "\">" << xml_escape(series[k].label) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

void write_speedup_chart(const Report& report, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write the plot");
  out << speedup_chart_svg(report);
  if (!out) throw Error(path + ": write failed");
}

}  // namespace octet::bench
