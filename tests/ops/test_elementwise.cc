// Elementwise ops: what the ONNX node tests do not cover (general broadcasting, threads,
// integer corner cases, f16, error paths).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "ops/op_test_util.h"
#include "ops/op_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

// These ops are exercised over [-2, 2) unless a test says otherwise.
Tensor random_f32(Shape shape, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  return testing::random_f32(std::move(shape), seed, lo, hi);
}

// Value of `t` at the output multi-index `idx` under numpy broadcasting.
float at_broadcast(const Tensor& t, const std::vector<int64_t>& idx) {
  const size_t off = idx.size() - t.rank();
  int64_t flat = 0;
  for (size_t d = 0; d < t.rank(); ++d) flat = flat * t.shape()[d] + (t.shape()[d] == 1 ? 0 : idx[off + d]);
  return t.data_as<float>()[flat];
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}

void expect_broadcast_sub(const Shape& a_shape, const Shape& b_shape, const Shape& out_shape, int threads) {
  Tensor a = random_f32(a_shape, 1), b = random_f32(b_shape, 2);
  std::vector<Tensor> out = OpTest("Sub", 17).input("a", a).input("b", b).output("y").run("ref", threads);
  ASSERT_EQ(out[0].shape(), out_shape);
  for (int64_t i = 0; i < out[0].numel(); ++i) {
    auto idx = unravel(i, out_shape);
    ASSERT_EQ(out[0].data_as<float>()[i], at_broadcast(a, idx) - at_broadcast(b, idx)) << "element " << i;
  }
}

TEST(Elementwise, BroadcastShapes) {
  expect_broadcast_sub({2, 3, 4}, {3, 1}, {2, 3, 4}, 1);
  expect_broadcast_sub({1, 3, 1, 5}, {2, 1, 4, 1}, {2, 3, 4, 5}, 1);
  expect_broadcast_sub({4, 1}, {5}, {4, 5}, 1);
  expect_broadcast_sub({}, {3, 2}, {3, 2}, 1);
  expect_broadcast_sub({3, 2}, {1}, {3, 2}, 1);
  expect_broadcast_sub({2, 8, 1, 7}, {8, 3, 1}, {2, 8, 3, 7}, 1);
}

TEST(Elementwise, BroadcastLargeWithThreads) {
  // Big enough to be split over threads; chunk boundaries fall inside rows.
  expect_broadcast_sub({3, 97, 411}, {97, 1}, {3, 97, 411}, 2);
  expect_broadcast_sub({1, 50001}, {3, 1}, {3, 50001}, 2);
}

TEST(Elementwise, IncompatibleShapesFail) {
  OpTest t("Add", 17);
  t.input("a", random_f32({2, 3}, 1)).input("b", random_f32({4}, 2)).output("y");
  EXPECT_THROW(t.run(), Error);
}

TEST(Elementwise, MismatchedDtypesFail) {
  OpTest t("Mul", 17);
  t.input("a", random_f32({2}, 1)).input("b", make_tensor<int32_t>(DType::s32, {2}, {1, 2})).output("y");
  EXPECT_THROW(t.run(), Error);
}

TEST(Elementwise, UnsupportedDtypeIsReported) {
  OpTest t("Sqrt", 17);
  t.input("x", make_tensor<int32_t>(DType::s32, {2}, {4, 9})).output("y");
  try {
    t.run();
    FAIL() << "Sqrt on s32 should be rejected";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported dtype s32"), std::string::npos) << e.what();
  }
}

TEST(Elementwise, IntegerDivisionTruncatesAndWraps) {
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  auto a = make_tensor<int32_t>(DType::s32, {4}, {-7, 7, kMin, 9});
  auto b = make_tensor<int32_t>(DType::s32, {4}, {2, -2, -1, 3});
  auto out = OpTest("Div", 14).input("a", a).input("b", b).output("y").run();
  const int32_t* y = out[0].data_as<int32_t>();
  EXPECT_EQ(y[0], -3);
  EXPECT_EQ(y[1], -3);
  EXPECT_EQ(y[2], kMin);  // wraps instead of trapping
  EXPECT_EQ(y[3], 3);
}

TEST(Elementwise, IntegerDivisionByZeroThrows) {
  auto a = make_tensor<int64_t>(DType::s64, {2}, {1, 2});
  auto b = make_tensor<int64_t>(DType::s64, {2}, {1, 0});
  OpTest t("Div", 14);
  t.input("a", a).input("b", b).output("y");
  EXPECT_THROW(t.run(), Error);
  OpTest m("Mod", 13);
  m.input("a", a).input("b", b).output("y");
  EXPECT_THROW(m.run(), Error);
}

