// GridSample: every mode x padding_mode x align_corners against a direct double-precision loop
// written after the ONNX reference implementation (points far outside the image, exact
// corners, half-pixel ties), hand-computed cases (nearest rounds half to even, a one-pixel
// axis with align_corners), NaN and infinite points, and the error paths by message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

struct Sampling {
  std::string mode, padding;
  int align_corners;
};

// ---- the direct loop ------------------------------------------------------------------------

// The reference's _gs_reflect, with its integer count of reflections (a one-pixel axis under
// align_corners, where the reference divides by zero, stays at its only pixel).
double reflect_ref(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range == 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

// Interpolates at(i) (i any integer; `at` applies the padding) at coordinate x.
double interpolate(const std::function<double(int64_t)>& at, double x, const std::string& mode) {
  if (mode == "nearest") return at(static_cast<int64_t>(x));
  const int64_t x0 = static_cast<int64_t>(std::floor(x));
  const double t = x - static_cast<double>(x0);
  if (mode == "bilinear") return (1 - t) * at(x0) + t * at(x0 + 1);
  const double a = -0.75;
  const double w[4] = {((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                       ((a + 2) * t - (a + 3)) * t * t + 1,
                       ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                       ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a};
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += w[i] * at(x0 - 1 + i);
  return sum;
}

std::vector<double> naive_grid_sample(const std::vector<double>& x, const Shape& xs, const std::vector<double>& grid,
                                      const Shape& gs, const Sampling& s) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], Ho = gs[1], Wo = gs[2];
  const bool align = s.align_corners != 0;
  std::vector<double> y;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ho = 0; ho < Ho; ++ho)
        for (int64_t wo = 0; wo < Wo; ++wo) {
          const double* g = &grid[static_cast<size_t>(((n * Ho + ho) * Wo + wo) * 2)];
          const int64_t dims[2] = {H, W};
          double coord[2];  // y, x: the reference reverses the grid's (x, y)
          double lo[2], hi[2];
          for (int d = 0; d < 2; ++d) {
            const double v = g[1 - d];
            const int64_t len = dims[d];
            double u = align ? (v + 1) / 2 * (len - 1) : ((v + 1) * len - 1) / 2;
            if (s.mode == "nearest") u = std::nearbyint(u);
            lo[d] = align ? 0.0 : -0.5;
            hi[d] = align ? len - 1.0 : len - 0.5;
            if (u < lo[d] || u > hi[d]) {
              if (s.padding == "border") u = std::min(std::max(u, 0.0), len - 1.0);
              else if (s.padding == "reflection") u = reflect_ref(u, lo[d], hi[d]);
            }
            coord[d] = u;
          }
          // The index along axis d of tap i under the padding mode, or -1 for a zero.
          auto padded = [&](int d, int64_t i) -> int64_t {
            if (i >= 0 && i < dims[d]) return i;
            if (s.padding == "zeros") return -1;
            if (s.padding == "border") return i < 0 ? 0 : dims[d] - 1;
            return static_cast<int64_t>(reflect_ref(static_cast<double>(i), lo[d], hi[d]));
          };
          const double* plane = &x[static_cast<size_t>((n * C + c) * H * W)];
          auto row_value = [&](int64_t i) -> double {
            const int64_t r = padded(0, i);
            if (r < 0) return 0.0;
            return interpolate(
                [&](int64_t j) {
                  const int64_t col = padded(1, j);
                  return col < 0 ? 0.0 : plane[r * W + col];
                },
                coord[1], s.mode);
          };
          y.push_back(interpolate(row_value, coord[0], s.mode));
        }
  return y;
}

// ---- running the op -------------------------------------------------------------------------

OpTest grid_sample_op(const Tensor& x, const Tensor& grid, const Sampling& s) {
  OpTest t("GridSample", 16);
  t.attr("mode", s.mode).attr("padding_mode", s.padding).attr("align_corners", s.align_corners);
  t.input("x", x).input("grid", grid).output("y");
  return t;
}

template <class T>
std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<double>(t.data_as<T>()[i]));
  return v;
}

