// Shape / data-movement ops: what the ONNX node tests do not cover (negative and clamped
// Slice steps, Pad modes with negative pads and axes, opset-18 Split, reductions of the
// Scatter ops, Trilu, Cast corner cases, large copies on two threads, error paths).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>

#include "ops/op_test_util.h"
#include "ops/op_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

Tensor iota_f32(Shape shape) {
  Tensor t(DType::f32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(i);
  return t;
}

Tensor ints(std::vector<int64_t> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return make_tensor<int64_t>(DType::s64, {n}, v);
}

std::vector<float> values(const Tensor& t) { return detail::tensor_to_floats(t); }

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t flat = 0;
  for (size_t d = 0; d < s.size(); ++d) flat = flat * s[d] + idx[d];
  return flat;
}

// --- Slice ---------------------------------------------------------------------------------

TEST(ShapeSlice, NegativeStepsWithExtremeBoundsReverseTheAxis) {
  Tensor x = iota_f32({3, 5});
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  // Axis 1 reversed over its whole length (start clamps to 4, end to -1), axis 0 from 2 down.
  auto out = OpTest("Slice", 13)
                 .input("x", x)
                 .const_input("starts", ints({hi, 2}))
                 .const_input("ends", ints({lo, lo}))
                 .const_input("axes", ints({1, 0}))
                 .const_input("steps", ints({-2, -1}))
                 .output("y")
                 .run();
  ASSERT_EQ(out[0].shape(), (Shape{3, 3}));
  std::vector<float> expected;
  for (int r = 2; r >= 0; --r)
    for (int c = 4; c >= 0; c -= 2) expected.push_back(static_cast<float>(r * 5 + c));
  EXPECT_EQ(values(out[0]), expected);
}

TEST(ShapeSlice, EmptyWhenStartPassesEnd) {
  auto out = OpTest("Slice", 13)
                 .input("x", iota_f32({4, 2}))
                 .const_input("starts", ints({3}))
                 .const_input("ends", ints({1}))
                 .output("y")
                 .run();
  EXPECT_EQ(out[0].shape(), (Shape{0, 2}));
}

TEST(ShapeSlice, StepZeroAndRuntimeStartsAreCompileErrors) {
  EXPECT_THROW(OpTest("Slice", 13)
                   .input("x", iota_f32({4}))
                   .const_input("starts", ints({0}))
                   .const_input("ends", ints({4}))
                   .const_input("axes", ints({0}))
                   .const_input("steps", ints({0}))
                   .output("y")
                   .run(),
               Error);
  try {
    OpTest("Slice", 13).input("x", iota_f32({4})).input("starts", ints({0})).const_input("ends", ints({4})).output("y").run();
    FAIL() << "a runtime starts input must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("must be a constant"), std::string::npos) << e.what();
  }
}

// --- Pad -----------------------------------------------------------------------------------