TEST(Elementwise, ModSignConventions) {
  auto a = make_tensor<int32_t>(DType::s32, {4}, {-7, 7, -7, 7});
  auto b = make_tensor<int32_t>(DType::s32, {4}, {3, -3, -3, 3});
  auto py = OpTest("Mod", 13).input("a", a).input("b", b).output("y").run();
  EXPECT_EQ((std::vector<int32_t>(py[0].data_as<int32_t>(), py[0].data_as<int32_t>() + 4)),
            (std::vector<int32_t>{2, -2, -1, 1}));
  auto c = OpTest("Mod", 13).attr("fmod", 1).input("a", a).input("b", b).output("y").run();
  EXPECT_EQ((std::vector<int32_t>(c[0].data_as<int32_t>(), c[0].data_as<int32_t>() + 4)),
            (std::vector<int32_t>{-1, 1, -1, 1}));
  auto fa = make_tensor<float>(DType::f32, {2}, {-7.5f, 7.5f});
  auto fb = make_tensor<float>(DType::f32, {2}, {2.0f, -2.0f});
  auto f = OpTest("Mod", 13).input("a", fa).input("b", fb).output("y").run();
  EXPECT_FLOAT_EQ(f[0].data_as<float>()[0], 0.5f);  // numpy.mod
  EXPECT_FLOAT_EQ(f[0].data_as<float>()[1], -0.5f);
}

TEST(Elementwise, PowIntegerAndSquare) {
  auto base = make_tensor<int64_t>(DType::s64, {5}, {2, -3, 2, -1, 1});
  auto exp = make_tensor<int64_t>(DType::s64, {5}, {10, 3, -1, -3, -5});
  auto out = OpTest("Pow", 15).input("a", base).input("b", exp).output("y").run();
  EXPECT_EQ((std::vector<int64_t>(out[0].data_as<int64_t>(), out[0].data_as<int64_t>() + 5)),
            (std::vector<int64_t>{1024, -27, 0, -1, 1}));
  Tensor x = random_f32({1000}, 3, -10, 10);
  auto sq = OpTest("Pow", 15).input("x", x).const_input("e", make_tensor<float>(DType::f32, {}, {2.0f}))
                .output("y").run();
  for (int64_t i = 0; i < x.numel(); ++i)
    ASSERT_EQ(sq[0].data_as<float>()[i], x.data_as<float>()[i] * x.data_as<float>()[i]);
}

TEST(Elementwise, RoundHalfToEven) {
  auto x = make_tensor<float>(DType::f32, {6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f});
  auto out = OpTest("Round", 11).input("x", x).output("y").run();
  const float expected[] = {0, 2, 2, -0.0f, -2, 2};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[0].data_as<float>()[i], expected[i]) << i;
}

TEST(Elementwise, WhereBroadcastsThreeWays) {
  auto cond = make_tensor<bool>(DType::boolean, {2, 1}, {true, false});
  auto x = make_tensor<float>(DType::f32, {3}, {1, 2, 3});
  auto y = make_tensor<float>(DType::f32, {2, 3}, {10, 20, 30, 40, 50, 60});
  auto out = OpTest("Where", 16).input("c", cond).input("x", x).input("y", y).output("z").run();
  ASSERT_EQ(out[0].shape(), (Shape{2, 3}));
  const float expected[] = {1, 2, 3, 40, 50, 60};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[0].data_as<float>()[i], expected[i]);
}

TEST(Elementwise, VariadicSumBroadcasts) {
  Tensor a = random_f32({2, 1, 4}, 1), b = random_f32({3, 1}, 2), c = random_f32({4}, 3);
  auto out = OpTest("Sum", 13).input("a", a).input("b", b).input("c", c).output("y").run();
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 4}));
  for (int64_t i = 0; i < out[0].numel(); ++i) {
    auto idx = unravel(i, {2, 3, 4});
    EXPECT_FLOAT_EQ(out[0].data_as<float>()[i], at_broadcast(a, idx) + at_broadcast(b, idx) + at_broadcast(c, idx));
  }
  auto mean = OpTest("Mean", 13).input("a", a).input("b", b).input("c", c).output("y").run();
  for (int64_t i = 0; i < mean[0].numel(); ++i)
    EXPECT_NEAR(mean[0].data_as<float>()[i], out[0].data_as<float>()[i] / 3, 1e-6);
}

TEST(Elementwise, MaxPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto a = make_tensor<float>(DType::f32, {3}, {nan, 1, 2});
  auto b = make_tensor<float>(DType::f32, {3}, {0, nan, 3});
  auto out = OpTest("Max", 13).input("a", a).input("b", b).output("y").run();
  EXPECT_TRUE(std::isnan(out[0].data_as<float>()[0]));
  EXPECT_TRUE(std::isnan(out[0].data_as<float>()[1]));
  EXPECT_EQ(out[0].data_as<float>()[2], 3.0f);
}

