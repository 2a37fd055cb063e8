// Einsum against a naive loop over every label assignment (in double): '...' broadcasting
// across operands of different ranks, diagonals, implicit outputs, 3 and 4 operands, size-1
// broadcasting, empty dims, integer wrap-around, on the ref level and the SIMD level (packed
// FP32 GEMM) with 1 and 2 threads; and the error paths, each checked for its message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ops/op_test_util.h"
#include "ops/op_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

// An operand of the naive einsum: one letter per axis ('...' written out as letters by the
// test) and its values.
struct NaiveOperand {
  std::string labels;
  Shape shape;
  std::vector<double> values;
};

// out[out_labels] = sum over the other labels of the product of the operands; a dim of size 1
// broadcasts against the label's size elsewhere.
std::vector<double> naive_einsum(const std::vector<NaiveOperand>& ops, const std::string& out_labels, Shape* out_shape) {
  std::map<char, int64_t> size;
  for (const NaiveOperand& op : ops)
    for (size_t d = 0; d < op.labels.size(); ++d) size[op.labels[d]] = std::max(size[op.labels[d]], op.shape[d]);
  std::string all = out_labels;
  for (const auto& kv : size)
    if (out_labels.find(kv.first) == std::string::npos) all += kv.first;
  out_shape->clear();
  int64_t out_numel = 1;
  for (char l : out_labels) {
    out_shape->push_back(size[l]);
    out_numel *= size[l];
  }
  std::vector<double> out(static_cast<size_t>(out_numel), 0.0);
  int64_t total = 1;
  for (char l : all) total *= size[l];
  std::map<char, int64_t> value;
  for (int64_t step = 0; step < total; ++step) {
    int64_t rem = step;
    for (size_t i = all.size(); i-- > 0;) {
      value[all[i]] = rem % size[all[i]];
      rem /= size[all[i]];
    }
    double product = 1;
    for (const NaiveOperand& op : ops) {
      int64_t offset = 0;
      for (size_t d = 0; d < op.labels.size(); ++d) offset = offset * op.shape[d] + (op.shape[d] == 1 ? 0 : value[op.labels[d]]);
      product *= op.values[static_cast<size_t>(offset)];
    }
    int64_t o = 0;
    for (char l : out_labels) o = o * size[l] + value[l];
    out[static_cast<size_t>(o)] += product;
  }
  return out;
}

Tensor run_einsum(const std::string& equation, const std::vector<Tensor>& inputs, const std::string& isa = "ref",
                  int threads = 1) {
  OpTest t("Einsum", 12);
  t.attr("equation", equation);
  for (size_t i = 0; i < inputs.size(); ++i) t.input("x" + std::to_string(i), inputs[i]);
  t.output("y");
  return t.run(isa, threads)[0];
}

// Random f32 operands of the given shapes through Einsum `equation`, against the naive einsum
// of the same operands labelled by `labels` -> `out_labels` (the ellipsis written out).
void check_f32(const std::string& equation, const std::vector<std::string>& labels, const std::string& out_labels,
               const std::vector<Shape>& shapes, uint32_t seed) {
  SCOPED_TRACE(equation);
  std::vector<Tensor> inputs;
  std::vector<NaiveOperand> naive;
  for (size_t i = 0; i < shapes.size(); ++i) {
    inputs.push_back(testing::random_f32(shapes[i], seed + static_cast<uint32_t>(i)));
    const float* p = inputs.back().data_as<float>();
    naive.push_back({labels[i], shapes[i], std::vector<double>(p, p + inputs.back().numel())});
  }
  Shape want_shape;
  const std::vector<double> want = naive_einsum(naive, out_labels, &want_shape);
  for (const char* isa : {"ref", "auto"})
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(isa) + ", threads " + std::to_string(threads));
      const Tensor y = run_einsum(equation, inputs, isa, threads);
      ASSERT_EQ(y.dtype(), DType::f32);
      ASSERT_EQ(y.shape(), want_shape);
      for (int64_t i = 0; i < y.numel(); ++i)
        EXPECT_NEAR(y.data_as<float>()[i], want[static_cast<size_t>(i)], 1e-5 * (1 + std::fabs(want[static_cast<size_t>(i)])))
            << "element " << i;
    }
}

TEST(Einsum, EllipsisBroadcastsAcrossOperandsOfDifferentRanks) {
  // A's '...' is (2, 1), B's is (5): right-aligned, the 1 broadcasts against the 5.
  check_f32("...ij,...jk->...ik", {"xyij", "yjk"}, "xyik", {{2, 1, 3, 4}, {5, 4, 2}}, 1);
  check_f32("...ij,...jk", {"xyij", "yjk"}, "xyik", {{2, 1, 3, 4}, {5, 4, 2}}, 2);  // implicit: '...' first
  // '...' in the middle of a term, and in the middle of the output.
  check_f32("a...c,...c->a...", {"axyc", "yc"}, "axy", {{2, 3, 1, 4}, {5, 4}}, 3);
  check_f32("...i->i...", {"xyi"}, "ixy", {{2, 3, 4}}, 4);
  // An ellipsis of no dims.
  check_f32("...ij,jk->...ik", {"ij", "jk"}, "ik", {{3, 4}, {4, 2}}, 5);
}

