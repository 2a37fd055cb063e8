// FP32 depthwise plane kernels: the reference against a double-precision textbook loop, and
// every SIMD level the CPU has against the reference, on 3x3 / 5x5 stride 1 / 2 windows
// and awkward ones (padding larger than the window, dilation, 1-pixel planes, widths that
// are not multiples of the vector), with bias, residual (separate and aliasing the output)
// and each activation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "octet/kernels/registry.h"
#include "octet/kernels/dwconv.h"
#include "octet/kernels/isa.h"

namespace octet::kernels {
namespace {

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

struct Plane {
  DwConvF32Shape s;
  std::vector<float> x, w, residual;
  float bias = 0;
};

Plane make_plane(std::mt19937& gen, int64_t ih, int64_t iw, int64_t k, int64_t stride,
                 int64_t dil, int64_t pt, int64_t pl, int64_t pb, int64_t pr) {
  Plane p;
  p.s.in_h = ih, p.s.in_w = iw, p.s.kernel_h = k, p.s.kernel_w = k;
  p.s.stride_h = p.s.stride_w = stride;
  p.s.dilation_h = p.s.dilation_w = dil;
  p.s.pad_top = pt, p.s.pad_left = pl;
  p.s.out_h = out_size(ih, k, stride, dil, pt, pb);
  p.s.out_w = out_size(iw, k, stride, dil, pl, pr);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  p.x.resize(static_cast<size_t>(ih * iw));
  for (float& v : p.x) v = dist(gen);
  p.w.resize(static_cast<size_t>(k * k));
  for (float& v : p.w) v = dist(gen);
  p.residual.resize(static_cast<size_t>(p.s.out_h * p.s.out_w));
  for (float& v : p.residual) v = dist(gen);
  p.bias = dist(gen);
  return p;
}

// Textbook loop in double.
std::vector<double> oracle(const Plane& p, bool residual, Activation act, float lo, float hi) {
  const DwConvF32Shape& s = p.s;
  std::vector<double> y(static_cast<size_t>(s.out_h * s.out_w));
  for (int64_t oh = 0; oh < s.out_h; ++oh)
    for (int64_t ow = 0; ow < s.out_w; ++ow) {
      double acc = p.bias + (residual ? p.residual[oh * s.out_w + ow] : 0.0);
      for (int64_t kh = 0; kh < s.kernel_h; ++kh)
        for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
          if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
          acc += double(p.w[kh * s.kernel_w + kw]) * p.x[ih * s.in_w + iw];
        }
      if (act == Activation::relu) acc = acc > 0 ? acc : 0;
      if (act == Activation::clip) acc = acc < lo ? lo : (acc > hi ? hi : acc);
      if (act == Activation::hardswish) acc = acc * std::min(std::max(acc / 6 + 0.5, 0.0), 1.0);
      y[oh * s.out_w + ow] = acc;
    }
  return y;
}

std::vector<float> run(const DwConvF32Ops& ops, const Plane& p, bool residual, bool alias,
                       Activation act, float lo, float hi) {
  std::vector<float> y(static_cast<size_t>(p.s.out_h * p.s.out_w), -7.0f);
  const float* r = nullptr;
  if (residual && alias) {
    y = p.residual;
    r = y.data();
  } else if (residual) {
    r = p.residual.data();
  }
  ops.plane(p.s, p.x.data(), p.w.data(), p.bias, r, act, lo, hi, y.data());
  return y;
}

std::vector<Plane> planes() {
  std::mt19937 gen(99);
  std::vector<Plane> out;
  for (int64_t k : {3, 5})
    for (int64_t s : {1, 2}) {
      out.push_back(make_plane(gen, 19, 37, k, s, 1, k / 2, k / 2, k / 2, k / 2));
      out.push_back(make_plane(gen, 7, 7, k, s, 1, k / 2, k / 2, k / 2, k / 2));
      out.push_back(make_plane(gen, 12, 33, k, s, 1, 0, k - 1, k / 2, 0));  // asymmetric
    }
  out.push_back(make_plane(gen, 1, 1, 3, 1, 1, 4, 3, 2, 5));      // pads larger than the window
  out.push_back(make_plane(gen, 5, 5, 5, 1, 1, 0, 0, 0, 0));      // 1-pixel output
  out.push_back(make_plane(gen, 11, 12, 3, 2, 2, 2, 2, 1, 2));    // dilation with stride
  out.push_back(make_plane(gen, 9, 40, 7, 3, 1, 3, 3, 3, 3));     // other window and stride
  return out;
}

TEST(DwConvF32, ReferenceMatchesOracle) {
  const DwConvF32Ops& ref = *dwconv_f32_ops_ref();
  for (const Plane& p : planes())
    for (int act = 0; act < 4; ++act)  // none, relu, clip, hardswish
      for (bool residual : {false, true}) {
        const Activation a = static_cast<Activation>(act);
        const std::vector<double> want = oracle(p, residual, a, -0.25f, 0.5f);
        const std::vector<float> got = run(ref, p, residual, false, a, -0.25f, 0.5f);
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-5) << "element " << i << " plane " << p.s.in_h << "x"
                                             << p.s.in_w << " k" << p.s.kernel_h;
      }
}

TEST(DwConvF32, SimdLevelsMatchReference) {
  const DwConvF32Ops& ref = *dwconv_f32_ops_ref();
  std::vector<std::pair<std::string, const DwConvF32Ops*>> levels;
  if (cpu_supports(Isa::avx512)) levels.push_back({"avx512", dwconv_f32_ops_avx512()});
  if (cpu_supports(Isa::avx2)) levels.push_back({"avx2", dwconv_f32_ops_avx2()});
  if (levels.empty()) GTEST_SKIP() << "this CPU has neither avx2 nor avx512";
  for (const auto& level : levels) {
    ASSERT_NE(level.second, nullptr) << level.first;
    EXPECT_EQ(kernel_registry({level.first == "avx512" ? Isa::avx512 : Isa::avx2, false}).dwconv_f32,
              level.second);
    for (const Plane& p : planes())
      for (int act = 0; act < 4; ++act)  // none, relu, clip, hardswish
        for (int mode = 0; mode < 3; ++mode) {  // no residual, residual, residual aliasing y
          const Activation a = static_cast<Activation>(act);
          const bool residual = mode > 0, alias = mode == 2;
          const std::vector<float> want = run(ref, p, residual, false, a, -0.25f, 0.5f);
          const std::vector<float> got = run(*level.second, p, residual, alias, a, -0.25f, 0.5f);
          for (size_t i = 0; i < want.size(); ++i)
            ASSERT_NEAR(got[i], want[i], 2e-6) << level.first << " element " << i << " plane "
                                               << p.s.in_h << "x" << p.s.in_w << " k"
                                               << p.s.kernel_h << " s" << p.s.stride_w;
        }
  }
}

}  // namespace
}  // namespace octet::kernels
