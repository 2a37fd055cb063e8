// Norm family: opset-dependent Softmax axis semantics, strided layouts, stats outputs and
// parameter broadcasting, and the failure modes (training mode, bad attributes).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

// These ops are exercised over [-2, 2) unless a test says otherwise.
Tensor random_f32(Shape shape, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  return testing::random_f32(std::move(shape), seed, lo, hi);
}

// Softmax of x seen as [outer, n, inner] along n.
std::vector<double> naive_softmax(const Tensor& x, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      double sum = 0;
      for (int64_t r = 0; r < n; ++r) sum += std::exp(double(x.data_as<float>()[(o * n + r) * inner + j]));
      for (int64_t r = 0; r < n; ++r) {
        const int64_t i = (o * n + r) * inner + j;
        y[i] = std::exp(double(x.data_as<float>()[i])) / sum;
      }
    }
  return y;
}

TEST(Softmax, AxisSemanticsDependOnOpset) {
  Tensor x = random_f32({2, 3, 4}, 5);
  // Opset 11: axis 1 flattens dims 1.. together: rows of 12.
  auto old = OpTest("Softmax", 11).attr("axis", 1).input("x", x).output("y").run();
  std::vector<double> ref_old = naive_softmax(x, 2, 12, 1);
  // Opset 13: axis 1 is the single axis of 3, with an inner stride of 4.
  auto now = OpTest("Softmax", 13).attr("axis", 1).input("x", x).output("y").run();
  std::vector<double> ref_now = naive_softmax(x, 2, 3, 4);
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_NEAR(old[0].data_as<float>()[i], ref_old[i], 1e-6) << i;
    EXPECT_NEAR(now[0].data_as<float>()[i], ref_now[i], 1e-6) << i;
  }
  // Opset 11's default axis is 1, opset 13's is -1.
  auto old_default = OpTest("Softmax", 11).input("x", x).output("y").run();
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(old_default[0].data_as<float>()[i], ref_old[i], 1e-6);
}

TEST(Softmax, LogSoftmaxAndHardmaxStrided) {
  Tensor x = random_f32({3, 5, 7}, 9);
  auto log = OpTest("LogSoftmax", 13).attr("axis", 1).input("x", x).output("y").run();
  std::vector<double> ref = naive_softmax(x, 3, 5, 7);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(log[0].data_as<float>()[i], std::log(ref[i]), 1e-5) << i;
  auto hard = OpTest("Hardmax", 13).attr("axis", 1).input("x", x).output("y").run();
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t j = 0; j < 7; ++j) {
      int64_t best = 0;
      for (int64_t r = 1; r < 5; ++r)
        if (x.data_as<float>()[(o * 5 + r) * 7 + j] > x.data_as<float>()[(o * 5 + best) * 7 + j]) best = r;
      for (int64_t r = 0; r < 5; ++r)
        EXPECT_EQ(hard[0].data_as<float>()[(o * 5 + r) * 7 + j], r == best ? 1.0f : 0.0f);
    }
}

TEST(Softmax, LargeInputsStayFinite) {
  auto x = make_tensor<float>(DType::f32, {1, 3}, {10000.0f, 10001.0f, 10002.0f});
  auto sm = OpTest("Softmax", 13).input("x", x).output("y").run();
  auto lsm = OpTest("LogSoftmax", 13).input("x", x).output("y").run();
  const double denom = 1 + std::exp(-1.0) + std::exp(-2.0);
  EXPECT_NEAR(sm[0].data_as<float>()[2], 1 / denom, 1e-6);
  EXPECT_NEAR(lsm[0].data_as<float>()[2], -std::log(denom), 1e-6);
  EXPECT_NEAR(lsm[0].data_as<float>()[0], -2 - std::log(denom), 1e-6);
}

TEST(LayerNorm, PartialScaleBroadcastAndStats) {
  Tensor x = random_f32({2, 3, 4}, 3);
  auto scale = make_tensor<float>(DType::f32, {4}, {1, 2, 3, 4});  // broadcast over [3, 4]
  auto out = OpTest("LayerNormalization", 17).attr("axis", 1).attr("epsilon", 1e-3f).input("x", x)
                 .const_input("s", scale).output("y").output("mean").output("inv").run();
  ASSERT_EQ(out[1].shape(), (Shape{2, 1, 1}));
  for (int64_t r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < 12; ++i) mean += x.data_as<float>()[r * 12 + i];
    mean /= 12;
    for (int64_t i = 0; i < 12; ++i) var += std::pow(x.data_as<float>()[r * 12 + i] - mean, 2);
    var /= 12;
    const double inv = 1 / std::sqrt(var + 1e-3);
    EXPECT_NEAR(out[1].data_as<float>()[r], mean, 1e-6);
    EXPECT_NEAR(out[2].data_as<float>()[r], inv, 1e-5);
    for (int64_t i = 0; i < 12; ++i)
      EXPECT_NEAR(out[0].data_as<float>()[r * 12 + i], (x.data_as<float>()[r * 12 + i] - mean) * inv * (i % 4 + 1),
                  1e-5);
  }
  OpTest bad("LayerNormalization", 17);
  bad.attr("axis", 1).input("x", x).const_input("s", random_f32({5}, 1)).output("y");
  EXPECT_THROW(bad.run(), Error);
}