TEST(Einsum, ThreeAndFourOperands) {
  check_f32("ij,jk,kl->il", {"ij", "jk", "kl"}, "il", {{3, 4}, {4, 5}, {5, 2}}, 10);
  check_f32("abc,cd,bde->ae", {"abc", "cd", "bde"}, "ae", {{2, 3, 4}, {4, 5}, {3, 5, 6}}, 11);
  check_f32("ab,bc,cd,da->", {"ab", "bc", "cd", "da"}, "", {{2, 3}, {3, 4}, {4, 5}, {5, 2}}, 12);  // trace
  check_f32("i,j,k", {"i", "j", "k"}, "ijk", {{2}, {3}, {4}}, 13);  // outer products
  check_f32("bij,bjk,bkl->bil", {"bij", "bjk", "bkl"}, "bil", {{2, 3, 4}, {2, 4, 3}, {1, 3, 2}}, 14);
}

TEST(Einsum, Diagonals) {
  check_f32("ii->i", {"ii"}, "i", {{4, 4}}, 20);
  check_f32("ii", {"ii"}, "", {{4, 4}}, 21);  // implicit: a repeated letter is summed (the trace)
  check_f32("iij->ji", {"iij"}, "ji", {{3, 3, 2}}, 22);
  check_f32("bii,bij->bj", {"bii", "bij"}, "bj", {{2, 3, 3}, {2, 3, 4}}, 23);
  check_f32("i...i->...", {"ixi"}, "x", {{3, 2, 3}}, 24);
  check_f32("iji,j->ij", {"iji", "j"}, "ij", {{3, 2, 3}, {2}}, 25);
}

TEST(Einsum, ImplicitOutputSumsTransposesAndBroadcasts) {
  check_f32("ba", {"ba"}, "ab", {{2, 3}}, 30);  // implicit output in letter order: a transpose
  check_f32("Ab,ba", {"Ab", "ba"}, "Aa", {{2, 3}, {3, 4}}, 31);  // ASCII order: upper case first
  check_f32("ij->", {"ij"}, "", {{3, 4}}, 32);
  check_f32("ij->j", {"ij"}, "j", {{3, 4}}, 33);
  check_f32("i,i", {"i", "i"}, "", {{5}, {5}}, 34);
  check_f32("ij,ij->ij", {"ij", "ij"}, "ij", {{2, 1}, {2, 3}}, 35);  // a size-1 letter broadcasts
  check_f32(" i j , j k -> i k ", {"ij", "jk"}, "ik", {{2, 3}, {3, 4}}, 36);  // spaces are allowed
  check_f32("ij,jk->ik", {"ij", "jk"}, "ik", {{37, 70}, {70, 45}}, 37);  // big enough for every GEMM path
  check_f32("->", {""}, "", {{}}, 38);  // a scalar
}

TEST(Einsum, EmptyDims) {
  const Tensor y = run_einsum("ij,jk->ik", {Tensor(DType::f32, {2, 0}), Tensor(DType::f32, {0, 3})}, "auto");
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_EQ(y.data_as<float>()[i], 0.0f);
  const Tensor s = run_einsum("i->", {Tensor(DType::f32, {0})});
  ASSERT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.data_as<float>()[0], 0.0f);
  EXPECT_EQ(run_einsum("ij->ji", {Tensor(DType::f32, {0, 3})}).shape(), (Shape{3, 0}));
}

