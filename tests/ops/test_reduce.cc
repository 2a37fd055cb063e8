// Reduce family: arbitrary axis sets against a naive reference, threads, accuracy, selection
// tie-breaking, run-time axes, and error paths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
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

Tensor axes_tensor(const std::vector<int64_t>& axes) {
  return make_tensor<int64_t>(DType::s64, {static_cast<int64_t>(axes.size())}, axes);
}

// Sum and max over `axes` with keepdims=1, computed element by element.
void naive_reduce(const Tensor& x, const std::vector<bool>& reduced, std::vector<double>* sum,
                  std::vector<double>* max) {
  const Shape& s = x.shape();
  Shape out_shape = s;
  for (size_t d = 0; d < s.size(); ++d)
    if (reduced[d]) out_shape[d] = 1;
  int64_t out_n = 1;
  for (int64_t d : out_shape) out_n *= d;
  sum->assign(out_n, 0.0);
  max->assign(out_n, -INFINITY);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rem = i, o = 0, mul = 1;
    for (size_t d = s.size(); d-- > 0;) {
      int64_t idx = rem % s[d];
      rem /= s[d];
      o += (reduced[d] ? 0 : idx) * mul;
      mul *= out_shape[d];
    }
    double v = x.data_as<float>()[i];
    (*sum)[o] += v;
    (*max)[o] = std::max((*max)[o], v);
  }
}

void check_axes(const Shape& shape, const std::vector<int64_t>& axes, int threads) {
  Tensor x = random_f32(shape, 7);
  std::vector<bool> reduced(shape.size(), false);
  for (int64_t a : axes) reduced[a < 0 ? a + static_cast<int64_t>(shape.size()) : a] = true;
  std::vector<double> sum, max;
  naive_reduce(x, reduced, &sum, &max);
  auto s = OpTest("ReduceSum", 13).input("x", x).const_input("axes", axes_tensor(axes)).output("y").run("ref", threads);
  auto m = OpTest("ReduceMax", 18).attr("keepdims", 0).input("x", x).const_input("axes", axes_tensor(axes))
               .output("y").run("ref", threads);
  ASSERT_EQ(s[0].numel(), static_cast<int64_t>(sum.size()));
  ASSERT_EQ(m[0].numel(), static_cast<int64_t>(max.size()));
  for (size_t i = 0; i < sum.size(); ++i) {
    ASSERT_NEAR(s[0].data_as<float>()[i], sum[i], 1e-4 * (1 + std::fabs(sum[i]))) << "sum " << i;
    ASSERT_EQ(m[0].data_as<float>()[i], static_cast<float>(max[i])) << "max " << i;
  }
}

TEST(Reduce, AxisSetsMatchNaiveReference) {
  check_axes({3, 4, 5}, {0, 2}, 1);
  check_axes({3, 4, 5}, {1}, 1);
  check_axes({3, 4, 5}, {-1}, 1);
  check_axes({2, 3, 4, 5}, {1, 3}, 1);
  check_axes({2, 3, 4, 5}, {0, 1, 2, 3}, 1);
  check_axes({2, 1, 4, 1}, {1, 2}, 1);
  check_axes({7}, {0}, 1);
}

TEST(Reduce, ThreadsGiveTheSameResult) {
  check_axes({64, 33, 40}, {1}, 2);
  check_axes({64, 33, 40}, {2}, 2);
  check_axes({64, 33, 40}, {0, 2}, 2);
  // Bit for bit: the accumulation order does not depend on the thread count.
  Tensor x = random_f32({64, 33, 40}, 3);
  for (const std::vector<int64_t>& axes : {std::vector<int64_t>{1}, std::vector<int64_t>{2}}) {
    auto one = OpTest("ReduceMean", 18).input("x", x).const_input("a", axes_tensor(axes)).output("y").run("ref", 1);
    auto two = OpTest("ReduceMean", 18).input("x", x).const_input("a", axes_tensor(axes)).output("y").run("ref", 2);
    ASSERT_EQ(one[0].numel(), two[0].numel());
    for (int64_t i = 0; i < one[0].numel(); ++i) ASSERT_EQ(one[0].data_as<float>()[i], two[0].data_as<float>()[i]);
  }
}

