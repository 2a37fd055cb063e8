// Resize beyond the ONNX node tests: each nearest rounding mode, 1-D and N-D linear, the
// tf_crop_and_resize extrapolation, opset-18 axes and keep_aspect_ratio_policy, integer and
// f16 data, thread-count independence and error paths. Expected values are worked out by
// hand from the ONNX formulas (see the comments).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "ops/op_test_util.h"
#include "ops/op_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

Tensor f32(Shape shape, std::vector<float> v) {
  return make_tensor<float>(DType::f32, std::move(shape), v);
}
Tensor scales(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return make_tensor<float>(DType::f32, {n}, v);
}
Tensor sizes(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return make_tensor<int64_t>(DType::s64, {n}, v);
}
std::vector<float> floats(const Tensor& t) { return detail::tensor_to_floats(t); }

// Resize of x by scales with the given attributes.
Tensor resize_scales(const Tensor& x, const Tensor& s, const std::string& mode,
                     const std::string& coord, const std::string& nearest = "round_prefer_floor") {
  return OpTest("Resize", 13)
      .attr("mode", mode)
      .attr("coordinate_transformation_mode", coord)
      .attr("nearest_mode", nearest)
      .input("x", x)
      .no_input()
      .const_input("scales", s)
      .output("y")
      .run()[0];
}

TEST(Resize, NearestRoundingModes) {
  Tensor x = f32({1, 4}, {1, 2, 3, 4});
  // asymmetric, scale 1.5: x_orig = 0, .67, 1.33, 2, 2.67, 3.33.
  EXPECT_EQ(floats(resize_scales(x, scales({1, 1.5f}), "nearest", "asymmetric", "floor")),
            (std::vector<float>{1, 1, 2, 3, 3, 4}));
  EXPECT_EQ(floats(resize_scales(x, scales({1, 1.5f}), "nearest", "asymmetric", "ceil")),
            (std::vector<float>{1, 2, 3, 3, 4, 4}));  // ceil(3.33) clamps to the last index
  // scale 2: x_orig = 0, .5, 1, 1.5, ...: ties decide.
  EXPECT_EQ(floats(resize_scales(x, scales({1, 2}), "nearest", "asymmetric", "round_prefer_floor")),
            (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4}));
  EXPECT_EQ(floats(resize_scales(x, scales({1, 2}), "nearest", "asymmetric", "round_prefer_ceil")),
            (std::vector<float>{1, 2, 2, 3, 3, 4, 4, 4}));
  // tf_half_pixel_for_nn, scale 0.5: x_orig = 1, 3.
  EXPECT_EQ(floats(resize_scales(x, scales({1, 0.5f}), "nearest", "tf_half_pixel_for_nn")),
            (std::vector<float>{2, 4}));
}

TEST(Resize, LinearOneDimensional) {
  // half_pixel, scale 2: x_orig = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  EXPECT_EQ(floats(resize_scales(f32({2}, {1, 2}), scales({2}), "linear", "half_pixel")),
            (std::vector<float>{1, 1.25f, 1.75f, 2}));
  // align_corners to 5 samples: x_orig = 0, .5, 1, 1.5, 2.
  auto y = OpTest("Resize", 13)
               .attr("mode", "linear")
               .attr("coordinate_transformation_mode", "align_corners")
               .input("x", f32({3}, {1, 2, 3}))
               .no_input()
               .no_input()
               .const_input("sizes", sizes({5}))
               .output("y")
               .run();
  EXPECT_EQ(floats(y[0]), (std::vector<float>{1, 1.5f, 2, 2.5f, 3}));
}

TEST(Resize, BilinearIsSeparable) {
  // asymmetric 2x upsampling of a 2x2 plane: rows then columns interpolate independently.
  Tensor x = f32({1, 1, 2, 2}, {0, 4, 8, 12});
  Tensor y = resize_scales(x, scales({1, 1, 2, 2}), "linear", "asymmetric");
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(floats(y), (std::vector<float>{0, 2, 4, 4, 4, 6, 8, 8, 8, 10, 12, 12, 8, 10, 12, 12}));
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  // roi [0.4, 1.2] of 4 samples into 3: x_orig = 1.2, 2.4, 3.6 (outside: extrapolation_value).
  auto y = OpTest("Resize", 13)
               .attr("mode", "linear")
               .attr("coordinate_transformation_mode", "tf_crop_and_resize")
               .attr("extrapolation_value", -1.0f)
               .input("x", f32({4}, {1, 2, 3, 4}))
               .const_input("roi", f32({2}, {0.4f, 1.2f}))
               .no_input()
               .const_input("sizes", sizes({3}))
               .output("y")
               .run();
  std::vector<float> v = floats(y[0]);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_NEAR(v[0], 2.2f, 1e-6);
  EXPECT_NEAR(v[1], 3.4f, 1e-6);
  EXPECT_EQ(v[2], -1.0f);
}