TEST(BatchNorm, RankTwoInputAndTrainingModeFails) {
  Tensor x = random_f32({4, 3}, 2);
  auto p = [](std::vector<float> v) { return make_tensor<float>(DType::f32, {3}, v); };
  auto y = OpTest("BatchNormalization", 15).input("x", x).const_input("s", p({1, 2, 3})).const_input("b", p({0, 1, 0}))
               .const_input("m", p({0.5f, 0, -1})).const_input("v", p({1, 4, 0.25f})).output("y").run();
  const float s[] = {1, 2, 3}, b[] = {0, 1, 0}, m[] = {0.5f, 0, -1}, v[] = {1, 4, 0.25f};
  for (int64_t i = 0; i < 12; ++i) {
    const int64_t c = i % 3;
    EXPECT_NEAR(y[0].data_as<float>()[i], (x.data_as<float>()[i] - m[c]) / std::sqrt(v[c] + 1e-5) * s[c] + b[c], 1e-5);
  }
  OpTest train("BatchNormalization", 15);
  train.attr("training_mode", 1).input("x", x).const_input("s", p({1, 2, 3})).const_input("b", p({0, 1, 0}))
      .const_input("m", p({0.5f, 0, -1})).const_input("v", p({1, 4, 0.25f})).output("y");
  EXPECT_THROW(train.run(), Error);
}

TEST(GroupNorm, MatchesNaiveWithPerGroupAndPerChannelScale) {
  Tensor x = random_f32({2, 4, 3}, 4);
  auto per_group = make_tensor<float>(DType::f32, {2}, {2.0f, 0.5f});
  auto bias = make_tensor<float>(DType::f32, {2}, {1.0f, -1.0f});
  auto y = OpTest("GroupNormalization", 18).attr("num_groups", 2).input("x", x).const_input("s", per_group)
               .const_input("b", bias).output("y").run();
  auto per_channel = make_tensor<float>(DType::f32, {4}, {2.0f, 2.0f, 0.5f, 0.5f});
  auto bias_c = make_tensor<float>(DType::f32, {4}, {1.0f, 1.0f, -1.0f, -1.0f});
  auto yc = OpTest("GroupNormalization", 21).attr("num_groups", 2).input("x", x).const_input("s", per_channel)
                .const_input("b", bias_c).output("y").run();
  for (int64_t blk = 0; blk < 4; ++blk) {  // (n, group) blocks of 6 contiguous values
    const float* xb = x.data_as<float>() + blk * 6;
    double mean = 0, var = 0;
    for (int i = 0; i < 6; ++i) mean += xb[i];
    mean /= 6;
    for (int i = 0; i < 6; ++i) var += (xb[i] - mean) * (xb[i] - mean);
    var /= 6;
    const int g = blk % 2;
    for (int i = 0; i < 6; ++i) {
      double ref = (xb[i] - mean) / std::sqrt(var + 1e-5) * (g ? 0.5 : 2.0) + (g ? -1.0 : 1.0);
      EXPECT_NEAR(y[0].data_as<float>()[blk * 6 + i], ref, 1e-5);
      EXPECT_NEAR(yc[0].data_as<float>()[blk * 6 + i], ref, 1e-5);
    }
  }
  OpTest bad("GroupNormalization", 18);
  bad.attr("num_groups", 3).input("x", x).const_input("s", per_group).const_input("b", bias).output("y");
  EXPECT_THROW(bad.run(), Error);
}

TEST(LpNorm, L1AndZeroVector) {
  auto x = make_tensor<float>(DType::f32, {2, 3}, {1, -2, 1, 0, 0, 0});
  auto y = OpTest("LpNormalization", 13).attr("p", 1).input("x", x).output("y").run();
  const float expected[] = {0.25f, -0.5f, 0.25f, 0, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y[0].data_as<float>()[i], expected[i]);
  OpTest bad("LpNormalization", 13);
  bad.attr("p", 3).input("x", x).output("y");
  EXPECT_THROW(bad.run(), Error);
}

TEST(Mvn, CustomAxes) {
  Tensor x = random_f32({2, 3, 4}, 8);
  auto y = OpTest("MeanVarianceNormalization", 13).attr("axes", std::vector<int64_t>{0, 2}).input("x", x)
               .output("y").run();
  for (int64_t c = 0; c < 3; ++c) {
    double mean = 0, sq = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 4; ++i) {
        const double v = x.data_as<float>()[(n * 3 + c) * 4 + i];
        mean += v;
        sq += v * v;
      }
    mean /= 8;
    const double sd = std::sqrt(sq / 8 - mean * mean);
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 4; ++i) {
        const int64_t k = (n * 3 + c) * 4 + i;
        EXPECT_NEAR(y[0].data_as<float>()[k], (x.data_as<float>()[k] - mean) / (sd + 1e-9), 1e-5);
      }
  }
}

TEST(Lrn, EvenWindowSize) {
  Tensor x = random_f32({1, 5, 2}, 6);
  const float alpha = 0.1f, beta = 0.75f, bias = 2.0f;
  auto y = OpTest("LRN", 13).attr("size", 4).attr("alpha", alpha).attr("beta", beta).attr("bias", bias)
               .input("x", x).output("y").run();
  for (int64_t c = 0; c < 5; ++c)
    for (int64_t i = 0; i < 2; ++i) {
      double sq = 0;  // window [c - 1, c + 2]
      for (int64_t k = std::max<int64_t>(0, c - 1); k <= std::min<int64_t>(4, c + 2); ++k)
        sq += std::pow(x.data_as<float>()[k * 2 + i], 2);
      const double ref = x.data_as<float>()[c * 2 + i] / std::pow(bias + alpha / 4 * sq, beta);
      EXPECT_NEAR(y[0].data_as<float>()[c * 2 + i], ref, 1e-6);
    }
}

}  // namespace
}  // namespace octet
