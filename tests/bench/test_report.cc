// Report formats (json parses back with the issue's schema, csv has one row per model x ISA,
// md has both tables), published figures per ISA class, and the SVG chart.
#include <gtest/gtest.h>

#include <sstream>

#include "bench_int8/published.h"
#include "bench_int8/report.h"
#include "bench_int8/svg_plot.h"
#include "octet/octet.h"

namespace octet::bench {
namespace {

Report sample_report() {
  Report r;
  r.machine = {"Test CPU", 2, {"vnni", "avx2", "ref"}};
  r.config = {{"isa", "all"}, {"mode", "both"}};
  r.isas = {"vnni", "avx2"};
  for (const std::string& isa : r.isas) {
    Row row;
    row.model = "mobilenet-v2-1.0-224";
    row.dataset = "imagenet-val-1300";
    row.metric = "top-1";
    row.isa = isa;
    row.samples = 1000;
    row.calibration = "held-out slice";
    row.classic_row = "mobilenet-v2-1.0-224-TF";
    row.fp32 = 78.5;
    row.int8 = isa == "vnni" ? 78.2 : std::optional<double>();
    if (row.int8) row.drop = *row.fp32 - *row.int8;
    row.agreement = row.int8 ? std::optional<double>(97.5) : std::nullopt;
    row.fp32_speed = SpeedFigures{100, 10, 12};
    if (row.int8) {
      row.int8_speed = SpeedFigures{300, 3.3, 4};
      row.speedup = 3.0;
    } else {
      row.errors.push_back("INT8 compile: not available, yet");
    }
    row.fp32_mem_mb = 20;
    row.int8_mem_mb = 6;
    row.peer = PeerFigures{};
    row.peer->fp32_ips = 90;
    row.peer->int8_ips = 250;
    row.published_drop = {{"i9-10920X (VNNI)", 0.35}};
    r.rows.push_back(row);
  }
  Row arch;
  arch.model = "resnet-50";
  arch.isa = "vnni";
  arch.no_data = "no labelled data";
  arch.fp32_speed = SpeedFigures{20, 50, 55};
  arch.int8_speed = SpeedFigures{60, 16, 18};
  arch.speedup = 3.0;
  r.rows.push_back(arch);
  Row arch2 = arch;
  arch2.isa = "avx2";
  r.rows.push_back(arch2);
  r.coverage = {{"resnet-50-PYTORCH", "architecture only (speed)", "resnet-50"}};
  return r;
}

TEST(Report, JsonHasTheIssueSchemaAndParsesBack) {
  std::ostringstream out;
  write_json(sample_report(), out);
  const nlohmann::json j = nlohmann::json::parse(out.str());
  ASSERT_TRUE(j.contains("machine"));
  EXPECT_EQ(j["machine"]["cpu"], "Test CPU");
  EXPECT_EQ(j["machine"]["cores"], 2);
  EXPECT_EQ(j["machine"]["isa_levels"].size(), 3u);
  EXPECT_TRUE(j["config"].is_object());
  ASSERT_EQ(j["rows"].size(), 4u);
  for (const auto& row : j["rows"])
    for (const char* key : {"model", "dataset", "metric", "isa", "samples", "fp32", "int8", "drop", "fp32_ips",
                            "int8_ips", "speedup", "peer", "agreement", "fp32_mem_mb", "int8_mem_mb", "error"})
      EXPECT_TRUE(row.contains(key)) << key;
  const auto& vnni = j["rows"][0];
  EXPECT_DOUBLE_EQ(vnni["fp32"].get<double>(), 78.5);
  EXPECT_NEAR(vnni["drop"].get<double>(), 0.3, 1e-9);
  EXPECT_TRUE(vnni["error"].is_null());
  for (const char* key : {"name", "fp32_ips", "int8_ips", "int8_accuracy"}) EXPECT_TRUE(vnni["peer"].contains(key)) << key;
  EXPECT_TRUE(vnni["peer"]["int8_accuracy"].is_null());  // not measured -> null
  EXPECT_DOUBLE_EQ(vnni["published"]["drop"]["i9-10920X (VNNI)"].get<double>(), 0.35);
  const auto& avx2 = j["rows"][1];
  EXPECT_TRUE(avx2["int8"].is_null());
  EXPECT_TRUE(avx2["drop"].is_null());
  EXPECT_EQ(avx2["error"], "INT8 compile: not available, yet");
  EXPECT_TRUE(j["rows"][2]["dataset"].is_null());
  EXPECT_TRUE(j["rows"][2]["peer"].is_null());
}

TEST(Report, CsvHasOneRowPerModelAndIsa) {
  std::ostringstream out;
  write_csv(sample_report(), out);
  std::istringstream in(out.str());
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u);  // header + 4 rows
  EXPECT_EQ(lines[0].rfind("model,dataset,metric,isa,", 0), 0u);
  EXPECT_NE(lines[2].find("\"INT8 compile: not available, yet\""), std::string::npos) << "quoted comma";
  EXPECT_EQ(csv_field("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(csv_field("plain"), "plain");
}

TEST(Report, MarkdownHasBothTablesWithPublishedFiguresAndReasons) {
  std::ostringstream out;
  write_markdown(sample_report(), out);
  const std::string md = out.str();
  EXPECT_NE(md.find("## Table 1"), std::string::npos);
  EXPECT_NE(md.find("## Table 2"), std::string::npos);
  EXPECT_NE(md.find("0.30 (pub. 0.35)"), std::string::npos) << md;
  EXPECT_NE(md.find("n/a (INT8 compile: not available, yet)"), std::string::npos);
  EXPECT_NE(md.find("n/a (no labelled data)"), std::string::npos);
  EXPECT_NE(md.find("3.00x"), std::string::npos);
  EXPECT_NE(md.find("ORT FP32 ips"), std::string::npos);
  EXPECT_NE(md.find("FP32 MiB"), std::string::npos);
  EXPECT_NE(md.find("architecture only (speed)"), std::string::npos);
}

// Timed in alternating rounds: the octet/ORT columns print the median per-round ratios (not
// the quotient of the median figures), the note says how, and json / csv carry them.
TEST(Report, RoundRatiosAreWhatTheTablePrints) {
  Report r = sample_report();
  for (Row& row : r.rows)
    if (row.peer) {
      row.peer->rounds = 3;
      row.peer->fp32_ratio = 1.234;  // 100 / 90 would print 1.11x
      row.peer->int8_ratio = 0.987;  // 300 / 250 would print 1.20x
    }
  std::ostringstream md;
  write_markdown(r, md);
  EXPECT_NE(md.str().find("| 1.23x | 0.99x |"), std::string::npos) << md.str();
  EXPECT_NE(md.str().find("3 alternating rounds"), std::string::npos);
  const nlohmann::ordered_json j = report_json(r);
  EXPECT_EQ(j["rows"][0]["peer"]["rounds"], 3);
  EXPECT_DOUBLE_EQ(j["rows"][0]["peer"]["octet_vs_peer_fp32"].get<double>(), 1.234);
  std::ostringstream csv;
  write_csv(r, csv);
  EXPECT_NE(csv.str().find(",1.2340,0.9870,"), std::string::npos) << csv.str();
  // Without rounds the ratio of the two figures.
  std::ostringstream plain;
  write_markdown(sample_report(), plain);
  EXPECT_NE(plain.str().find("| 1.11x | 1.20x |"), std::string::npos) << plain.str();
}

TEST(Published, FiguresFollowTheIsaClassOfTheColumn) {
  std::vector<std::string> order;
  const auto rows = PublishedTables::parse_csv(
      "model,dataset,metric,i9 (VNNI),i9-9820X (AVX512),i7 (AVX2),TGL (TGL VNNI)\n"
      "mobilenet-v2-1.0-224-TF,ImageNet,acc@top-1,0.35,0.79,0.79,0.35\n"
      "ssd,COCO,mAP,0.23,3.06,3.06,0.17\n",
      "fixture.csv", &order);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(order, (std::vector<std::string>{"mobilenet-v2-1.0-224-TF", "ssd"}));
  EXPECT_EQ(rows.at("ssd").figures.size(), 4u);
  EXPECT_EQ(PublishedTables::column_class("i7-1185G7 (TGL VNNI)"), "VNNI");
  EXPECT_EQ(PublishedTables::column_class("i9-9820X (AVX512)"), "AVX512");
  EXPECT_EQ(PublishedTables::isa_class("avx2_fast"), "AVX2");
  EXPECT_EQ(PublishedTables::isa_class("avx512_fast"), "AVX512");
  EXPECT_EQ(PublishedTables::isa_class("ref"), "");
  EXPECT_EQ(format_published({{"a", 0.23}, {"b", 0.17}}, 2), "0.17-0.23");
  EXPECT_EQ(format_published({{"a", 0.35}, {"b", 0.35}}, 2), "0.35");
  EXPECT_EQ(format_published({}, 2), "");
  EXPECT_THROW(PublishedTables::parse_csv("model,dataset,x\nm,d,abc\n", "bad.csv", nullptr), Error);
  EXPECT_THROW(PublishedTables::parse_csv("name,x\n", "bad.csv", nullptr), Error);
}

TEST(Published, SharedTablesLoadWhenPresent) {
  const std::string dir = PublishedTables::locate("", OCTET_SOURCE_DIR);
  if (dir.empty()) GTEST_SKIP() << "../shared/classic-tables absent";
  const PublishedTables t = PublishedTables::load(dir);
  const auto vnni = t.drop("mobilenet-v2-1.0-224-TF", "vnni");
  ASSERT_FALSE(vnni.empty());
  for (const PublishedFigure& f : vnni) EXPECT_DOUBLE_EQ(f.value, 0.35);
  const auto avx2 = t.drop("mobilenet-v2-1.0-224-TF", "avx2");
  ASSERT_FALSE(avx2.empty());
  EXPECT_DOUBLE_EQ(avx2[0].value, 0.79);
  EXPECT_FALSE(t.speedup("resnet-50-PYTORCH", "vnni").empty());
  EXPECT_TRUE(t.drop("mobilenet-v2-1.0-224-TF", "ref").empty());
}

TEST(Plot, SvgChartHasOneBarPerMeasuredSpeedupAndEscapesText) {
  Report r = sample_report();
  r.rows[0].model = r.rows[1].model = "a<b&c";
  const std::string svg = speedup_chart_svg(r);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("a&lt;b&amp;c"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  size_t bars = 0;
  for (size_t at = svg.find("<rect x="); at != std::string::npos; at = svg.find("<rect x=", at + 1)) ++bars;
  // Bars: a<b&c vnni + ORT, resnet-50 vnni + avx2; legend: 3 swatches.
  EXPECT_EQ(bars, 4u + 3u);
  EXPECT_NE(svg.find("ONNX Runtime"), std::string::npos);
}

}  // namespace
}  // namespace octet::bench
