// Calibration: the one-pass bounded histogram and the four range methods on distributions
// whose right answer is known.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "quant/calibration.h"

namespace octet::detail {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Gaussian N(0, 1) plus a handful of outliers near +-50: min-max follows the outliers,
// percentile and entropy clip near the bulk of the distribution.
Histogram gaussian_with_outliers() {
  Histogram h;
  for (int chunk = 0; chunk < 10; ++chunk) {
    std::vector<float> v = gaussian(100000, 100 + chunk);
    h.add(v.data(), static_cast<int64_t>(v.size()));
  }
  std::vector<float> outliers = {50.0f, -50.0f, 40.0f, -45.0f, 47.0f};
  h.add(outliers.data(), static_cast<int64_t>(outliers.size()));
  return h;
}

TEST(Histogram, OnePassBoundedMemory) {
  Histogram h;
  double expected = 0;
  std::mt19937 rng(1);
  // The range grows by four orders of magnitude: the bins merge, their number stays fixed.
  for (float magnitude : {0.01f, 1.0f, 3.0f, 100.0f}) {
    std::uniform_real_distribution<float> d(-magnitude, magnitude);
    std::vector<float> v(5000);
    for (float& x : v) x = d(rng);
    h.add(v.data(), static_cast<int64_t>(v.size()));
    expected += static_cast<double>(v.size());
    EXPECT_EQ(h.bins().size(), static_cast<size_t>(2 * Histogram::kHalfBins));
    EXPECT_GE(h.limit(), magnitude * 0.999f);
  }
  double total = 0;
  for (double b : h.bins()) total += b;
  EXPECT_DOUBLE_EQ(total, expected);
  EXPECT_DOUBLE_EQ(h.count(), expected);
  EXPECT_GE(Histogram::kHalfBins * 2, 2048);
  // Non-finite values are ignored.
  std::vector<float> bad = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
  h.add(bad.data(), 2);
  EXPECT_DOUBLE_EQ(h.count(), expected);
}

TEST(Histogram, MergingKeepsValuesInTheirBins) {
  // Values added before and after a range doubling land where one pass at the final range
  // would put them (to within one final bin width).
  Histogram a, b;
  std::vector<float> small = {0.3f, -0.7f, 0.55f}, large = {7.9f};
  a.add(small.data(), 3);
  a.add(large.data(), 1);
  std::vector<float> all = {0.3f, -0.7f, 0.55f, 7.9f};
  b.add(all.data(), 4);
  ASSERT_EQ(a.limit(), b.limit());
  double cdf_a = 0, cdf_b = 0;
  for (size_t i = 0; i < a.bins().size(); ++i) {
    cdf_a += a.bins()[i];
    cdf_b += b.bins()[i];
    EXPECT_LE(std::fabs(cdf_a - cdf_b), 1.0) << "bin " << i;
  }
}

TEST(RangeMethods, MinMax) {
  Histogram h = gaussian_with_outliers();
  Range r = range_minmax(h);
  EXPECT_FLOAT_EQ(r.hi, 50.0f);
  EXPECT_FLOAT_EQ(r.lo, -50.0f);
  // One-signed data: the range still holds 0.
  Histogram p;
  std::vector<float> v = {1.0f, 2.0f, 3.0f};
  p.add(v.data(), 3);
  EXPECT_EQ(range_minmax(p).lo, 0.0f);
}

TEST(RangeMethods, PercentileOnUniform) {
  Histogram h;
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(1000000);
  for (float& x : v) x = d(rng);
  h.add(v.data(), static_cast<int64_t>(v.size()));
  Range r = range_percentile(h, 99.0);
  EXPECT_NEAR(r.hi, 0.99f, 0.005f);
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_NEAR(range_percentile(h, 90.0).hi, 0.90f, 0.005f);
  EXPECT_NEAR(range_percentile(h, 100.0).hi, 1.0f, 0.005f);
}

TEST(RangeMethods, PercentileIgnoresOutliers) {
  Range r = range_percentile(gaussian_with_outliers(), 99.99);
  // The 99.99th percentile of |N(0,1)| per side is about 3.7 sigma.
  EXPECT_GT(r.hi, 3.0f);
  EXPECT_LT(r.hi, 4.5f);
  EXPECT_LT(r.lo, -3.0f);
  EXPECT_GT(r.lo, -4.5f);
}

TEST(RangeMethods, EntropyClipsAGaussianWithOutliers) {
  Range r = range_entropy(gaussian_with_outliers());
  // KL calibration of a Gaussian keeps a few sigma and drops the outliers at 40..50 (the
  // histogram spans +-64 in 8192 bins: the smallest threshold it can name, 128 bins, is 2).
  EXPECT_GT(r.hi, 2.0f);
  EXPECT_LT(r.hi, 8.0f);
  EXPECT_LT(r.lo, -2.0f);
  EXPECT_GT(r.lo, -8.0f);
}

TEST(RangeMethods, EntropyOnOneSidedData) {
  // ReLU-like: half the mass at 0, the rest |N(0,1)|; the range starts at 0.
  Histogram h;
  std::vector<float> v = gaussian(400000, 9);
  for (float& x : v) x = std::max(x, 0.0f);
  h.add(v.data(), static_cast<int64_t>(v.size()));
  Range r = range_entropy(h);
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_GT(r.hi, 2.0f);
  EXPECT_LE(r.hi, h.max());
}

TEST(RangeMethods, MseClipsAHeavyTail) {
  // Laplace(0, 1), 10^6 samples: min-max reaches about 13; the MSE-optimal clip for 8 bits
  // is near 10 (Banner et al., "Post-training 4-bit quantization", table for 8 bits: 9.89 b).
  std::mt19937 rng(5);
  std::exponential_distribution<float> e(1.0f);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> v(1000000);
  for (float& x : v) x = sign(rng) ? e(rng) : -e(rng);
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  Range full = range_minmax(h), r = range_mse(h);
  EXPECT_GT(full.hi, 11.0f);
  EXPECT_GT(r.hi, 7.0f);
  EXPECT_LT(r.hi, 12.5f);
  EXPECT_LT(r.hi, full.hi);
  EXPECT_LT(r.lo, -7.0f);
  EXPECT_GT(r.lo, -12.5f);
}

TEST(RangeMethods, MseKeepsTheFullRangeOfUniformData) {
  Histogram h;
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(200000);
  for (float& x : v) x = d(rng);
  h.add(v.data(), static_cast<int64_t>(v.size()));
  Range r = range_mse(h);
  // Clipping uniform data costs more than the rounding it saves.
  EXPECT_GT(r.hi, 0.95f);
  EXPECT_LT(r.lo, -0.95f);
}

TEST(RangeMethods, ChooseRangeDispatches) {
  Histogram h = gaussian_with_outliers();
  EXPECT_FLOAT_EQ(choose_range(h, CalibrationMethod::minmax, 99.99).hi, range_minmax(h).hi);
  EXPECT_FLOAT_EQ(choose_range(h, CalibrationMethod::percentile, 99.9).hi, range_percentile(h, 99.9).hi);
  EXPECT_FLOAT_EQ(choose_range(h, CalibrationMethod::entropy, 99.99).hi, range_entropy(h).hi);
  EXPECT_FLOAT_EQ(choose_range(h, CalibrationMethod::mse, 99.99).hi, range_mse(h).hi);
}

TEST(RangeMethods, EmptyAndConstantTensors) {
  Histogram empty;
  for (CalibrationMethod m : {CalibrationMethod::minmax, CalibrationMethod::percentile, CalibrationMethod::entropy,
                              CalibrationMethod::mse}) {
    Range r = choose_range(empty, m, 99.99);
    EXPECT_EQ(r.lo, 0.0f);
    EXPECT_EQ(r.hi, 0.0f);
  }
  Histogram zeros;
  std::vector<float> z(100, 0.0f);
  zeros.add(z.data(), 100);
  for (CalibrationMethod m : {CalibrationMethod::minmax, CalibrationMethod::percentile, CalibrationMethod::entropy,
                              CalibrationMethod::mse}) {
    Range r = choose_range(zeros, m, 99.99);
    float scale;
    int32_t zp;
    u8_params(r, &scale, &zp);
    EXPECT_GT(scale, 0.0f);
  }
}

}  // namespace
}  // namespace octet::detail