TEST(Reduce, KeepdimsShapes) {
  Tensor x = random_f32({2, 3, 4}, 1);
  auto keep = OpTest("ReduceMean", 18).input("x", x).const_input("a", axes_tensor({1})).output("y").run();
  EXPECT_EQ(keep[0].shape(), (Shape{2, 1, 4}));
  auto drop = OpTest("ReduceMean", 18).attr("keepdims", 0).input("x", x).const_input("a", axes_tensor({1}))
                  .output("y").run();
  EXPECT_EQ(drop[0].shape(), (Shape{2, 4}));
  auto all = OpTest("ReduceMean", 18).attr("keepdims", 0).input("x", x).output("y").run();
  EXPECT_EQ(all[0].shape(), (Shape{}));
  auto noop = OpTest("ReduceMean", 18).attr("noop_with_empty_axes", 1).input("x", x).output("y").run();
  ASSERT_EQ(noop[0].shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(noop[0].data_as<float>()[i], x.data_as<float>()[i]);
}

TEST(Reduce, LongSumsAccumulateInDouble) {
  // 2^24 + many small values: a float accumulator would drop every 1.0 after 2^24.
  Tensor x(DType::f32, {1 << 20});
  for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = i == 0 ? 16777216.0f : 1.0f;
  auto s = OpTest("ReduceSum", 13).input("x", x).output("y").run();
  EXPECT_EQ(s[0].data_as<float>()[0], 16777216.0f + static_cast<float>((1 << 20) - 1));
}

TEST(Reduce, LogSumExpIsStable) {
  auto x = make_tensor<float>(DType::f32, {2, 2}, {1000.0f, 1000.0f, -1000.0f, -1000.0f});
  auto y = OpTest("ReduceLogSumExp", 18).attr("keepdims", 0).input("x", x).const_input("a", axes_tensor({1}))
               .output("y").run();
  EXPECT_NEAR(y[0].data_as<float>()[0], 1000.0f + std::log(2.0f), 1e-3);
  EXPECT_NEAR(y[0].data_as<float>()[1], -1000.0f + std::log(2.0f), 1e-3);
}

TEST(Reduce, IntegerSumAndMean) {
  auto x = make_tensor<int32_t>(DType::s32, {2, 3}, {1, 2, 4, -1, -2, -4});
  auto s = OpTest("ReduceSum", 13).attr("keepdims", 0).input("x", x).const_input("a", axes_tensor({1}))
               .output("y").run();
  EXPECT_EQ(s[0].data_as<int32_t>()[0], 7);
  EXPECT_EQ(s[0].data_as<int32_t>()[1], -7);
  auto m = OpTest("ReduceMean", 18).attr("keepdims", 0).input("x", x).const_input("a", axes_tensor({1}))
               .output("y").run();
  EXPECT_EQ(m[0].data_as<int32_t>()[0], 2);  // 7/3 truncated
  EXPECT_EQ(m[0].data_as<int32_t>()[1], -2);
}

TEST(Reduce, RuntimeAxesAreRejected) {
  OpTest t("ReduceSum", 13);
  t.input("x", random_f32({2, 3}, 1)).input("axes", axes_tensor({1})).output("y");
  EXPECT_THROW(t.run(), Error);
}

TEST(Reduce, RepeatedOrOutOfRangeAxesFail) {
  OpTest rep("ReduceSum", 13);
  rep.input("x", random_f32({2, 3}, 1)).const_input("axes", axes_tensor({1, -1})).output("y");
  EXPECT_THROW(rep.run(), Error);
  OpTest big("ReduceSum", 13);
  big.input("x", random_f32({2, 3}, 1)).const_input("axes", axes_tensor({2})).output("y");
  EXPECT_THROW(big.run(), Error);
}

TEST(ArgMax, TiesAndInnerAxis) {
  // [2, 3, 2], axis 1: column-wise with ties.
  auto x = make_tensor<float>(DType::f32, {2, 3, 2}, {1, 5, 3, 5, 3, 0, 2, 2, 2, 2, 2, 2});
  auto first = OpTest("ArgMax", 13).attr("axis", 1).input("x", x).output("y").run();
  ASSERT_EQ(first[0].shape(), (Shape{2, 1, 2}));
  EXPECT_EQ((std::vector<int64_t>(first[0].data_as<int64_t>(), first[0].data_as<int64_t>() + 4)),
            (std::vector<int64_t>{1, 0, 0, 0}));
  auto last = OpTest("ArgMax", 13).attr("axis", 1).attr("select_last_index", 1).input("x", x).output("y").run();
  EXPECT_EQ((std::vector<int64_t>(last[0].data_as<int64_t>(), last[0].data_as<int64_t>() + 4)),
            (std::vector<int64_t>{2, 1, 2, 2}));
  auto argmin = OpTest("ArgMin", 13).attr("axis", 1).attr("keepdims", 0).input("x", x).output("y").run();
  ASSERT_EQ(argmin[0].shape(), (Shape{2, 2}));
  EXPECT_EQ((std::vector<int64_t>(argmin[0].data_as<int64_t>(), argmin[0].data_as<int64_t>() + 4)),
            (std::vector<int64_t>{0, 2, 0, 0}));
}

TEST(TopK, TiesTakeTheLowerIndexFirst) {
  auto x = make_tensor<float>(DType::f32, {6}, {3, 1, 3, 2, 1, 3});
  auto k = make_tensor<int64_t>(DType::s64, {1}, {4});
  auto big = OpTest("TopK", 11).input("x", x).const_input("k", k).output("v").output("i").run();
  EXPECT_EQ((std::vector<int64_t>(big[1].data_as<int64_t>(), big[1].data_as<int64_t>() + 4)),
            (std::vector<int64_t>{0, 2, 5, 3}));
  auto small = OpTest("TopK", 11).attr("largest", 0).input("x", x).const_input("k", k).output("v").output("i").run();
  EXPECT_EQ((std::vector<int64_t>(small[1].data_as<int64_t>(), small[1].data_as<int64_t>() + 4)),
            (std::vector<int64_t>{1, 4, 3, 0}));
  EXPECT_EQ((std::vector<float>(small[0].data_as<float>(), small[0].data_as<float>() + 4)),
            (std::vector<float>{1, 1, 2, 3}));
}

TEST(TopK, OuterAxisOfA3DTensor) {
  Tensor x = random_f32({3, 5, 4}, 11);
  auto k = make_tensor<int64_t>(DType::s64, {1}, {2});
  auto out = OpTest("TopK", 11).attr("axis", 1).input("x", x).const_input("k", k).output("v").output("i").run();
  ASSERT_EQ(out[0].shape(), (Shape{3, 2, 4}));
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t j = 0; j < 4; ++j) {
      std::vector<float> col;
      for (int64_t r = 0; r < 5; ++r) col.push_back(x.data_as<float>()[(o * 5 + r) * 4 + j]);
      std::vector<float> sorted = col;
      std::sort(sorted.rbegin(), sorted.rend());
      for (int64_t r = 0; r < 2; ++r) {
        const float v = out[0].data_as<float>()[(o * 2 + r) * 4 + j];
        const int64_t i = out[1].data_as<int64_t>()[(o * 2 + r) * 4 + j];
        EXPECT_EQ(v, sorted[r]);
        EXPECT_EQ(col[i], v);
      }
    }
}

