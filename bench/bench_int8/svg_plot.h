// A grouped bar chart of the INT8 speed-ups, written as plain SVG by our own code: one group
// per model, one bar per ISA column (octet), and ONNX Runtime's speed-up beside them.
#pragma once

#include <string>

#include "bench_int8/results.h"

namespace octet::bench {

// The SVG document; models without any speed-up are left out.
std::string speedup_chart_svg(const Report& report);
// Writes the chart to path; throws octet::Error when the file cannot be written.
void write_speedup_chart(const Report& report, const std::string& path);

// Escapes &, <, >, " for SVG text and attributes.
std::string xml_escape(const std::string& text);

}  // namespace octet::bench