TEST(Einsum, IntegerAndDoubleDtypes) {
  // s32 matrix product, exact.
  const Tensor a = make_tensor<int32_t>(DType::s32, {2, 3}, {1, -2, 3, 4, 5, -6});
  const Tensor b = make_tensor<int32_t>(DType::s32, {3, 2}, {7, 8, 9, 10, -11, 12});
  const Tensor y = run_einsum("ij,jk->ik", {a, b}, "auto", 2);
  ASSERT_EQ(y.dtype(), DType::s32);
  EXPECT_EQ(std::vector<int32_t>(y.data_as<int32_t>(), y.data_as<int32_t>() + 4),
            (std::vector<int32_t>{7 - 18 - 33, 8 - 20 + 36, 28 + 45 + 66, 32 + 50 - 72}));
  // Integers wrap: u8 200*2 + 100*3 = 700 = 188 (mod 256); s8 100*2 + 100*2 = 400 = -112.
  const Tensor u = run_einsum("i,i", {make_tensor<uint8_t>(DType::u8, {2}, {200, 100}),
                                     make_tensor<uint8_t>(DType::u8, {2}, {2, 3})});
  EXPECT_EQ(u.data_as<uint8_t>()[0], 188);
  const Tensor s8 = run_einsum("i->", {make_tensor<int8_t>(DType::s8, {4}, {100, 100, 100, 100})});
  EXPECT_EQ(s8.data_as<int8_t>()[0], -112);
  // s64 trace of a diagonal, u64 outer product, f64 inner product.
  const Tensor tr = run_einsum("ii", {make_tensor<int64_t>(DType::s64, {2, 2}, {int64_t(1) << 40, 5, 6, 3})});
  EXPECT_EQ(tr.data_as<int64_t>()[0], (int64_t(1) << 40) + 3);
  const Tensor outer = run_einsum("i,j->ij", {make_tensor<uint64_t>(DType::u64, {2}, {2, 3}),
                                              make_tensor<uint64_t>(DType::u64, {2}, {5, 7})});
  EXPECT_EQ(std::vector<uint64_t>(outer.data_as<uint64_t>(), outer.data_as<uint64_t>() + 4),
            (std::vector<uint64_t>{10, 14, 15, 21}));
  const Tensor d = run_einsum("i,i->", {make_tensor<double>(DType::f64, {3}, {0.1, 0.2, 0.3}),
                                        make_tensor<double>(DType::f64, {3}, {1e10, 1, 1})});
  EXPECT_DOUBLE_EQ(d.data_as<double>()[0], 0.1 * 1e10 + 0.2 + 0.3);
}

TEST(Einsum, HalfPrecisionRunsThroughF32) {
  using detail::float_to_half;
  using detail::half_to_float;
  auto half = [](Shape s, std::vector<float> v) {
    std::vector<uint16_t> h;
    for (float f : v) h.push_back(float_to_half(f));
    return make_tensor<uint16_t>(DType::f16, std::move(s), h);
  };
  const Tensor y = run_einsum("ij,jk->ik", {half({2, 2}, {1, 2, 3, 4}), half({2, 2}, {0.5f, -1, 2, 0.25f})}, "auto");
  ASSERT_EQ(y.dtype(), DType::f16);
  std::vector<float> got;
  for (int64_t i = 0; i < 4; ++i) got.push_back(half_to_float(y.data_as<uint16_t>()[i]));
  EXPECT_EQ(got, (std::vector<float>{4.5f, -0.5f, 9.5f, -2}));
}

// Runs Einsum and expects an octet::Error whose message contains `part`.
void expect_error(const std::string& equation, const std::vector<Tensor>& inputs, const std::string& part) {
  SCOPED_TRACE(equation);
  try {
    run_einsum(equation, inputs);
    ADD_FAILURE() << "no error; expected one containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Einsum, Errors) {
  const Tensor m23(DType::f32, {2, 3}), m33(DType::f32, {3, 3});
  expect_error("i$j", {m23}, "invalid character '$'");
  expect_error("ij-ji", {m23}, "invalid character '-'");
  expect_error("i.j", {m23}, "a '.' that is not part of '...'");
  expect_error("...i...", {m23}, "more than one '...'");
  expect_error("ij->j->i", {m23}, "more than one '->'");
  expect_error("ij->i,j", {m23}, "more than one output term");
  expect_error("ij,jk->ik", {m23}, "has 2 operand term(s) but the node has 1 input(s)");
  expect_error("ijk", {m23}, "input 0 has rank 2 but its term has 3 letter(s)");
  expect_error("ijk...", {m23}, "fewer than the 3 letter(s)");
  expect_error("ij,jk->ik", {m23, m23}, "'j' stands for dims of different sizes: 3 in input 0, 2 in input 1");
  expect_error("ii->i", {m23}, "repeats 'i' (a diagonal) over axes of different sizes (2 and 3)");
  expect_error("...i,...i->...i", {Tensor(DType::f32, {2, 3}), Tensor(DType::f32, {4, 3})},
               "dim 0 of '...' stands for dims of different sizes");
  expect_error("ij->k", {m23}, "output letter 'k' appears in no input term");
  expect_error("ij->ii", {m33}, "output letter 'i' appears more than once");
  expect_error("...i->i", {m23}, "the output term needs a '...' too");
  expect_error("ij,jk->ik", {m23, make_tensor<double>(DType::f64, {3, 4}, std::vector<double>(12, 1.0))},
               "must match");
  expect_error("i->i", {make_tensor<bool>(DType::boolean, {1}, {true})}, "dtype");
  // The equation attribute is required.
  OpTest t("Einsum", 12);
  t.input("x", m23).output("y");
  try {
    t.run();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the equation attribute is required"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace octet
