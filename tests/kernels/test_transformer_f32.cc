// The transformer float families (layernorm_f32, gelu_f32, softmax_f32) against their
// reference kernels within the bounds their headers state, on ragged lengths (1..67, 768, 3072)
// and several rows; values far from 0, large magnitudes, -inf / NaN where the contract says what
// they give, and y aliasing x. One test per ISA build; a build the CPU cannot run is skipped by
// name. The bounds come from the SIMD math: the erf rational (< 2e-7), the exp polynomial (a few
// ulp), float instead of double sums.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "octet/kernels/gelu_f32.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/layernorm_f32.h"
#include "octet/kernels/softmax_f32.h"

namespace octet::kernels {
namespace {

std::vector<int64_t> lengths() {
  std::vector<int64_t> v;
  for (int64_t n = 1; n <= 67; ++n) v.push_back(n);
  v.push_back(768);
  v.push_back(3072);
  return v;
}

std::vector<float> normal(std::mt19937& rng, int64_t n, float mean, float sd) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

void check_layernorm(LayerNormF32Fn fn, const char* name) {
  std::mt19937 rng(11);
  for (int64_t n : lengths())
    for (int variant = 0; variant < 3; ++variant) {
      const int64_t rows = 3;
      // variant 1: rows far from 0 (cancellation); variant 2: no bias, large spread.
      const std::vector<float> x = normal(rng, rows * n, variant == 1 ? 1000.0f : 0.5f, variant == 2 ? 40.0f : 2.0f);
      const std::vector<float> scale = normal(rng, n, 1.0f, 0.5f), bias = normal(rng, n, 0.0f, 0.5f);
      const float* b = variant == 2 ? nullptr : bias.data();
      std::vector<float> want(x.size()), got(x.size() + 1, 7.0f), in_place = x;
      layernorm_f32_ref(x.data(), want.data(), rows, n, scale.data(), b, 1e-5f);
      fn(x.data(), got.data(), rows, n, scale.data(), b, 1e-5f);
      fn(in_place.data(), in_place.data(), rows, n, scale.data(), b, 1e-5f);
      ASSERT_EQ(got.back(), 7.0f) << name << " wrote past the end, n " << n;
      for (int64_t i = 0; i < rows * n; ++i) {
        // Both round the mean to float: one ulp of it apart is ulp(mean) / stddev in y.
        const int64_t r0 = i / n * n;
        double mean = 0, var = 0;
        for (int64_t k = r0; k < r0 + n; ++k) mean += x[k] / double(n);
        for (int64_t k = r0; k < r0 + n; ++k) var += (x[k] - mean) * (x[k] - mean) / double(n);
        const float ulp_term = float(1.2e-7 * std::fabs(mean) / std::sqrt(var + 1e-5)) * std::fabs(scale[i % n]);
        const float bound = 1e-5f * (1.0f + std::fabs(scale[i % n])) + 2e-6f * std::fabs(want[i]) + ulp_term;
        ASSERT_NEAR(got[i], want[i], bound) << name << " n " << n << " variant " << variant << " i " << i;
        ASSERT_EQ(in_place[i], got[i]) << name << " in place, n " << n << " i " << i;
      }
    }
}

void check_gelu(GeluF32Fn fn, const char* name) {
  std::mt19937 rng(12);
  for (GeluForm form : {GeluForm::erf, GeluForm::tanh})
    for (int64_t n : lengths()) {
      std::vector<float> x = normal(rng, n, 0.0f, 3.0f);
      if (n > 8) {
        x[1] = 0.0f;
        x[2] = -1e-20f;
        x[3] = 50.0f;
        x[4] = -50.0f;
        x[5] = 1e30f;
        x[6] = -1e30f;
      }
      std::vector<float> want(x.size()), got(x.size() + 1, 7.0f), in_place = x;
      gelu_f32_ref(x.data(), want.data(), n, form);
      fn(x.data(), got.data(), n, form);
      fn(in_place.data(), in_place.data(), n, form);
      ASSERT_EQ(got.back(), 7.0f) << name << " wrote past the end, n " << n;
      for (int64_t i = 0; i < n; ++i) {
        const float bound = 1e-6f * (1.0f + std::fabs(x[i])) + 1e-6f * std::fabs(want[i]);
        ASSERT_NEAR(got[i], want[i], bound) << name << " form " << int(form) << " x " << x[i];
        ASSERT_EQ(in_place[i], got[i]) << name << " in place, n " << n << " i " << i;
      }
    }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (GeluForm form : {GeluForm::erf, GeluForm::tanh}) {
    std::vector<float> y(3);
    const float x[3] = {1.0f, nan, -1.0f};
    fn(x, y.data(), 3, form);
    EXPECT_TRUE(std::isnan(y[1])) << name << " form " << int(form);
  }
}

void check_softmax(SoftmaxF32Fn fn, const char* name) {
  std::mt19937 rng(13);
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t n : lengths())
    for (int variant = 0; variant < 3; ++variant) {
      const int64_t rows = 3;
      std::vector<float> x = normal(rng, rows * n, variant == 1 ? 500.0f : 0.0f, variant == 2 ? 30.0f : 3.0f);
      if (variant == 2)  // masked positions, as attention masks write them
        for (int64_t i = 0; i < rows * n; i += 3) x[i] = i % 2 ? -10000.0f : -inf;
      std::vector<float> want(x.size()), got(x.size() + 1, 7.0f), in_place = x;
      softmax_f32_ref(x.data(), want.data(), rows, n);
      fn(x.data(), got.data(), rows, n);
      fn(in_place.data(), in_place.data(), rows, n);
      ASSERT_EQ(got.back(), 7.0f) << name << " wrote past the end, n " << n;
      for (int64_t i = 0; i < rows * n; ++i) {
        if (std::isnan(want[i])) {  // a row of -inf only: NaN in both
          ASSERT_TRUE(std::isnan(got[i])) << name << " n " << n << " i " << i;
          continue;
        }
        ASSERT_NEAR(got[i], want[i], 1e-6f * want[i] + 1e-9f) << name << " n " << n << " variant " << variant << " i " << i;
        ASSERT_EQ(in_place[i], got[i]) << name << " in place, n " << n << " i " << i;
      }
    }
  std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f}, y(3);
  fn(x.data(), y.data(), 1, 3);
  for (float v : y) EXPECT_TRUE(std::isnan(v)) << name << ": NaN in a row makes the row NaN";
}