// Reference for one padded dimension: source index of output position o, or -1 for constant.
int64_t pad_src(const std::string& mode, int64_t o, int64_t begin, int64_t n) {
  int64_t i = o - begin;
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return std::min<int64_t>(std::max<int64_t>(i, 0), n - 1);
  if (mode == "wrap") return ((i % n) + n) % n;
  int64_t period = 2 * (n - 1);  // reflect
  int64_t m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

TEST(ShapePad, EveryModeMatchesTheIndexFormula) {
  Tensor x = iota_f32({3, 4});
  for (std::string mode : {"constant", "reflect", "edge", "wrap"}) {
    // Pads larger than the input exercise repeated reflection / wrapping.
    std::vector<int64_t> pads = {2, 5, 4, 3};
    OpTest t("Pad", 13);
    t.attr("mode", mode).input("x", x).const_input("pads", ints(pads));
    if (mode == "constant") t.input("value", make_tensor<float>(DType::f32, {}, {-7.0f}));
    auto out = t.output("y").run();
    ASSERT_EQ(out[0].shape(), (Shape{3 + 2 + 4, 4 + 5 + 3})) << mode;
    std::vector<float> got = values(out[0]);
    for (int64_t i = 0; i < out[0].numel(); ++i) {
      auto idx = unravel(i, out[0].shape());
      int64_t r = pad_src(mode, idx[0], 2, 3), c = pad_src(mode, idx[1], 5, 4);
      float expected = r < 0 || c < 0 ? -7.0f : static_cast<float>(r * 4 + c);
      ASSERT_EQ(got[i], expected) << mode << " at " << idx[0] << "," << idx[1];
    }
  }
}

TEST(ShapePad, NegativePadsCropAndAxesSelectDimensions) {
  // Opset 18: pads apply to axes [-1] only; crop 1 at the start, pad 2 (edge) at the end.
  auto out = OpTest("Pad", 18)
                 .attr("mode", "edge")
                 .input("x", iota_f32({2, 3}))
                 .const_input("pads", ints({-1, 2}))
                 .no_input()
                 .const_input("axes", ints({-1}))
                 .output("y")
                 .run();
  ASSERT_EQ(out[0].shape(), (Shape{2, 4}));
  EXPECT_EQ(values(out[0]), (std::vector<float>{1, 2, 2, 2, 4, 5, 5, 5}));
}

TEST(ShapePad, ReflectOfAnEmptyDimensionIsRefused) {
  EXPECT_THROW(OpTest("Pad", 13).attr("mode", "reflect").input("x", iota_f32({0, 2})).const_input("pads", ints({1, 0, 1, 0}))
                   .output("y").run(),
               Error);
}

// --- Split / Concat ------------------------------------------------------------------------

TEST(ShapeSplit, NumOutputsOfOpset18LeavesTheLastChunkSmaller) {
  auto out = OpTest("Split", 18).attr("axis", 1).attr("num_outputs", 3).input("x", iota_f32({2, 7}))
                 .output("a").output("b").output("c").run();
  ASSERT_EQ(out[0].shape(), (Shape{2, 3}));
  ASSERT_EQ(out[2].shape(), (Shape{2, 1}));
  EXPECT_EQ(values(out[1]), (std::vector<float>{3, 4, 5, 10, 11, 12}));
  EXPECT_EQ(values(out[2]), (std::vector<float>{6, 13}));
}

TEST(ShapeSplit, UnequalSplitWithoutSizesIsRefused) {
  EXPECT_THROW(OpTest("Split", 13).input("x", iota_f32({5})).output("a").output("b").run(), Error);
}

TEST(ShapeConcat, ZeroSizedInputsAndMismatchedShapes) {
  auto out = OpTest("Concat", 13).attr("axis", 0).input("a", iota_f32({0, 3})).input("b", iota_f32({2, 3}))
                 .output("y").run();
  EXPECT_EQ(values(out[0]), values(iota_f32({2, 3})));
  EXPECT_THROW(OpTest("Concat", 13).attr("axis", 0).input("a", iota_f32({1, 3})).input("b", iota_f32({1, 4}))
                   .output("y").run(),
               Error);
}

// --- Transpose / Tile / Expand on large tensors, two threads --------------------------------

TEST(ShapeTranspose, LargeFourDimensionalPermutationOnTwoThreads) {
  const Shape in_shape{3, 17, 40, 33};
  const std::vector<int64_t> perm{2, 0, 3, 1};
  Tensor x = iota_f32(in_shape);
  for (int threads : {1, 2}) {
    auto out = OpTest("Transpose", 13).attr("perm", perm).input("x", x).output("y").run("ref", threads);
    Shape out_shape{40, 3, 33, 17};
    ASSERT_EQ(out[0].shape(), out_shape);
    const float* y = out[0].data_as<float>();
    for (int64_t i = 0; i < out[0].numel(); ++i) {
      auto o = unravel(i, out_shape);
      std::vector<int64_t> src(4);
      for (size_t d = 0; d < 4; ++d) src[perm[d]] = o[d];
      ASSERT_EQ(y[i], static_cast<float>(ravel(src, in_shape))) << "threads " << threads << " element " << i;
    }
  }
}

TEST(ShapeTile, MatchesModuloIndexing) {
  const Shape in_shape{2, 1, 3};
  auto out = OpTest("Tile", 13).input("x", iota_f32(in_shape)).const_input("r", ints({2, 3, 1})).output("y").run();
  ASSERT_EQ(out[0].shape(), (Shape{4, 3, 3}));
  std::vector<float> got = values(out[0]);
  for (int64_t i = 0; i < out[0].numel(); ++i) {
    auto o = unravel(i, out[0].shape());
    std::vector<int64_t> src{o[0] % 2, o[1] % 1, o[2] % 3};
    ASSERT_EQ(got[i], static_cast<float>(ravel(src, in_shape)));
  }
}

TEST(ShapeExpand, BroadcastsBothWaysAndWorksOnBool) {
  Tensor b = make_tensor<bool>(DType::boolean, {3, 1}, {true, false, true});
  auto out = OpTest("Expand", 13).input("x", b).const_input("s", ints({2, 1, 2})).output("y").run();
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 2}));
  const bool* y = out[0].data_as<bool>();
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(y[i], (i / 2) % 3 != 1) << i;
}

// --- Reshape family ------------------------------------------------------------------------

