// LayerNormalization, Softmax (last axis) and Gelu on their registry kernels (layernorm_f32,
// softmax_f32, gelu_f32), at every ISA level the CPU has, against double formulas within the
// kernels' stated bounds: constant and runtime scale, no bias, a normalised shape of two axes,
// ragged rows, 2 threads; the reference paths they fall back to (Mean / InvStdDev requested,
// softmax over an inner axis) and the bad attribute.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "octet/kernels/isa.h"
#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::OpTest;

std::vector<std::string> levels() {
  std::vector<std::string> v = {"ref"};
  if (kernels::cpu_supports(kernels::Isa::avx2)) v.push_back("avx2");
  if (kernels::cpu_supports(kernels::Isa::avx512)) v.push_back("avx512");
  return v;
}

// y of x seen as [outer, m] normalised per row in double.
std::vector<double> naive_layernorm(const Tensor& x, int64_t m, const Tensor& scale, const Tensor* bias, double eps) {
  const float* p = x.data_as<float>();
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t r = 0; r < x.numel() / m; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < m; ++i) mean += p[r * m + i] / double(m);
    for (int64_t i = 0; i < m; ++i) var += (p[r * m + i] - mean) * (p[r * m + i] - mean) / double(m);
    for (int64_t i = 0; i < m; ++i)
      y[r * m + i] = (p[r * m + i] - mean) / std::sqrt(var + eps) * scale.data_as<float>()[i] +
                     (bias ? bias->data_as<float>()[i] : 0.0);
  }
  return y;
}

TEST(TransformerOps, LayerNormalizationWithinBoundsAtEveryLevel) {
  const Tensor x = testing::random_f32({2, 5, 67}, 1, -3.0f, 3.0f);
  const Tensor scale = testing::random_f32({67}, 2, 0.5f, 1.5f), bias = testing::random_f32({67}, 3);
  const Tensor scale2 = testing::random_f32({5, 67}, 4, 0.5f, 1.5f);
  const std::vector<double> want = naive_layernorm(x, 67, scale, &bias, 1e-5);
  const std::vector<double> want_nobias = naive_layernorm(x, 67, scale, nullptr, 1e-5);
  const std::vector<double> want_two_axes = naive_layernorm(x, 5 * 67, scale2, nullptr, 1e-5);
  for (const std::string& isa : levels())
    for (int threads : {1, 2}) {
      SCOPED_TRACE(isa + " threads " + std::to_string(threads));
      const Tensor c = OpTest("LayerNormalization", 17).input("x", x).const_input("s", scale).const_input("b", bias)
                           .output("y").run(isa, threads)[0];
      const Tensor r = OpTest("LayerNormalization", 17).input("x", x).input("s", scale).input("b", bias)
                           .output("y").run(isa, threads)[0];
      const Tensor n = OpTest("LayerNormalization", 17).input("x", x).const_input("s", scale).output("y").run(isa, threads)[0];
      const Tensor t = OpTest("LayerNormalization", 17).attr("axis", 1).input("x", x).const_input("s", scale2)
                           .output("y").run(isa, threads)[0];
      for (int64_t i = 0; i < x.numel(); ++i) {
        ASSERT_NEAR(c.data_as<float>()[i], want[i], 2e-5 * (1 + std::fabs(want[i]))) << i;
        ASSERT_NEAR(r.data_as<float>()[i], want[i], 2e-5 * (1 + std::fabs(want[i]))) << i;
        ASSERT_NEAR(n.data_as<float>()[i], want_nobias[i], 2e-5 * (1 + std::fabs(want_nobias[i]))) << i;
        ASSERT_NEAR(t.data_as<float>()[i], want_two_axes[i], 2e-5 * (1 + std::fabs(want_two_axes[i]))) << i;
      }
    }
}

TEST(TransformerOps, LayerNormalizationStatsOutputsStillComputed) {
  const Tensor x = testing::random_f32({3, 20}, 5, -3.0f, 3.0f), scale = testing::random_f32({20}, 6);
  for (const std::string& isa : levels()) {
    const auto out = OpTest("LayerNormalization", 17).input("x", x).const_input("s", scale).output("y").output("mean")
                         .output("inv").run(isa);
    ASSERT_EQ(out.size(), 3u);
    for (int64_t r = 0; r < 3; ++r) {
      double mean = 0;
      for (int64_t i = 0; i < 20; ++i) mean += x.data_as<float>()[r * 20 + i] / 20.0;
      EXPECT_NEAR(out[1].data_as<float>()[r], mean, 1e-6) << isa;
    }
  }
}

TEST(TransformerOps, SoftmaxLastAxisWithinBoundsAtEveryLevel) {
  for (int64_t n : {1, 7, 67, 768}) {
    const Tensor x = testing::random_f32({2, 3, n}, 7, -8.0f, 8.0f);
    for (const std::string& isa : levels())
      for (int threads : {1, 2}) {
        const Tensor y = OpTest("Softmax", 13).input("x", x).output("y").run(isa, threads)[0];
        for (int64_t r = 0; r < 6; ++r) {
          double sum = 0;
          for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x.data_as<float>()[r * n + i]));
          for (int64_t i = 0; i < n; ++i) {
            const double want = std::exp(double(x.data_as<float>()[r * n + i])) / sum;
            ASSERT_NEAR(y.data_as<float>()[r * n + i], want, 2e-6 * want + 1e-9) << isa << " n " << n;
          }
        }
      }
  }
}

TEST(TransformerOps, GeluBothFormsWithinBoundsAtEveryLevel) {
  const Tensor x = testing::random_f32({3, 67}, 8, -7.0f, 7.0f);
  for (const std::string& isa : levels())
    for (const char* form : {"none", "tanh"}) {
      const Tensor y = OpTest("Gelu", 20).attr("approximate", form).input("x", x).output("y").run(isa, 2)[0];
      for (int64_t i = 0; i < x.numel(); ++i) {
        const double v = x.data_as<float>()[i];
        const double want = std::string(form) == "tanh"
                                ? 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))
                                : 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
        ASSERT_NEAR(y.data_as<float>()[i], want, 2e-6 * (1 + std::fabs(v))) << isa << " " << form << " x " << v;
      }
    }
}

TEST(TransformerOps, GeluRejectsAnUnknownApproximation) {
  const Tensor x = testing::random_f32({4}, 9);
  for (const std::string& isa : levels()) {
    try {
      OpTest("Gelu", 20).attr("approximate", "fast").input("x", x).output("y").run(isa);
      ADD_FAILURE() << isa << ": approximate 'fast' was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("approximate must be 'none' or 'tanh'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace octet