TEST(Elementwise, HalfPrecisionThroughFloat) {
  using detail::float_to_half;
  using detail::half_to_float;
  auto a = make_tensor<uint16_t>(DType::f16, {3}, {float_to_half(1.5f), float_to_half(-2.0f), float_to_half(0.25f)});
  auto b = make_tensor<uint16_t>(DType::f16, {1}, {float_to_half(0.5f)});
  auto out = OpTest("Add", 14).input("a", a).input("b", b).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::f16);
  EXPECT_EQ(half_to_float(out[0].data_as<uint16_t>()[0]), 2.0f);
  EXPECT_EQ(half_to_float(out[0].data_as<uint16_t>()[1]), -1.5f);
  EXPECT_EQ(half_to_float(out[0].data_as<uint16_t>()[2]), 0.75f);
  auto s = OpTest("Sigmoid", 13).input("a", a).output("y").run();
  EXPECT_NEAR(half_to_float(s[0].data_as<uint16_t>()[0]), 1 / (1 + std::exp(-1.5f)), 1e-3);
}

TEST(Elementwise, ClipIntegerWithOnlyMax) {
  auto x = make_tensor<int8_t>(DType::s8, {4}, {-128, -5, 5, 127});
  auto out = OpTest("Clip", 13).input("x", x).no_input().const_input("max", make_tensor<int8_t>(DType::s8, {}, {3}))
                 .output("y").run();
  const int8_t expected[] = {-128, -5, 3, 3};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[0].data_as<int8_t>()[i], expected[i]);
}

TEST(Elementwise, ActivationsAtExtremes) {
  auto x = make_tensor<float>(DType::f32, {4}, {-1000, -20, 20, 1000});
  auto sig = OpTest("Sigmoid", 13).input("x", x).output("y").run();
  EXPECT_EQ(sig[0].data_as<float>()[0], 0.0f);
  EXPECT_EQ(sig[0].data_as<float>()[3], 1.0f);
  auto sp = OpTest("Softplus", 13).input("x", x).output("y").run();
  EXPECT_EQ(sp[0].data_as<float>()[3], 1000.0f);  // no overflow to inf
  EXPECT_NEAR(sp[0].data_as<float>()[2], 20.0f, 1e-5);
  auto mish = OpTest("Mish", 18).input("x", x).output("y").run();
  EXPECT_EQ(mish[0].data_as<float>()[3], 1000.0f);
  EXPECT_FALSE(std::isnan(mish[0].data_as<float>()[0]));
}

TEST(Elementwise, GeluForms) {
  auto x = make_tensor<float>(DType::f32, {3}, {-1.0f, 0.5f, 2.0f});
  auto exact = OpTest("Gelu", 20).input("x", x).output("y").run();
  auto approx = OpTest("Gelu", 20).attr("approximate", "tanh").input("x", x).output("y").run();
  for (int i = 0; i < 3; ++i) {
    const double v = x.data_as<float>()[i];
    EXPECT_NEAR(exact[0].data_as<float>()[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-6);
    EXPECT_NEAR(approx[0].data_as<float>()[i], 0.5 * v * (1 + std::tanh(0.7978845608 * (v + 0.044715 * v * v * v))),
                1e-6);
  }
}

TEST(Elementwise, TrainingDropoutIsRejected) {
  OpTest t("Dropout", 13);
  t.input("x", random_f32({4}, 1))
      .const_input("r", make_tensor<float>(DType::f32, {}, {0.5f}))
      .const_input("t", make_tensor<bool>(DType::boolean, {}, {true}))
      .output("y");
  EXPECT_THROW(t.run(), Error);
  // A run-time training_mode is checked when the kernel runs.
  OpTest r("Dropout", 13);
  r.input("x", random_f32({4}, 1))
      .const_input("r", make_tensor<float>(DType::f32, {}, {0.5f}))
      .input("t", make_tensor<bool>(DType::boolean, {}, {true}))
      .output("y");
  EXPECT_THROW(r.run(), Error);
}

TEST(Elementwise, PReluSlopeMustBroadcastIntoX) {
  OpTest t("PRelu", 16);
  t.input("x", random_f32({2, 3}, 1)).input("s", random_f32({4, 2, 3}, 2)).output("y");
  EXPECT_THROW(t.run(), Error);
  auto out = OpTest("PRelu", 16).input("x", random_f32({2, 3, 4}, 1))
                 .const_input("s", make_tensor<float>(DType::f32, {3, 1}, {0.1f, 0.2f, 0.3f})).output("y").run();
  Tensor x = random_f32({2, 3, 4}, 1);
  for (int64_t i = 0; i < 24; ++i) {
    const float v = x.data_as<float>()[i], s = 0.1f * static_cast<float>((i / 4) % 3 + 1);
    EXPECT_FLOAT_EQ(out[0].data_as<float>()[i], v < 0 ? v * s : v);
  }
}

TEST(Elementwise, BitShiftWideShiftsGiveZero) {
  auto x = make_tensor<uint8_t>(DType::u8, {3}, {1, 255, 16});
  auto s = make_tensor<uint8_t>(DType::u8, {3}, {7, 8, 2});
  auto out = OpTest("BitShift", 11).attr("direction", "LEFT").input("x", x).input("s", s).output("y").run();
  EXPECT_EQ(out[0].data_as<uint8_t>()[0], 128);
  EXPECT_EQ(out[0].data_as<uint8_t>()[1], 0);
  EXPECT_EQ(out[0].data_as<uint8_t>()[2], 64);
}

}  // namespace
}  // namespace octet