TEST(ShapeReshape, AllowZeroAndInvalidShapes) {
  auto out = OpTest("Reshape", 14).attr("allowzero", 1).input("x", iota_f32({0, 4}))
                 .const_input("s", ints({4, 0})).output("y").run();
  EXPECT_EQ(out[0].shape(), (Shape{4, 0}));
  EXPECT_THROW(OpTest("Reshape", 14).input("x", iota_f32({2, 3})).const_input("s", ints({-1, -1})).output("y").run(),
               Error);
  EXPECT_THROW(OpTest("Reshape", 14).input("x", iota_f32({2, 3})).const_input("s", ints({4, -1})).output("y").run(),
               Error);
  EXPECT_THROW(OpTest("Squeeze", 13).input("x", iota_f32({2, 3})).const_input("a", ints({0})).output("y").run(), Error);
}

TEST(ShapeShape, StartAndEndAreClamped) {
  auto out = OpTest("Shape", 15).attr("start", -2).attr("end", 100).input("x", iota_f32({2, 3, 4})).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::s64);
  EXPECT_EQ(std::vector<int64_t>(out[0].data_as<int64_t>(), out[0].data_as<int64_t>() + 2), (std::vector<int64_t>{3, 4}));
}

// --- Gather / Scatter ----------------------------------------------------------------------

TEST(ShapeGather, Int32IndicesOnTheLastAxisAndOutOfRangeThrows) {
  Tensor idx = make_tensor<int32_t>(DType::s32, {2}, {-1, 0});
  auto out = OpTest("Gather", 13).attr("axis", -1).input("x", iota_f32({2, 3})).input("i", idx).output("y").run();
  EXPECT_EQ(values(out[0]), (std::vector<float>{2, 0, 5, 3}));
  Tensor bad = make_tensor<int32_t>(DType::s32, {1}, {3});
  EXPECT_THROW(OpTest("Gather", 13).attr("axis", 1).input("x", iota_f32({2, 3})).input("i", bad).output("y").run(), Error);
}

TEST(ShapeGatherND, BatchDimsWithSlices) {
  // data [2, 3, 2], batch_dims 1, indices [2, 1, 1]: picks one row of each batch.
  Tensor idx = make_tensor<int64_t>(DType::s64, {2, 1, 1}, {2, 0});
  auto out = OpTest("GatherND", 13).attr("batch_dims", 1).input("x", iota_f32({2, 3, 2})).input("i", idx).output("y").run();
  ASSERT_EQ(out[0].shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values(out[0]), (std::vector<float>{4, 5, 6, 7}));
}

TEST(ShapeScatter, ElementsMaxMinAndNdMul) {
  Tensor data = make_tensor<float>(DType::f32, {1, 4}, {5, 5, 5, 5});
  Tensor idx = make_tensor<int64_t>(DType::s64, {1, 3}, {1, 1, -1});
  Tensor upd = make_tensor<float>(DType::f32, {1, 3}, {9, 7, 1});
  auto mx = OpTest("ScatterElements", 18).attr("axis", 1).attr("reduction", "max").input("d", data).input("i", idx)
                .input("u", upd).output("y").run();
  EXPECT_EQ(values(mx[0]), (std::vector<float>{5, 9, 5, 5}));
  auto mn = OpTest("ScatterElements", 18).attr("axis", 1).attr("reduction", "min").input("d", data).input("i", idx)
                .input("u", upd).output("y").run();
  EXPECT_EQ(values(mn[0]), (std::vector<float>{5, 5, 5, 1}));

  Tensor nd_idx = make_tensor<int64_t>(DType::s64, {2, 2}, {0, 1, 0, 1});
  Tensor nd_upd = make_tensor<int32_t>(DType::s32, {2}, {3, 4});
  Tensor nd_data = make_tensor<int32_t>(DType::s32, {2, 2}, {1, 2, 3, 4});
  auto mul = OpTest("ScatterND", 18).attr("reduction", "mul").input("d", nd_data).input("i", nd_idx).input("u", nd_upd)
                 .output("y").run();
  EXPECT_EQ(std::vector<int32_t>(mul[0].data_as<int32_t>(), mul[0].data_as<int32_t>() + 4),
            (std::vector<int32_t>{1, 24, 3, 4}));
  Tensor far = make_tensor<int64_t>(DType::s64, {1, 2}, {0, 2});
  EXPECT_THROW(OpTest("ScatterND", 16).input("d", nd_data).input("i", far).input("u", make_tensor<int32_t>(DType::s32, {1}, {0}))
                   .output("y").run(),
               Error);
}

// --- Trilu / EyeLike / ConstantOfShape / DepthToSpace ---------------------------------------

