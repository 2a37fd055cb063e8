// The report formats: md (the two classic tables plus details), csv (one row per model x
// ISA) and json (the schema).
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "bench_int8/results.h"

namespace octet::bench {

void write_markdown(const Report& report, std::ostream& out);
void write_csv(const Report& report, std::ostream& out);
nlohmann::ordered_json report_json(const Report& report);
void write_json(const Report& report, std::ostream& out);
// format: "md" | "csv" | "json"
void write_report(const Report& report, const std::string& format, std::ostream& out);

// Quotes a CSV field when it holds a comma, quote or line break.
std::string csv_field(const std::string& text);

}  // namespace octet::bench
