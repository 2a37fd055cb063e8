// MatMul and Gemm beyond the ONNX node tests: 1-D promotion, broadcast batch dims, integer
// wrap-around, shapes large enough to cross the GEMM cache blocks, every C broadcast form,
// the pre-transposed constant B, thread-count independence and error paths.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;
using testing::random_f32;


// Batched reference over already-broadcast operands: a [B, M, K], b [B, K, N] as functions.
template <class A, class Bf>
std::vector<double> reference_matmul(int64_t batches, int64_t M, int64_t K, int64_t N, A a, Bf b) {
  std::vector<double> y;
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += a(bi, i, k) * b(bi, k, j);
        y.push_back(s);
      }
  return y;
}

void expect_close(const Tensor& t, const std::vector<double>& expected) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_NEAR(t.data_as<float>()[i], expected[i], 1e-4 * (1 + std::abs(expected[i]))) << i;
}

TEST(MatMul, OneDimensionalOperandsArePromotedAndDropped) {
  Tensor v = make_tensor<float>(DType::f32, {3}, {1, 2, 3});
  Tensor m = make_tensor<float>(DType::f32, {3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor mt = make_tensor<float>(DType::f32, {2, 3}, {1, 3, 5, 2, 4, 6});
  auto dot = OpTest("MatMul").input("a", v).input("b", v).output("y").run();
  EXPECT_EQ(dot[0].shape(), Shape{});
  EXPECT_FLOAT_EQ(dot[0].data_as<float>()[0], 14);
  auto vm = OpTest("MatMul").input("a", v).input("b", m).output("y").run();
  EXPECT_EQ(vm[0].shape(), Shape{2});
  EXPECT_FLOAT_EQ(vm[0].data_as<float>()[0], 22);
  EXPECT_FLOAT_EQ(vm[0].data_as<float>()[1], 28);
  auto mv = OpTest("MatMul").input("a", mt).input("b", v).output("y").run();
  EXPECT_EQ(mv[0].shape(), Shape{2});
  EXPECT_FLOAT_EQ(mv[0].data_as<float>()[0], 22);
  EXPECT_FLOAT_EQ(mv[0].data_as<float>()[1], 28);
  // A batched vector-matrix product: [3] x [4, 3, 2] -> [4, 2].
  Tensor bm = random_f32({4, 3, 2}, 7);
  auto bv = OpTest("MatMul").input("a", v).input("b", bm).output("y").run();
  EXPECT_EQ(bv[0].shape(), (Shape{4, 2}));
}

TEST(MatMul, BroadcastsBatchDimensions) {
  // [2, 1, 5, 7] x [3, 7, 4] -> [2, 3, 5, 4]
  Tensor a = random_f32({2, 1, 5, 7}, 1), b = random_f32({3, 7, 4}, 2);
  auto y = OpTest("MatMul").input("a", a).input("b", b).output("y").run();
  ASSERT_EQ(y[0].shape(), (Shape{2, 3, 5, 4}));
  const float* pa = a.data_as<float>();
  const float* pb = b.data_as<float>();
  auto expected = reference_matmul(
      6, 5, 7, 4, [&](int64_t bi, int64_t i, int64_t k) { return pa[((bi / 3) * 5 + i) * 7 + k]; },
      [&](int64_t bi, int64_t k, int64_t j) { return pb[((bi % 3) * 7 + k) * 4 + j]; });
  expect_close(y[0], expected);
}

TEST(MatMul, LargeShapesMatchAndDoNotDependOnThreads) {
  // Crosses the 256-column and 128-deep blocks with ragged edges; B shared by the batch.
  Tensor a = random_f32({2, 70, 300}, 3), b = random_f32({300, 259}, 4);
  OpTest t("MatMul");
  t.input("a", a).const_input("b", b).output("y");
  auto one = t.run("ref", 1);
  const float* pa = a.data_as<float>();
  const float* pb = b.data_as<float>();
  auto expected = reference_matmul(
      2, 70, 300, 259,
      [&](int64_t bi, int64_t i, int64_t k) { return pa[(bi * 70 + i) * 300 + k]; },
      [&](int64_t, int64_t k, int64_t j) { return pb[k * 259 + j]; });
  expect_close(one[0], expected);
  auto two = t.run("ref", 2);
  EXPECT_EQ(0, std::memcmp(one[0].data(), two[0].data(), one[0].nbytes()));
  // A single row split over threads by columns.
  Tensor row = random_f32({1, 300}, 5);
  OpTest r("MatMul");
  r.input("a", row).const_input("b", b).output("y");
  auto r1 = r.run("ref", 1), r2 = r.run("ref", 2);
  EXPECT_EQ(0, std::memcmp(r1[0].data(), r2[0].data(), r1[0].nbytes()));
}

TEST(MatMul, IntegerProductsWrapAround) {
  Tensor a = make_tensor<int32_t>(DType::s32, {1, 2}, {0x40000000, 3});
  Tensor b = make_tensor<int32_t>(DType::s32, {2, 1}, {4, -5});
  auto y = OpTest("MatMul").input("a", a).input("b", b).output("y").run();
  EXPECT_EQ(y[0].data_as<int32_t>()[0], -15);  // 2^30 * 4 wraps to 0
  Tensor a64 = make_tensor<int64_t>(DType::s64, {2, 2}, {1, 2, 3, 4});
  Tensor b64 = make_tensor<int64_t>(DType::s64, {2, 2}, {5, 6, 7, 8});
  auto y64 = OpTest("MatMul").input("a", a64).input("b", b64).output("y").run();
  EXPECT_EQ(std::vector<int64_t>(y64[0].data_as<int64_t>(), y64[0].data_as<int64_t>() + 4),
            (std::vector<int64_t>{19, 22, 43, 50}));
}

TEST(MatMul, RejectsBadShapesAndDtypes) {
  EXPECT_THROW(OpTest("MatMul")
                   .input("a", random_f32({2, 3}, 1))
                   .input("b", random_f32({4, 2}, 2))
                   .output("y")
                   .run(),
               Error);
  EXPECT_THROW(OpTest("MatMul")
                   .input("a", random_f32({2, 2, 3}, 1))
                   .input("b", random_f32({3, 3, 2}, 2))
                   .output("y")
                   .run(),
               Error);
  Tensor a8(DType::u8, {2, 2});
  EXPECT_THROW(OpTest("MatMul").input("a", a8).input("b", a8).output("y").run(), Error);
  Tensor ai(DType::s32, {2, 2});
  EXPECT_THROW(OpTest("MatMul").input("a", random_f32({2, 2}, 1)).input("b", ai).output("y").run(),
               Error);
}

// ---- Gemm -----------------------------------------------------------------------------------

struct GemmCase {
  bool trans_a = false, trans_b = false;
  float alpha = 1, beta = 1;
  Shape c_shape;  // empty vector and no_c: no C
  bool has_c = true;
  bool const_b = false;
};

void check_gemm(const GemmCase& g, const std::string& what) {
  SCOPED_TRACE(what);
  const int64_t M = 19, K = 150, N = 37;
  Tensor a = random_f32(g.trans_a ? Shape{K, M} : Shape{M, K}, 11);
  Tensor b = random_f32(g.trans_b ? Shape{N, K} : Shape{K, N}, 12);
  Tensor c = random_f32(g.c_shape, 13);
  OpTest t("Gemm", 13);
  t.attr("transA", int64_t(g.trans_a))
      .attr("transB", int64_t(g.trans_b))
      .attr("alpha", g.alpha)
      .attr("beta", g.beta)
      .input("a", a);
  if (g.const_b)
    t.const_input("b", b);
  else
    t.input("b", b);
  if (g.has_c) t.input("c", c);
  t.output("y");
  auto y = t.run("ref", 1);
  ASSERT_EQ(y[0].shape(), (Shape{M, N}));
  const float* pa = a.data_as<float>();
  const float* pb = b.data_as<float>();
  const float* pc = c.data_as<float>();
  auto ab = reference_matmul(
      1, M, K, N,
      [&](int64_t, int64_t i, int64_t k) { return g.trans_a ? pa[k * M + i] : pa[i * K + k]; },
      [&](int64_t, int64_t k, int64_t j) { return g.trans_b ? pb[j * K + k] : pb[k * N + j]; });
  std::vector<double> expected(ab.size());
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double cv = 0;
      if (g.has_c) {
        const Shape& s = g.c_shape;
        const int64_t ci = s.size() == 2 && s[0] != 1 ? i : 0;
        const int64_t cj = !s.empty() && s.back() != 1 ? j : 0;
        cv = pc[ci * (s.empty() ? 1 : s.back()) + cj];
      }
      expected[i * N + j] = g.alpha * ab[i * N + j] + g.beta * cv;
    }
  expect_close(y[0], expected);
  auto two = t.run("ref", 2);
  EXPECT_EQ(0, std::memcmp(y[0].data(), two[0].data(), y[0].nbytes()));
}

TEST(Gemm, EveryTransposeAndBroadcastForm) {
  GemmCase g;
  g.c_shape = {19, 37};
  check_gemm(g, "plain, full C");
  g.trans_a = true;
  g.alpha = 0.5f;
  g.beta = -2;
  g.c_shape = {37};
  check_gemm(g, "transA, row C");
  g.trans_b = true;
  g.c_shape = {19, 1};
  check_gemm(g, "both transposed, column C");
  g.const_b = true;
  g.c_shape = {1, 37};
  check_gemm(g, "constant B^T pre-transposed, [1,N] C");
  g.c_shape = {};
  check_gemm(g, "scalar C");
  g.has_c = false;
  check_gemm(g, "no C");
  g.has_c = true;
  g.beta = 0;
  g.c_shape = {1};
  check_gemm(g, "beta 0 ignores C");
}

TEST(Gemm, RejectsBadShapes) {
  EXPECT_THROW(OpTest("Gemm")
                   .input("a", random_f32({2, 3}, 1))
                   .input("b", random_f32({4, 2}, 2))
                   .output("y")
                   .run(),
               Error);
  EXPECT_THROW(OpTest("Gemm")
                   .input("a", random_f32({2, 3}, 1))
                   .input("b", random_f32({3, 4}, 2))
                   .input("c", random_f32({3}, 3))
                   .output("y")
                   .run(),
               Error);
  EXPECT_THROW(OpTest("Gemm")
                   .input("a", random_f32({2, 3, 1}, 1))
                   .input("b", random_f32({3, 4}, 2))
                   .output("y")
                   .run(),
               Error);
}

}  // namespace
}  // namespace octet
