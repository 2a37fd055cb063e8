// Det (determinants of batched square matrices) and Unique (flattened and along an axis,
// sorted and in first-occurrence order, all four outputs; constant inputs only).
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

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data_as<T>(), t.data_as<T>() + t.numel());
}

TEST(Det, BatchedMatrices) {
  // [[0,1],[2,3]] needs a row swap: 0*3 - 1*2 = -2; [[1,2],[3,4]]: -2;
  // [[2,0,1],[1,3,2],[1,1,4]]: 2*(12-2) - 0*(4-2) + 1*(1-3) = 18.
  auto y = OpTest("Det", 11).input("x", f32({2, 2, 2}, {0, 1, 2, 3, 1, 2, 3, 4})).output("y").run()[0];
  EXPECT_EQ(y.shape(), (Shape{2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{-2.0f, -2.0f}));
  auto y3 = OpTest("Det", 11).input("x", f32({3, 3}, {2, 0, 1, 1, 3, 2, 1, 1, 4})).output("y").run()[0];
  EXPECT_EQ(y3.shape(), Shape{});
  EXPECT_NEAR(y3.data_as<float>()[0], 18.0f, 1e-5);
  auto singular = OpTest("Det", 11).input("x", f32({2, 2}, {1, 2, 2, 4})).output("y").run()[0];
  EXPECT_EQ(singular.data_as<float>()[0], 0.0f);
  auto d64 = OpTest("Det", 11).input("x", make_tensor<double>(DType::f64, {1, 1}, {-2.5})).output("y").run()[0];
  EXPECT_EQ(d64.data_as<double>()[0], -2.5);
}

TEST(Det, Errors) {
  EXPECT_THROW(OpTest("Det", 11).input("x", f32({2, 3}, {1, 2, 3, 4, 5, 6})).output("y").run(), Error);
  EXPECT_THROW(OpTest("Det", 11).input("x", f32({4}, {1, 2, 3, 4})).output("y").run(), Error);
  EXPECT_THROW(OpTest("Det", 11).input("x", make_tensor<int64_t>(DType::s64, {1, 1}, {1})).output("y").run(), Error);
}

OpTest unique(const Tensor& x) {
  OpTest t("Unique", 11);
  t.const_input("x", x).output("y").output("indices").output("inverse").output("counts");
  return t;
}

TEST(Unique, FlattenedSortedAndUnsorted) {
  const Tensor x = f32({2, 3}, {2, 1, 1, 3, 4, 3});
  auto s = unique(x).run();
  EXPECT_EQ(values<float>(s[0]), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(values<int64_t>(s[1]), (std::vector<int64_t>{1, 0, 3, 4}));
  EXPECT_EQ(values<int64_t>(s[2]), (std::vector<int64_t>{1, 0, 0, 2, 3, 2}));
  EXPECT_EQ(values<int64_t>(s[3]), (std::vector<int64_t>{2, 1, 2, 1}));
  auto u = unique(x).attr("sorted", int64_t(0)).run();
  EXPECT_EQ(values<float>(u[0]), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_EQ(values<int64_t>(u[1]), (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(values<int64_t>(u[2]), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
  EXPECT_EQ(values<int64_t>(u[3]), (std::vector<int64_t>{1, 2, 2, 1}));
  // integers, with NaN-free ties; NaNs count as one value after every number
  auto i = unique(make_tensor<int32_t>(DType::s32, {4}, {5, -7, 5, 5})).run();
  EXPECT_EQ(values<int32_t>(i[0]), (std::vector<int32_t>{-7, 5}));
  EXPECT_EQ(values<int64_t>(i[3]), (std::vector<int64_t>{1, 3}));
  auto n = unique(f32({4}, {NAN, 1, NAN, 0})).run();
  ASSERT_EQ(n[0].numel(), 3);
  EXPECT_EQ(n[0].data_as<float>()[0], 0.0f);
  EXPECT_TRUE(std::isnan(n[0].data_as<float>()[2]));
  EXPECT_EQ(values<int64_t>(n[3]), (std::vector<int64_t>{1, 1, 2}));
}

TEST(Unique, AlongAxis) {
  // columns of [[1,0,0],[1,0,0],[2,3,3]]: (1,1,2), (0,0,3), (0,0,3)
  auto r = unique(f32({3, 3}, {1, 0, 0, 1, 0, 0, 2, 3, 3})).attr("axis", int64_t(-1)).run();
  EXPECT_EQ(r[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(r[0]), (std::vector<float>{0, 1, 0, 1, 3, 2}));
  EXPECT_EQ(values<int64_t>(r[1]), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(values<int64_t>(r[2]), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(values<int64_t>(r[3]), (std::vector<int64_t>{2, 1}));
  auto rows = unique(f32({3, 2}, {3, 1, 1, 2, 3, 1})).attr("axis", int64_t(0)).attr("sorted", int64_t(0)).run();
  EXPECT_EQ(rows[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(rows[0]), (std::vector<float>{3, 1, 1, 2}));
  EXPECT_EQ(values<int64_t>(rows[2]), (std::vector<int64_t>{0, 1, 0}));
}

TEST(Unique, Errors) {
  // The output shape depends on the data: a runtime input is refused at compile time.
  OpTest runtime("Unique", 11);
  runtime.input("x", f32({2}, {1, 1})).output("y");
  try {
    runtime.run();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("must be a constant"), std::string::npos) << e.what();
  }
  EXPECT_THROW(unique(f32({2}, {1, 1})).attr("axis", int64_t(1)).run(), Error);
}

}  // namespace
}  // namespace octet