void check_build(Isa isa, const char* name, LayerNormF32Fn ln, GeluF32Fn gelu, SoftmaxF32Fn softmax) {
  if (!cpu_supports(isa)) GTEST_SKIP() << name << ": the CPU lacks this ISA";
  check_layernorm(ln, name);
  check_gelu(gelu, name);
  check_softmax(softmax, name);
}

TEST(TransformerF32, RefIsItsOwnReference) {
  check_build(Isa::ref, "ref", layernorm_f32_ref, gelu_f32_ref, softmax_f32_ref);
}
TEST(TransformerF32, Avx2WithinBoundsOfTheReference) {
  check_build(Isa::avx2, "avx2", layernorm_f32_avx2, gelu_f32_avx2, softmax_f32_avx2);
}
TEST(TransformerF32, Avx512WithinBoundsOfTheReference) {
  check_build(Isa::avx512, "avx512", layernorm_f32_avx512, gelu_f32_avx512, softmax_f32_avx512);
}

// The reference itself against double formulas, so that the bounds above mean something.
TEST(TransformerF32, ReferenceMatchesDoubleFormulas) {
  const float x[4] = {-2.0f, 0.5f, 1.0f, 3.0f}, scale[4] = {1, 2, 1, 1}, bias[4] = {0, 0, 1, 0};
  float y[4];
  layernorm_f32_ref(x, y, 1, 4, scale, bias, 0.0f);
  const double mean = 0.625, var = (2.625 * 2.625 + 0.125 * 0.125 + 0.375 * 0.375 + 2.375 * 2.375) / 4;
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], (x[i] - mean) / std::sqrt(var) * scale[i] + bias[i], 1e-6);
  gelu_f32_ref(x, y, 4, GeluForm::erf);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0))), 1e-6);
  softmax_f32_ref(x, y, 1, 4);
  double s = 0;
  for (float v : x) s += std::exp(double(v));
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], std::exp(double(x[i])) / s, 1e-7);
}

}  // namespace
}  // namespace octet::kernels
