// bench_int8's command line: documented flags parse, bad ones are rejected with a message.
#include <gtest/gtest.h>

#include "bench_int8/cli.h"
#include "bench_int8/runner.h"

namespace octet::bench {
namespace {

TEST(BenchCli, DefaultsMatchTheDocumentation) {
  const Options o = parse_cli(std::vector<std::string>{});
  EXPECT_EQ(o.isa, "auto");
  EXPECT_EQ(o.mode, Mode::both);
  EXPECT_EQ(o.calib_samples, 300);
  EXPECT_EQ(o.weight_bits, 8);
  EXPECT_EQ(o.calibration, "auto");
  EXPECT_EQ(o.peer, "ort");  // the peer is part of the main job; --peer=none opts out
  EXPECT_EQ(o.format, "md");
  EXPECT_EQ(o.streams, 1);
  EXPECT_EQ(o.batch, 1);
  EXPECT_EQ(o.limit, 0);
  EXPECT_EQ(o.rounds, 5);
  EXPECT_TRUE(o.models.empty());
}

TEST(BenchCli, AcceptsEveryDocumentedFlag) {
  const Options o = parse_cli(std::vector<std::string>{
      "--isa=all", "--zoo=/z", "--models=mnist-8,resnet-50", "--mode=accuracy", "--threads=3", "--streams=2",
      "--batch=4", "--time=1.5", "--rounds=7", "--limit=50", "--calibration=entropy", "--calib-samples=100", "--weight-bits=7", "--peer=none",
      "--format=json", "--out=o.json", "--plot=p.svg", "--models-dir", "/m", "--local-dir=/l", "--peers-dir=/p",
      "--no-progress"});
  EXPECT_EQ(o.isa, "all");
  EXPECT_EQ(o.zoo, "/z");
  EXPECT_EQ(o.models, (std::vector<std::string>{"mnist-8", "resnet-50"}));
  EXPECT_EQ(o.mode, Mode::accuracy);
  EXPECT_FALSE(o.wants_throughput());
  EXPECT_TRUE(o.wants_accuracy());
  EXPECT_EQ(o.threads, 3);
  EXPECT_EQ(o.streams, 2);
  EXPECT_EQ(o.batch, 4);
  EXPECT_DOUBLE_EQ(o.time_s, 1.5);
  EXPECT_EQ(o.rounds, 7);
  EXPECT_EQ(o.limit, 50);
  EXPECT_EQ(o.calibration, "entropy");
  EXPECT_EQ(o.calib_samples, 100);
  EXPECT_EQ(o.weight_bits, 7);
  EXPECT_EQ(o.peer, "none");
  EXPECT_EQ(o.format, "json");
  EXPECT_EQ(o.out, "o.json");
  EXPECT_EQ(o.plot, "p.svg");
  EXPECT_EQ(o.models_dir, "/m");
  EXPECT_EQ(o.local_dir, "/l");
  EXPECT_EQ(o.peers_dir, "/p");
  EXPECT_FALSE(o.progress);
}

TEST(BenchCli, AcceptsEveryIsaAndFormatValue) {
  for (const char* isa : {"auto", "ref", "avx2", "avx2_fast", "avx512", "avx512_fast", "vnni", "all"})
    EXPECT_EQ(parse_cli(std::vector<std::string>{std::string("--isa=") + isa}).isa, isa);
  for (const char* m : {"minmax", "percentile", "entropy", "mse", "auto"})
    EXPECT_EQ(parse_cli(std::vector<std::string>{std::string("--calibration=") + m}).calibration, m);
  for (const char* f : {"md", "csv", "json"})
    EXPECT_EQ(parse_cli(std::vector<std::string>{std::string("--format=") + f}).format, f);
  EXPECT_EQ(parse_cli(std::vector<std::string>{"--mode=throughput"}).mode, Mode::throughput);
}

TEST(BenchCli, RejectsBadUsageWithAMessage) {
  const std::vector<std::vector<std::string>> bad = {
      {"--isa=sse4"},        {"--isa"},           {"--mode=fast"},          {"--threads=-1"},
      {"--threads=two"},     {"--streams=0"},     {"--batch=0"},            {"--time=0"},
      {"--time=abc"},        {"--limit=-5"},      {"--calibration=kl"},     {"--calib-samples=0"},
      {"--peer=tensorrt"},   {"--format=xml"},    {"--plot=chart.png"},     {"--unknown=1"},
      {"positional"},        {"--models="},       {"--models=a,,b"},        {"--zoo="},
      {"--threads=99999999999999999999"}, {"--rounds=0"}, {"--rounds=21"}, {"--weight-bits=6"}, {"--weight-bits=9"},
  };
  for (const auto& args : bad) {
    try {
      parse_cli(args);
      ADD_FAILURE() << "accepted " << args[0];
    } catch (const UsageError& e) {
      EXPECT_FALSE(std::string(e.what()).empty());
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one-line error: " << e.what();
    }
  }
}

TEST(BenchCli, HelpIsRecognisedAndDocumentsTheFlags) {
  EXPECT_TRUE(parse_cli(std::vector<std::string>{"--help"}).help);
  const std::string usage = usage_text();
  for (const char* flag : {"--isa", "--zoo", "--models", "--mode", "--threads", "--streams", "--batch", "--time",
                           "--rounds", "--limit", "--calibration", "--calib-samples", "--weight-bits", "--peer", "--format", "--out", "--plot"})
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
}

TEST(BenchCli, IsaSelection) {
  const std::vector<std::string> all = select_isas("all");
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back(), "ref");  // every CPU has the reference level
  EXPECT_EQ(select_isas("ref"), std::vector<std::string>{"ref"});
  EXPECT_EQ(select_isas("auto").size(), 1u);
  EXPECT_EQ(fp32_isa_of("avx2_fast"), "avx2");
  EXPECT_EQ(fp32_isa_of("avx512_fast"), "avx512");
  EXPECT_EQ(fp32_isa_of("vnni"), "vnni");
}

}  // namespace
}  // namespace octet::bench