// A grid of uniform points in [-1.8, 1.8)^2 (about half outside [-1, 1]) with chosen points in
// front: far outside (several reflections), exact corners and centre, and nearest-mode ties
// on a width of 4 (x = 0.5 and -0.5 unnormalise to 2.5 and 0.5 without align_corners).
std::vector<double> test_grid(const Shape& gs, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.8f, 1.8f);
  std::vector<double> g(static_cast<size_t>(gs[0] * gs[1] * gs[2] * 2));
  for (double& v : g) v = dist(rng);
  const double chosen[] = {-3.7, 5.3, 1, -1, 0, 0, -1, 1, 10.25, -7.9, 0.5, 0.5, -0.5, 0.25, 1.5, -1.25, -2.5, 2.75};
  for (size_t i = 0; i < sizeof(chosen) / sizeof(chosen[0]); ++i) g[i] = chosen[i];
  return g;
}

const Sampling kAllSamplings[] = {
    {"bilinear", "zeros", 0},   {"bilinear", "zeros", 1},   {"bilinear", "border", 0},  {"bilinear", "border", 1},
    {"bilinear", "reflection", 0}, {"bilinear", "reflection", 1}, {"nearest", "zeros", 0}, {"nearest", "zeros", 1},
    {"nearest", "border", 0},   {"nearest", "border", 1},   {"nearest", "reflection", 0}, {"nearest", "reflection", 1},
    {"bicubic", "zeros", 0},    {"bicubic", "zeros", 1},    {"bicubic", "border", 0},   {"bicubic", "border", 1},
    {"bicubic", "reflection", 0}, {"bicubic", "reflection", 1}};

std::string describe(const Sampling& s) {
  return s.mode + " / " + s.padding + " / align_corners=" + std::to_string(s.align_corners);
}

TEST(GridSample, EveryModePaddingAndAlignmentMatchesADirectLoopInDouble) {
  const Shape xs{2, 3, 3, 4}, gs{2, 3, 5, 2};
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dist(-2.0, 2.0);
  Tensor x(DType::f64, xs);
  for (int64_t i = 0; i < x.numel(); ++i) x.data_as<double>()[i] = dist(rng);
  const std::vector<double> g = test_grid(gs, 8);
  const Tensor grid = make_tensor<double>(DType::f64, gs, g);
  for (const Sampling& s : kAllSamplings) {
    SCOPED_TRACE(describe(s));
    const std::vector<double> want = naive_grid_sample(as_doubles<double>(x), xs, g, gs, s);
    for (int threads : {1, 2}) {
      const Tensor y = grid_sample_op(x, grid, s).run("ref", threads)[0];
      ASSERT_EQ(y.shape(), (Shape{2, 3, 3, 5}));
      ASSERT_EQ(y.dtype(), DType::f64);
      for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.data_as<double>()[i], want[static_cast<size_t>(i)], 1e-12) << i;
    }
  }
}

TEST(GridSample, Float32MatchesTheDirectLoop) {
  const Shape xs{1, 2, 4, 4}, gs{1, 4, 4, 2};
  const Tensor x = testing::random_f32(xs, 11, -3, 3);
  const std::vector<double> g = test_grid(gs, 12);
  std::vector<float> gf(g.begin(), g.end());
  const Tensor grid = make_tensor<float>(DType::f32, gs, gf);
  const std::vector<double> gd(gf.begin(), gf.end());  // the f32 points, exactly
  for (const Sampling& s : kAllSamplings) {
    SCOPED_TRACE(describe(s));
    const std::vector<double> want = naive_grid_sample(as_doubles<float>(x), xs, gd, gs, s);
    const Tensor y = grid_sample_op(x, grid, s).run("auto")[0];
    ASSERT_EQ(y.dtype(), DType::f32);
    for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.data_as<float>()[i], want[static_cast<size_t>(i)], 1e-5) << i;
  }
}

TEST(GridSample, NearestRoundsHalfToEven) {
  // Width 4 without align_corners: x = 2 * g + 1.5, so g = 0.5, 0, -0.5, -0.25 give 2.5, 1.5,
  // 0.5, 1.0: pixels 2, 2, 0, 1 (half to even), where rounding half up would give 3, 2, 1, 1.
  const Tensor x = make_tensor<float>(DType::f32, {1, 1, 1, 4}, {10, 20, 30, 40});
  const Tensor grid = make_tensor<float>(DType::f32, {1, 1, 4, 2}, {0.5f, 0, 0, 0, -0.5f, 0, -0.25f, 0});
  const Tensor y = grid_sample_op(x, grid, {"nearest", "zeros", 0}).run()[0];
  EXPECT_EQ(as_doubles<float>(y), (std::vector<double>{30, 30, 10, 20}));
}

