// Metrics on small known cases: top-1 / top-5 with label offsets, ties to the lowest index,
// agreement; and the calibration / evaluation sample plan.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "bench_int8/metrics.h"
#include "bench_int8/sample_plan.h"
#include "bench_int8/throughput.h"

namespace octet::bench {
namespace {

std::map<std::string, Tensor> logits(const std::vector<float>& v) {
  Tensor t(DType::f32, {1, static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data_as<float>());
  return {{"logits", t}};
}

TEST(Metrics, TopKRanksLargestFirstWithTiesToTheLowestIndex) {
  const std::vector<float> s = {0.5f, 2.0f, 2.0f, -1.0f, 2.0f, 0.1f};
  EXPECT_EQ(top_k(s.data(), 6, 1), (std::vector<int64_t>{1}));
  EXPECT_EQ(top_k(s.data(), 6, 4), (std::vector<int64_t>{1, 2, 4, 0}));
  EXPECT_EQ(top_k(s.data(), 6, 10).size(), 6u);
  const std::vector<float> with_nan = {NAN, 1.0f, 0.0f};
  EXPECT_EQ(top_k(with_nan.data(), 3, 1), (std::vector<int64_t>{1}));
  const std::vector<float> all_equal = {3, 3, 3};
  EXPECT_EQ(top1_class(logits(all_equal)), 0);
}

TEST(Metrics, Top1AndTop5Counts) {
  ClassificationAccuracy acc;
  // 7 classes: sample 1 right, sample 2 label 6 is 2nd best, sample 3 label 0 is last.
  acc.add(logits({0, 9, 1, 2, 3, 4, 5}), {1});
  acc.add(logits({0, 1, 2, 3, 4, 9, 8}), {6});
  acc.add(logits({-5, 1, 2, 3, 4, 5, 6}), {0});
  acc.add(logits({1, 1, 1, 1, 1, 1, 1}), {0});  // tie: the lowest index wins
  EXPECT_EQ(acc.count(), 4);
  EXPECT_EQ(acc.classes(), 7);
  EXPECT_DOUBLE_EQ(*acc.top1(), 50.0);
  EXPECT_DOUBLE_EQ(*acc.top5(), 75.0);
  EXPECT_EQ(acc.name(), "top-1");
  ASSERT_EQ(acc.values().size(), 2u);
  EXPECT_EQ(acc.values()[1].name, "top-5");
}

TEST(Metrics, LabelOffsetForBackgroundClass) {
  ClassificationAccuracy acc(1);  // output index = label + 1
  acc.add(logits({9, 0, 5, 1, 0, 0}), {1});   // arg-max 0 (background): wrong
  acc.add(logits({0, 0, 5, 1, 0, 0}), {1});   // arg-max 2 = label 1 + 1: right
  EXPECT_DOUBLE_EQ(*acc.top1(), 50.0);
}

TEST(Metrics, NoTop5AtFiveClassesOrFewer) {
  ClassificationAccuracy acc;
  acc.add(logits({0.1f, 0.9f}), {1});
  EXPECT_DOUBLE_EQ(*acc.top1(), 100.0);
  EXPECT_FALSE(acc.top5().has_value());
  EXPECT_EQ(acc.name(), "accuracy");
  EXPECT_EQ(acc.values().size(), 1u);
  ClassificationAccuracy none;
  EXPECT_FALSE(none.top1().has_value());
}

TEST(Metrics, ScoresOfAnyOneBatchShape) {
  Tensor t(DType::f32, {1, 4, 1, 1});
  t.data_as<float>()[2] = 1;
  EXPECT_EQ(top1_class({{"y", t}}), 2);
  Tensor i(DType::s64, {1, 4});
  EXPECT_THROW(top1_class({{"y", i}}), Error);
  EXPECT_THROW(top1_class({}), Error);
}

TEST(Metrics, Agreement) {
  EXPECT_DOUBLE_EQ(*top1_agreement({1, 2, 3, 4}, {1, 2, 0, 4}), 75.0);
  EXPECT_DOUBLE_EQ(*top1_agreement({7}, {7}), 100.0);
  EXPECT_FALSE(top1_agreement({1, 2}, {1}).has_value());
  EXPECT_FALSE(top1_agreement({}, {}).has_value());
}

TEST(SamplePlan, HeldOutSliceIsDisjointAndSpread) {
  const SamplePlan p = plan_samples(1000, 0, 300, 0);
  EXPECT_EQ(p.source, CalibrationSource::held_out_slice);
  EXPECT_STREQ(calibration_source_name(p.source), "held-out slice");
  ASSERT_EQ(p.calibration.size(), 300u);
  EXPECT_EQ(p.evaluation.size(), 700u);
  std::set<int64_t> calib(p.calibration.begin(), p.calibration.end());
  EXPECT_EQ(calib.size(), 300u);
  for (int64_t i : p.evaluation) EXPECT_EQ(calib.count(i), 0u) << i;
  EXPECT_LT(*calib.begin(), 10);    // spread over the whole dataset, not one end of it:
  EXPECT_GT(*calib.rbegin(), 990);  // CIFAR's order is sorted by class
  EXPECT_TRUE(std::is_sorted(p.evaluation.begin(), p.evaluation.end()));
}

TEST(SamplePlan, TrainSplitLeavesTheWholeEvaluationSet) {
  const SamplePlan p = plan_samples(10000, 60000, 300, 0);
  EXPECT_EQ(p.source, CalibrationSource::train_split);
  EXPECT_EQ(p.calibration.size(), 300u);
  EXPECT_EQ(p.evaluation.size(), 10000u);
  EXPECT_LT(p.calibration.back(), 60000);
}

TEST(SamplePlan, LimitIsSpreadOverTheRemainingSamples) {
  const SamplePlan p = plan_samples(10000, 0, 300, 50);
  ASSERT_EQ(p.evaluation.size(), 50u);
  std::set<int64_t> calib(p.calibration.begin(), p.calibration.end());
  for (int64_t i : p.evaluation) EXPECT_EQ(calib.count(i), 0u);
  EXPECT_GT(p.evaluation.back(), 9000);
  EXPECT_EQ(std::set<int64_t>(p.evaluation.begin(), p.evaluation.end()).size(), 50u);
}

TEST(SamplePlan, RefusesToCalibrateOnEverything) {
  EXPECT_THROW(plan_samples(300, 0, 300, 0), Error);
  EXPECT_THROW(plan_samples(0, 0, 10, 0), Error);
  EXPECT_EQ(plan_samples(301, 0, 300, 0).evaluation.size(), 1u);
  EXPECT_EQ(spread_indices(4, 2), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(spread_indices(3, 5), (std::vector<int64_t>{0, 1, 2}));
}

TEST(Throughput, MedianOfRepeatedMeasurementsAndLatencyPercentiles) {
  // 5 groups of 10 runs at 10, 20, 5, 20 and 40 runs/s: the median measurement is 20.
  std::vector<double> done;
  double t = 0;
  for (double rate : {10.0, 20.0, 5.0, 20.0, 40.0})
    for (int k = 0; k < 10; ++k) done.push_back(t += 1.0 / rate);
  const double seconds = t;
  done.push_back(seconds + 0.5);  // ended after the duration: not counted
  std::vector<double> latency;
  for (int i = 1; i <= 10; ++i) latency.push_back(i);
  const ThroughputResult r = summarize_runs(done, latency, seconds, 5, 1);
  EXPECT_EQ(r.runs, 50);
  ASSERT_EQ(r.window_ips.size(), 5u);
  EXPECT_NEAR(r.window_ips[2], 5.0, 1e-9);
  EXPECT_NEAR(r.ips, 20.0, 1e-9);
  EXPECT_DOUBLE_EQ(r.latency_median_ms, 5.0);
  EXPECT_DOUBLE_EQ(r.latency_p90_ms, 9.0);
  EXPECT_NEAR(summarize_runs(done, latency, seconds, 5, 4).ips, 80.0, 1e-9);  // batch 4
  // Evenly spaced runs: every measurement is the same rate.
  std::vector<double> even;
  for (int i = 1; i <= 100; ++i) even.push_back(i * 0.01);
  EXPECT_NEAR(summarize_runs(even, {}, 1.0, 5, 1).ips, 100.0, 1e-9);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0.0);
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2}, 100), 3.0);
}

}  // namespace
}  // namespace octet::bench
