// The channels-last INT8 average pools (avgpool_q8.h) against a direct loop written from the
// contract, bit for bit: ragged channel counts, windows 1x1 to 7x7 and global, strides 1-3,
// padding with and without count_include_pad (also past the window for ceil-mode extents),
// u8 and s8 tensors, scale ratios that round to ties, output rows in two calls. One test
// per ISA build; a build the CPU cannot run is skipped by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "octet/kernels/avgpool_q8.h"
#include "octet/kernels/isa.h"

namespace octet::kernels {
namespace {

std::vector<uint8_t> direct(const AvgPoolNhwcQ8& p) {
  const int64_t C = p.channels;
  std::vector<uint8_t> out(static_cast<size_t>(p.out_h * p.out_w * C));
  for (int64_t oh = 0; oh < p.out_h; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow)
      for (int64_t c = 0; c < C; ++c) {
        int64_t sum = 0, inside = 0, padded = 0;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh)
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t ih = oh * p.stride_h - p.pad_top + kh, iw = ow * p.stride_w - p.pad_left + kw;
            if (ih >= -p.pad_top && ih < p.in_h + p.pad_bottom && iw >= -p.pad_left && iw < p.in_w + p.pad_right)
              ++padded;
            if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
            const uint8_t b = p.in[(ih * p.in_w + iw) * C + c];
            sum += p.s8_in ? int8_t(b) : b;
            ++inside;
          }
        sum -= int64_t(p.x_zero) * inside;
        const int64_t count = p.count_include_pad ? padded : inside;
        const float mult = p.ratio / static_cast<float>(std::max<int64_t>(count, 1));
        float v = static_cast<float>(sum) * mult;
        if (std::isnan(v)) v = 0;
        const float r = std::nearbyint(v) + static_cast<float>(p.y_zero);
        const int32_t q = r <= p.q_lo ? p.q_lo : r >= p.q_hi ? p.q_hi : static_cast<int32_t>(r);
        out[(oh * p.out_w + ow) * C + c] = static_cast<uint8_t>(q);
      }
  return out;
}

void check_build(Isa isa, AvgPoolNhwcQ8Fn fn, const char* name) {
  if (!cpu_supports(isa)) GTEST_SKIP() << name << ": the CPU lacks this ISA";
  std::mt19937 rng(777);
  std::uniform_int_distribution<int> byte(0, 255), size(1, 12), channels(1, 150), kernel(1, 4);
  for (int trial = 0; trial < 150; ++trial) {
    AvgPoolNhwcQ8 p;
    p.s8_in = trial % 2 == 1;
    p.channels = trial < 3 ? 64 * (trial + 1) : channels(rng);
    p.in_h = size(rng);
    p.in_w = size(rng);
    if (trial % 10 == 9) {  // global
      p.kernel_h = p.in_h;
      p.kernel_w = p.in_w;
    } else {
      p.kernel_h = std::min<int64_t>(kernel(rng) + (trial % 13 == 12 ? 3 : 0), p.in_h + 1);
      p.kernel_w = std::min<int64_t>(kernel(rng), p.in_w + 1);
      p.stride_h = 1 + trial % 3;
      p.stride_w = 1 + (trial / 3) % 2;
      p.pad_top = std::min<int64_t>(trial % 4, p.kernel_h - 1);
      p.pad_left = std::min<int64_t>(trial % 3, p.kernel_w - 1);
      p.pad_bottom = std::min<int64_t>((trial + 1) % 3, p.kernel_h - 1);
      p.pad_right = std::min<int64_t>(trial % 2, p.kernel_w - 1);
    }
    p.count_include_pad = trial % 4 < 2;
    const int64_t eh = p.in_h + p.pad_top + p.pad_bottom, ew = p.in_w + p.pad_left + p.pad_right;
    if (eh < p.kernel_h || ew < p.kernel_w) continue;
    p.out_h = (eh - p.kernel_h) / p.stride_h + 1;
    p.out_w = (ew - p.kernel_w) / p.stride_w + 1;
    if (trial % 7 == 6) {  // ceil mode: one more window reaching past the padded extent
      if ((eh - p.kernel_h) % p.stride_h) ++p.out_h;
      if ((ew - p.kernel_w) % p.stride_w) ++p.out_w;
    }
    std::vector<uint8_t> in(static_cast<size_t>(p.in_h * p.in_w * p.channels));
    for (auto& v : in) v = static_cast<uint8_t>(byte(rng));
    p.in = in.data();
    p.q_lo = p.s8_in ? -128 : 0;
    p.q_hi = p.s8_in ? 127 : 255;
    p.x_zero = p.s8_in ? static_cast<int32_t>(rng() % 41) - 20 : static_cast<int32_t>(rng() % 256);
    p.y_zero = p.s8_in ? static_cast<int32_t>(rng() % 41) - 20 : static_cast<int32_t>(rng() % 256);
    p.ratio = trial % 5 == 0 ? 1.0f : 0.25f + static_cast<float>(rng() % 1000) / 500.0f;
    const std::vector<uint8_t> want = direct(p);
    std::vector<uint8_t> got(want.size(), 0xCD);
    p.out = got.data();
    std::vector<uint8_t> scratch(static_cast<size_t>(avgpool_nhwc_q8_scratch_bytes(p)));
    const int64_t split = p.out_h / 2;
    fn(p, 0, split, scratch.data());
    fn(p, split, p.out_h, scratch.data());
    ASSERT_EQ(want, got) << name << " trial " << trial << ": C " << p.channels << " in " << p.in_h << "x" << p.in_w
                         << " k " << p.kernel_h << "x" << p.kernel_w << " s " << p.stride_h << "," << p.stride_w
                         << " pads " << p.pad_top << "," << p.pad_left << "," << p.pad_bottom << "," << p.pad_right;
  }
}

TEST(AvgPoolNhwcQ8, RefMatchesTheDirectLoop) { check_build(Isa::ref, avgpool_nhwc_q8_ref, "ref"); }
TEST(AvgPoolNhwcQ8, Avx2MatchesTheDirectLoop) { check_build(Isa::avx2, avgpool_nhwc_q8_avx2, "avx2"); }
TEST(AvgPoolNhwcQ8, Avx512MatchesTheDirectLoop) { check_build(Isa::avx512, avgpool_nhwc_q8_avx512, "avx512"); }

}  // namespace
}  // namespace octet::kernels