TEST(GridSample, OnePixelAxisWithAlignCorners) {
  // Height 1 with align_corners: every y unnormalises to 0, the only row (the reference would
  // divide by zero reflecting the neighbouring taps). x = 0 is column 1 of 3.
  const Tensor x = make_tensor<float>(DType::f32, {1, 1, 1, 3}, {1, 2, 3});
  const Tensor grid = make_tensor<float>(DType::f32, {1, 1, 2, 2}, {0, 0.7f, -1, -3});
  for (const char* mode : {"bilinear", "nearest", "bicubic"})
    for (const char* padding : {"zeros", "border", "reflection"}) {
      SCOPED_TRACE(std::string(mode) + " / " + padding);
      const Tensor y = grid_sample_op(x, grid, {mode, padding, 1}).run()[0];
      EXPECT_NEAR(y.data_as<float>()[0], 2.0f, 1e-6);
      EXPECT_NEAR(y.data_as<float>()[1], 1.0f, 1e-6);
    }
}

TEST(GridSample, NanAndInfinitePoints) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = make_tensor<float>(DType::f32, {1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor grid = make_tensor<float>(DType::f32, {1, 1, 3, 2}, {nan, 0, inf, -1, -inf, 1});
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    SCOPED_TRACE(mode);
    const Tensor zeros = grid_sample_op(x, grid, {mode, "zeros", 1}).run()[0];
    EXPECT_TRUE(std::isnan(zeros.data_as<float>()[0]));
    EXPECT_EQ(zeros.data_as<float>()[1], 0.0f);
    EXPECT_EQ(zeros.data_as<float>()[2], 0.0f);
    const Tensor border = grid_sample_op(x, grid, {mode, "border", 1}).run()[0];
    EXPECT_TRUE(std::isnan(border.data_as<float>()[0]));
    EXPECT_EQ(border.data_as<float>()[1], 2.0f);  // x = +inf -> the right column, y = -1 the top row
    EXPECT_EQ(border.data_as<float>()[2], 3.0f);  // x = -inf -> the left column, y = 1 the bottom row
    const Tensor reflection = grid_sample_op(x, grid, {mode, "reflection", 1}).run()[0];
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(reflection.data_as<float>()[i])) << i;
  }
}

void expect_error(OpTest t, const std::string& part) {
  try {
    t.run();
    ADD_FAILURE() << "no error; expected one containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(GridSample, Errors) {
  const Tensor x(DType::f32, {1, 2, 3, 3}), grid(DType::f32, {1, 2, 2, 2});
  const Sampling ok{"bilinear", "zeros", 0};
  expect_error(grid_sample_op(x, grid, {"linear", "zeros", 0}), "mode must be bilinear, nearest or bicubic");
  expect_error(grid_sample_op(x, grid, {"bilinear", "edge", 0}), "padding_mode must be zeros, border or reflection");
  expect_error(grid_sample_op(x, grid, {"bilinear", "zeros", 2}), "align_corners must be 0 or 1");
  expect_error(grid_sample_op(Tensor(DType::f32, {2, 3, 3}), grid, ok), "X must be 4-D");
  expect_error(grid_sample_op(x, Tensor(DType::f32, {1, 2, 2, 3}), ok), "grid must be (N, H_out, W_out, 2)");
  expect_error(grid_sample_op(x, Tensor(DType::f32, {2, 2, 2, 2}), ok), "grid's batch 2 differs from X's 1");
  expect_error(grid_sample_op(Tensor(DType::s32, {1, 2, 3, 3}), Tensor(DType::s32, {1, 2, 2, 2}), ok), "dtype");
  expect_error(grid_sample_op(x, Tensor(DType::f64, {1, 2, 2, 2}), ok), "must match");
  expect_error(grid_sample_op(Tensor(DType::f32, {1, 2, 0, 3}), grid, ok), "X has no pixels to sample");
}

}  // namespace
}  // namespace octet
