// Loss family: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against hand-computed
// values (every reduction, weights, ignore_index, extra dims, int32 labels, f64), and the
// error paths (bad dtypes, shapes, reduction strings, labels out of range).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

Tensor f32(Shape shape, const std::vector<float>& v) { return make_tensor<float>(DType::f32, std::move(shape), v); }
Tensor s64(Shape shape, const std::vector<int64_t>& v) { return make_tensor<int64_t>(DType::s64, std::move(shape), v); }

std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data_as<float>(), t.data_as<float>() + t.numel());
}

// Log-probabilities [N=2, C=3].
Tensor nc_scores() { return f32({2, 3}, {-1.0f, -2.0f, -3.0f, -0.5f, -1.5f, -2.5f}); }

// NegativeLogLikelihoodLoss with labels as a runtime input, optional weights and attributes.
OpTest nll(const std::string& reduction, const Tensor& x, const Tensor& labels, const Tensor* weights = nullptr) {
  OpTest t("NegativeLogLikelihoodLoss", 13);
  t.attr("reduction", reduction).input("x", x).input("labels", labels);
  if (weights) t.input("w", *weights);
  t.output("loss");
  return t;
}

void expect_error(OpTest t, const std::string& needle) {
  try {
    t.run();
    ADD_FAILURE() << "no error; expected one containing \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(NllLoss, ReductionsWithoutWeights) {
  const Tensor labels = s64({2}, {2, 0});
  auto none = nll("none", nc_scores(), labels).run()[0];
  EXPECT_EQ(none.shape(), (Shape{2}));
  EXPECT_EQ(values(none), (std::vector<float>{3.0f, 0.5f}));
  auto sum = nll("sum", nc_scores(), labels).run()[0];
  EXPECT_EQ(sum.shape(), Shape{});
  EXPECT_FLOAT_EQ(sum.data_as<float>()[0], 3.5f);
  EXPECT_FLOAT_EQ(nll("mean", nc_scores(), labels).run()[0].data_as<float>()[0], 1.75f);
  // reduction defaults to mean
  auto dflt = OpTest("NegativeLogLikelihoodLoss", 13).input("x", nc_scores()).input("l", labels).output("y").run()[0];
  EXPECT_FLOAT_EQ(dflt.data_as<float>()[0], 1.75f);
}

TEST(NllLoss, Weights) {
  const Tensor labels = s64({2}, {2, 0});
  const Tensor w = f32({3}, {1.0f, 2.0f, 4.0f});
  EXPECT_EQ(values(nll("none", nc_scores(), labels, &w).run()[0]), (std::vector<float>{12.0f, 0.5f}));
  EXPECT_FLOAT_EQ(nll("sum", nc_scores(), labels, &w).run()[0].data_as<float>()[0], 12.5f);
  // mean divides by the weights applied: 12.5 / (4 + 1)
  EXPECT_FLOAT_EQ(nll("mean", nc_scores(), labels, &w).run()[0].data_as<float>()[0], 2.5f);
}

TEST(NllLoss, IgnoreIndex) {
  const Tensor labels = s64({2}, {2, 0});
  const Tensor w = f32({3}, {1.0f, 2.0f, 4.0f});
  auto ignoring = [&](const std::string& reduction, const Tensor* weights) {
    return nll(reduction, nc_scores(), labels, weights).attr("ignore_index", int64_t(2)).run()[0].data_as<float>()[0];
  };
  EXPECT_EQ(values(nll("none", nc_scores(), labels).attr("ignore_index", int64_t(2)).run()[0]),
            (std::vector<float>{0.0f, 0.5f}));
  EXPECT_FLOAT_EQ(ignoring("sum", nullptr), 0.5f);
  EXPECT_FLOAT_EQ(ignoring("mean", nullptr), 0.5f);  // 0.5 over one counted position, not two
  EXPECT_FLOAT_EQ(ignoring("mean", &w), 0.5f);       // 0.5 * 1 / 1
  // An ignore_index outside [0, C) (negative or high) marks positions too.
  auto neg = nll("mean", nc_scores(), s64({2}, {-1, 1})).attr("ignore_index", int64_t(-1)).run()[0];
  EXPECT_FLOAT_EQ(neg.data_as<float>()[0], 1.5f);
  auto high = nll("sum", nc_scores(), s64({2}, {7, 1}), &w).attr("ignore_index", int64_t(7)).run()[0];
  EXPECT_FLOAT_EQ(high.data_as<float>()[0], 3.0f);
  // Every position ignored: mean is 0 / 0.
  auto all = nll("mean", nc_scores(), s64({2}, {2, 2})).attr("ignore_index", int64_t(2)).run()[0];
  EXPECT_TRUE(std::isnan(all.data_as<float>()[0]));
}

TEST(NllLoss, ExtraDims) {
  // x [N=1, C=2, d1=3]: class 0 row -1 -2 -3, class 1 row -4 -5 -6.
  const Tensor x = f32({1, 2, 3}, {-1, -2, -3, -4, -5, -6});
  auto none = nll("none", x, s64({1, 3}, {1, 0, 1})).run()[0];
  EXPECT_EQ(none.shape(), (Shape{1, 3}));
  EXPECT_EQ(values(none), (std::vector<float>{4.0f, 2.0f, 6.0f}));
  EXPECT_FLOAT_EQ(nll("mean", x, s64({1, 3}, {1, 0, 1})).run()[0].data_as<float>()[0], 4.0f);
  // [N=2, C=2, d1=1, d2=2] with int32 labels
  const Tensor x4 = f32({2, 2, 1, 2}, {-1, -2, -3, -4, -5, -6, -7, -8});
  auto l32 = make_tensor<int32_t>(DType::s32, {2, 1, 2}, {0, 1, 1, 0});
  auto out = nll("none", x4, l32).run()[0];
  EXPECT_EQ(out.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values(out), (std::vector<float>{1.0f, 4.0f, 7.0f, 6.0f}));
}

TEST(NllLoss, Float64) {
  auto x = make_tensor<double>(DType::f64, {2, 3}, {-1.0, -2.0, -3.0, -0.5, -1.5, -2.5});
  auto w = make_tensor<double>(DType::f64, {3}, {1.0, 2.0, 4.0});
  auto out = nll("mean", x, s64({2}, {2, 0}), &w).run()[0];
  ASSERT_EQ(out.dtype(), DType::f64);
  EXPECT_DOUBLE_EQ(out.data_as<double>()[0], 2.5);
}

TEST(NllLoss, LabelsOutOfRange) {
  expect_error(nll("none", nc_scores(), s64({2}, {3, 0})), "label 3 at position 0 is outside [0, 3)");
  expect_error(nll("sum", nc_scores(), s64({2}, {0, -1})), "label -1");
  // ignore_index does not excuse other out-of-range labels.
  expect_error(nll("mean", nc_scores(), s64({2}, {-1, 5})).attr("ignore_index", int64_t(-1)),
               "is not ignore_index -1");
}

TEST(NllLoss, BadNodes) {
  const Tensor labels = s64({2}, {0, 1});
  expect_error(nll("avg", nc_scores(), labels), "reduction must be");
  expect_error(nll("none", nc_scores(), f32({2}, {0, 1})), "unsupported dtype f32 for input 1");
  expect_error(nll("none", s64({2, 3}, {0, 0, 0, 0, 0, 0}), labels), "unsupported dtype s64 for input 0");
  expect_error(nll("none", nc_scores(), s64({3}, {0, 1, 2})), "labels' shape [3]");
  expect_error(nll("none", nc_scores(), s64({2, 1}, {0, 1})), "labels' shape [2,1]");
  expect_error(nll("none", f32({3}, {0, 0, 0}), s64({}, {0})), "rank >= 2");
  const Tensor w2 = f32({2}, {1, 1});
  expect_error(nll("none", nc_scores(), labels, &w2), "weights (input 2) must have shape [C] = [3]");
  const Tensor w64 = make_tensor<double>(DType::f64, {3}, {1, 1, 1});
  expect_error(nll("none", nc_scores(), labels, &w64), "input 2 has dtype f64");
}

// ---- SoftmaxCrossEntropyLoss ------------------------------------------------------------------

OpTest sce(const std::string& reduction, const Tensor& x, const Tensor& labels, const Tensor* weights = nullptr,
           bool log_prob = false) {
  OpTest t("SoftmaxCrossEntropyLoss", 13);
  t.attr("reduction", reduction).input("x", x).input("labels", labels);
  if (weights) t.input("w", *weights);
  t.output("loss");
  if (log_prob) t.output("log_prob");
  return t;
}

// Row [1, 2, 3]: log-sum-exp = 3 + ln(1 + e^-1 + e^-2) = 3.4076059644.
constexpr double kLse123 = 3.4076059644443806;

TEST(SoftmaxCrossEntropyLoss, LossAndLogProb) {
  const Tensor x = f32({2, 3}, {1, 2, 3, 0, 0, 0});
  auto out = sce("none", x, s64({2}, {2, 1}), nullptr, true).run();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  EXPECT_NEAR(out[0].data_as<float>()[0], kLse123 - 3, 1e-6);
  EXPECT_NEAR(out[0].data_as<float>()[1], std::log(3.0), 1e-6);
  EXPECT_EQ(out[1].shape(), (Shape{2, 3}));
  const std::vector<double> want = {1 - kLse123, 2 - kLse123, 3 - kLse123, -std::log(3.0), -std::log(3.0),
                                    -std::log(3.0)};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(out[1].data_as<float>()[i], want[i], 1e-6) << i;
  auto sum = sce("sum", x, s64({2}, {2, 1})).run()[0];
  EXPECT_NEAR(sum.data_as<float>()[0], kLse123 - 3 + std::log(3.0), 1e-6);
}

TEST(SoftmaxCrossEntropyLoss, WeightsIgnoreIndexExtraDims) {
  // [N=1, C=2, d1=2]: position 0 scores (0, ln 3) -> p = (1/4, 3/4); position 1 scores (0, 0).
  const float ln3 = static_cast<float>(std::log(3.0));
  const Tensor x = f32({1, 2, 2}, {0, 0, ln3, 0});
  const Tensor w = f32({2}, {2, 5});
  // labels (0, 1): losses ln 4 * 2 and ln 2 * 5; mean over weights 2 + 5
  auto mean = sce("mean", x, s64({1, 2}, {0, 1}), &w).run()[0];
  EXPECT_NEAR(mean.data_as<float>()[0], (2 * std::log(4.0) + 5 * std::log(2.0)) / 7, 1e-6);
  // position 1 ignored
  auto ign = sce("mean", x, s64({1, 2}, {0, 1}), &w).attr("ignore_index", int64_t(1)).run()[0];
  EXPECT_NEAR(ign.data_as<float>()[0], std::log(4.0), 1e-6);
  auto none = sce("none", x, s64({1, 2}, {1, -5})).attr("ignore_index", int64_t(-5)).run()[0];
  EXPECT_EQ(none.shape(), (Shape{1, 2}));
  EXPECT_NEAR(none.data_as<float>()[0], std::log(4.0 / 3.0), 1e-6);
  EXPECT_EQ(none.data_as<float>()[1], 0.0f);
}

TEST(SoftmaxCrossEntropyLoss, LargeScoresDoNotOverflow) {
  auto out = sce("none", f32({1, 2}, {1000, 1000}), s64({1}, {0})).run()[0];
  EXPECT_NEAR(out.data_as<float>()[0], std::log(2.0), 1e-6);
}

TEST(SoftmaxCrossEntropyLoss, Errors) {
  const Tensor x = f32({2, 3}, {1, 2, 3, 0, 0, 0});
  expect_error(sce("none", x, s64({2}, {0, 3})), "SoftmaxCrossEntropyLoss: label 3 at position 1 is outside [0, 3)");
  expect_error(sce("mean", x, s64({2}, {0, 1})).attr("reduction", "Mean"), "reduction must be");
  expect_error(sce("mean", x, s64({1, 2}, {0, 1})), "labels' shape");
  const Tensor w = f32({4}, {1, 1, 1, 1});
  expect_error(sce("mean", x, s64({2}, {0, 1}), &w), "must have shape [C]");
}

}  // namespace
}  // namespace octet