TEST(TopK, BadKFails) {
  OpTest too_big("TopK", 11);
  too_big.input("x", random_f32({4}, 1)).const_input("k", make_tensor<int64_t>(DType::s64, {1}, {5}))
      .output("v").output("i");
  EXPECT_THROW(too_big.run(), Error);
  OpTest runtime("TopK", 11);
  runtime.input("x", random_f32({4}, 1)).input("k", make_tensor<int64_t>(DType::s64, {1}, {2}))
      .output("v").output("i");
  EXPECT_THROW(runtime.run(), Error);
}

TEST(CumSum, RuntimeAxisExclusiveReverse) {
  auto x = make_tensor<float>(DType::f32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto axis = make_tensor<int32_t>(DType::s32, {}, {1});
  auto y = OpTest("CumSum", 14).attr("exclusive", 1).attr("reverse", 1).input("x", x).input("axis", axis)
               .output("y").run();
  EXPECT_EQ((std::vector<float>(y[0].data_as<float>(), y[0].data_as<float>() + 6)),
            (std::vector<float>{5, 3, 0, 11, 6, 0}));
  auto y0 = OpTest("CumSum", 14).input("x", x).input("axis", make_tensor<int64_t>(DType::s64, {}, {-2}))
                .output("y").run();
  EXPECT_EQ((std::vector<float>(y0[0].data_as<float>(), y0[0].data_as<float>() + 6)),
            (std::vector<float>{1, 2, 3, 5, 7, 9}));
  OpTest bad("CumSum", 14);
  bad.input("x", x).input("axis", make_tensor<int64_t>(DType::s64, {}, {2})).output("y");
  EXPECT_THROW(bad.run(), Error);
}

TEST(NonZero, ConstantInputOnly) {
  auto x = make_tensor<float>(DType::f32, {2, 3}, {0, 1, 0, 2, 0, 3});
  auto y = OpTest("NonZero", 13).const_input("x", x).output("y").run();
  ASSERT_EQ(y[0].shape(), (Shape{2, 3}));
  EXPECT_EQ((std::vector<int64_t>(y[0].data_as<int64_t>(), y[0].data_as<int64_t>() + 6)),
            (std::vector<int64_t>{0, 1, 1, 1, 0, 2}));
  OpTest runtime("NonZero", 13);
  runtime.input("x", x).output("y");
  EXPECT_THROW(runtime.run(), Error);
}

}  // namespace
}  // namespace octet