TEST(ShapeTrilu, UpperAndLowerWithDiagonalOffsets) {
  Tensor x = iota_f32({2, 3, 4});
  for (int upper : {0, 1})
    for (int64_t k : {-4, -1, 0, 2, 5}) {
      auto out = OpTest("Trilu", 14).attr("upper", upper).input("x", x)
                     .input("k", make_tensor<int64_t>(DType::s64, {}, {k})).output("y").run();
      std::vector<float> got = values(out[0]);
      for (int64_t i = 0; i < 24; ++i) {
        auto o = unravel(i, x.shape());
        bool keep = upper ? o[2] - o[1] >= k : o[2] - o[1] <= k;
        ASSERT_EQ(got[i], keep ? static_cast<float>(i) : 0.0f) << "upper " << upper << " k " << k << " at " << i;
      }
    }
}

TEST(ShapeEyeLike, NegativeDiagonal) {
  auto out = OpTest("EyeLike", 9).attr("k", -1).input("x", Tensor(DType::s64, {3, 3})).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::s64);
  EXPECT_EQ(values(out[0]), (std::vector<float>{0, 0, 0, 1, 0, 0, 0, 1, 0}));
}

TEST(ShapeConstantOfShape, Int64Value) {
  auto out = OpTest("ConstantOfShape", 9).attr("value", make_tensor<int64_t>(DType::s64, {1}, {-3}))
                 .const_input("s", ints({2, 2})).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::s64);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[0].data_as<int64_t>()[i], -3);
}

TEST(ShapeDepthToSpace, SpaceToDepthInvertsBothModes) {
  Tensor x = iota_f32({1, 2, 4, 6});
  auto s2d = OpTest("SpaceToDepth", 13).attr("blocksize", 2).input("x", x).output("y").run();
  ASSERT_EQ(s2d[0].shape(), (Shape{1, 8, 2, 3}));
  auto back = OpTest("DepthToSpace", 13).attr("blocksize", 2).attr("mode", "DCR").input("x", s2d[0]).output("y").run();
  EXPECT_EQ(values(back[0]), values(x));
  // CRD is a different channel order: it must not also invert SpaceToDepth.
  auto crd = OpTest("DepthToSpace", 13).attr("blocksize", 2).attr("mode", "CRD").input("x", s2d[0]).output("y").run();
  EXPECT_NE(values(crd[0]), values(x));
}

// --- Cast ----------------------------------------------------------------------------------

TEST(ShapeCast, FloatToIntTruncatesAndSaturates) {
  Tensor x = make_tensor<float>(DType::f32, {7}, {2.9f, -2.9f, 300.0f, -300.0f, NAN, INFINITY, 127.5f});
  auto s8 = OpTest("Cast", 13).attr("to", int64_t(DType::s8)).input("x", x).output("y").run();
  const int8_t* y = s8[0].data_as<int8_t>();
  EXPECT_EQ(std::vector<int>(y, y + 7), (std::vector<int>{2, -2, 127, -128, 0, 127, 127}));
  auto u8 = OpTest("Cast", 13).attr("to", int64_t(DType::u8)).input("x", x).output("y").run();
  const uint8_t* z = u8[0].data_as<uint8_t>();
  EXPECT_EQ(std::vector<int>(z, z + 7), (std::vector<int>{2, 0, 255, 0, 0, 255, 127}));
}

TEST(ShapeCast, IntegersWrapBoolsAndHalfRoundTrip) {
  Tensor x = make_tensor<int32_t>(DType::s32, {4}, {257, -1, 0, 2});
  auto u8 = OpTest("Cast", 13).attr("to", int64_t(DType::u8)).input("x", x).output("y").run();
  EXPECT_EQ(std::vector<int>(u8[0].data_as<uint8_t>(), u8[0].data_as<uint8_t>() + 4), (std::vector<int>{1, 255, 0, 2}));
  auto b = OpTest("Cast", 13).attr("to", int64_t(DType::boolean)).input("x", x).output("y").run();
  EXPECT_EQ(std::vector<bool>(b[0].data_as<bool>(), b[0].data_as<bool>() + 4), (std::vector<bool>{true, true, false, true}));

  Tensor f = make_tensor<float>(DType::f32, {3}, {1.0f / 3.0f, -65504.0f, 1e-6f});
  auto h = OpTest("Cast", 13).attr("to", int64_t(DType::f16)).input("x", f).output("y").run();
  auto back = OpTest("Cast", 13).attr("to", int64_t(DType::f64)).input("x", h[0]).output("y").run();
  const double* d = back[0].data_as<double>();
  EXPECT_NEAR(d[0], 1.0 / 3.0, 1e-3);
  EXPECT_EQ(d[1], -65504.0);
  EXPECT_NEAR(d[2], 1e-6, 1e-7);  // a half subnormal
  EXPECT_THROW(OpTest("Cast", 13).attr("to", int64_t(5000)).input("x", f).output("y").run(), Error);  // no dtype
  // (Cast to and from string: tests/ops/test_text.cc.)
}

}  // namespace
}  // namespace octet
