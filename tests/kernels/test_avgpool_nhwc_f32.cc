// The channels-last FP32 average pool builds (avgpool_f32.h) against a direct loop written
// from the contract, bit for bit (every build adds in tap order, then divides once): ragged
// channel counts, kernels 1x1 to 4x4, strides, dilation, asymmetric padding up to the kernel
// (windows wholly in the padding, zero counts), with and without count_include_pad, output
// rows in two calls. One test per ISA build; a build the CPU cannot run is skipped by name.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "octet/kernels/avgpool_f32.h"

namespace octet::kernels {
namespace {

std::vector<float> direct(const AvgPoolNhwcF32& p) {
  const int64_t C = p.channels;
  std::vector<float> out(static_cast<size_t>(p.out_h * p.out_w * C));
  for (int64_t oh = 0; oh < p.out_h; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t ih0 = oh * p.stride_h - p.pad_top, iw0 = ow * p.stride_w - p.pad_left;
      int64_t inside = 0, padded = 0;
      for (int64_t kh = 0; kh < p.kernel_h; ++kh)
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          const int64_t ih = ih0 + kh * p.dilation_h, iw = iw0 + kw * p.dilation_w;
          inside += ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w;
          padded += ih >= -p.pad_top && ih < p.in_h + p.pad_bottom && iw >= -p.pad_left && iw < p.in_w + p.pad_right;
        }
      const int64_t count = p.count_include_pad ? padded : inside;
      for (int64_t c = 0; c < C; ++c) {
        float sum = 0.0f;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh)
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t ih = ih0 + kh * p.dilation_h, iw = iw0 + kw * p.dilation_w;
            if (ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w) sum += p.in[(ih * p.in_w + iw) * C + c];
          }
        out[static_cast<size_t>((oh * p.out_w + ow) * C + c)] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
      }
    }
  return out;
}

void check_build(Isa isa, AvgPoolNhwcF32Fn fn, const char* name) {
  if (!cpu_supports(isa)) GTEST_SKIP() << name << ": the CPU lacks this ISA";
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> size(1, 10), channels(1, 200);
  std::normal_distribution<float> normal(0.0f, 5.0f);
  for (int trial = 0; trial < 100; ++trial) {
    AvgPoolNhwcF32 p;
    p.kernel_h = 1 + trial % 4;
    p.kernel_w = 1 + (trial / 4) % 4;
    p.stride_h = 1 + trial % 2;
    p.stride_w = 1 + (trial / 3) % 3;
    p.dilation_h = p.dilation_w = trial % 7 == 6 ? 2 : 1;
    p.pad_top = trial % 5 == 4 ? p.kernel_h : (p.kernel_h - 1) / 2;
    p.pad_left = trial % 6 == 5 ? p.kernel_w : p.kernel_w / 2;
    p.pad_bottom = trial % 3;
    p.pad_right = (trial / 2) % 3;
    p.count_include_pad = trial % 2 == 1;
    p.channels = trial < 4 ? 64 * (trial + 1) : channels(rng);
    const int64_t span_h = (p.kernel_h - 1) * p.dilation_h + 1, span_w = (p.kernel_w - 1) * p.dilation_w + 1;
    p.in_h = std::max<int64_t>(size(rng), span_h);
    p.in_w = std::max<int64_t>(size(rng), span_w);
    p.out_h = (p.in_h + p.pad_top + p.pad_bottom - span_h) / p.stride_h + 1;
    p.out_w = (p.in_w + p.pad_left + p.pad_right - span_w) / p.stride_w + 1;
    std::vector<float> in(static_cast<size_t>(p.in_h * p.in_w * p.channels));
    for (float& v : in) v = normal(rng);
    p.in = in.data();
    const std::vector<float> want = direct(p);
    std::vector<float> got(want.size(), 7.0f);
    p.out = got.data();
    const int64_t split = p.out_h / 2;
    fn(p, 0, split);
    fn(p, split, p.out_h);
    ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
        << name << " trial " << trial << ": C " << p.channels << " in " << p.in_h << "x" << p.in_w << " k "
        << p.kernel_h << "x" << p.kernel_w << " s " << p.stride_h << "," << p.stride_w << " d " << p.dilation_h
        << " pads " << p.pad_top << "," << p.pad_left << "," << p.pad_bottom << "," << p.pad_right
        << (p.count_include_pad ? " include_pad" : "");
  }
}

TEST(AvgPoolNhwcF32, RefMatchesTheDirectLoop) { check_build(Isa::ref, avgpool_nhwc_f32_ref, "ref"); }
TEST(AvgPoolNhwcF32, Avx2MatchesTheDirectLoop) { check_build(Isa::avx2, avgpool_nhwc_f32_avx2, "avx2"); }
TEST(AvgPoolNhwcF32, Avx512MatchesTheDirectLoop) { check_build(Isa::avx512, avgpool_nhwc_f32_avx512, "avx512"); }

}  // namespace
}  // namespace octet::kernels