TEST(Resize, CubicKeepsConstantsAndIdentity) {
  Tensor c = f32({1, 1, 3, 3}, std::vector<float>(9, 5.0f));
  for (int exclude : {0, 1}) {
    auto y = OpTest("Resize", 13)
                 .attr("mode", "cubic")
                 .attr("exclude_outside", int64_t(exclude))
                 .input("x", c)
                 .no_input()
                 .const_input("scales", scales({1, 1, 1.7f, 0.6f}))
                 .output("y")
                 .run();
    ASSERT_EQ(y[0].shape(), (Shape{1, 1, 5, 1}));
    for (float v : floats(y[0])) EXPECT_NEAR(v, 5.0f, 1e-5);
  }
  Tensor x = f32({2, 3}, {1, -2, 3, 4, 5, -6});
  EXPECT_EQ(floats(resize_scales(x, scales({1, 1}), "cubic", "half_pixel")), floats(x));
}

TEST(Resize, AxesAndKeepAspectRatio) {
  Tensor x = f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor full = resize_scales(x, scales({1, 2}), "linear", "half_pixel");
  auto with_axes = OpTest("Resize", 18)
                       .attr("mode", "linear")
                       .attr("axes", std::vector<int64_t>{-1})
                       .input("x", x)
                       .no_input()
                       .no_input()
                       .const_input("sizes", sizes({8}))
                       .output("y")
                       .run();
  EXPECT_EQ(floats(with_axes[0]), floats(full));

  Tensor img(DType::f32, {1, 1, 4, 6});
  auto policy = [&](const std::string& p) {
    return OpTest("Resize", 18)
        .attr("axes", std::vector<int64_t>{2, 3})
        .attr("keep_aspect_ratio_policy", p)
        .input("x", img)
        .no_input()
        .no_input()
        .const_input("sizes", sizes({6, 6}))
        .output("y")
        .run()[0]
        .shape();
  };
  EXPECT_EQ(policy("not_larger"), (Shape{1, 1, 4, 6}));   // scale min(1.5, 1)
  EXPECT_EQ(policy("not_smaller"), (Shape{1, 1, 6, 9}));  // scale max(1.5, 1)
  EXPECT_EQ(policy("stretch"), (Shape{1, 1, 6, 6}));
}

TEST(Resize, IntegerAndHalfData) {
  // u8 linear rounds to nearest: 0.25 * 255 = 63.75 -> 64, 0.75 * 255 = 191.25 -> 191.
  Tensor u = make_tensor<uint8_t>(DType::u8, {2}, {0, 255});
  Tensor yu = resize_scales(u, scales({2}), "linear", "half_pixel");
  ASSERT_EQ(yu.dtype(), DType::u8);
  EXPECT_EQ(std::vector<uint8_t>(yu.data_as<uint8_t>(), yu.data_as<uint8_t>() + 4),
            (std::vector<uint8_t>{0, 64, 191, 255}));
  // Nearest copies f16 bit patterns.
  Tensor h(DType::f16, {2});
  h.data_as<uint16_t>()[0] = detail::float_to_half(1.5f);
  h.data_as<uint16_t>()[1] = detail::float_to_half(-3.0f);
  Tensor yh = resize_scales(h, scales({2}), "nearest", "asymmetric", "floor");
  ASSERT_EQ(yh.dtype(), DType::f16);
  EXPECT_EQ(floats(yh), (std::vector<float>{1.5f, 1.5f, -3.0f, -3.0f}));
}

TEST(Resize, LargeInputDoesNotDependOnThreads) {
  Tensor x(DType::f32, {1, 3, 67, 45});
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = dist(gen);
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    OpTest t("Resize", 13);
    t.attr("mode", mode)
        .input("x", x)
        .no_input()
        .const_input("scales", scales({1, 1, 2.3f, 1.6f}))
        .output("y");
    auto one = t.run("ref", 1), two = t.run("ref", 2);
    ASSERT_EQ(one[0].shape(), (Shape{1, 3, 154, 72}));
    EXPECT_EQ(0, std::memcmp(one[0].data(), two[0].data(), one[0].nbytes())) << mode;
  }
}

TEST(Resize, RejectsBadInputs) {
  Tensor x = f32({1, 4}, {1, 2, 3, 4});
  // Both scales and sizes.
  EXPECT_THROW(OpTest("Resize", 13)
                   .input("x", x)
                   .no_input()
                   .const_input("scales", scales({1, 2}))
                   .const_input("sizes", sizes({1, 8}))
                   .output("y")
                   .run(),
               Error);
  // Sizes only known at run time.
  EXPECT_THROW(OpTest("Resize", 13)
                   .input("x", x)
                   .no_input()
                   .no_input()
                   .input("sizes", sizes({1, 8}))
                   .output("y")
                   .run(),
               Error);
  // Wrong number of scales, non-positive scale, antialias, unknown mode.
  EXPECT_THROW(resize_scales(x, scales({2}), "nearest", "asymmetric"), Error);
  EXPECT_THROW(resize_scales(x, scales({1, 0}), "nearest", "asymmetric"), Error);
  EXPECT_THROW(resize_scales(x, scales({1, 2}), "bicubic", "asymmetric"), Error);
  EXPECT_THROW(OpTest("Resize", 18)
                   .attr("antialias", int64_t(1))
                   .input("x", x)
                   .no_input()
                   .const_input("scales", scales({1, 2}))
                   .output("y")
                   .run(),
               Error);
  // tf_crop_and_resize without roi.
  EXPECT_THROW(resize_scales(x, scales({1, 2}), "linear", "tf_crop_and_resize"), Error);
}

}  // namespace
}  // namespace octet
