// The channels-last depthwise INT8 kernels (dwconv_u8s8.h, DwConvU8S8Nhwc) against a direct
// loop written from the contract, bit for bit: ragged channel counts (not multiples of 16 or
// 64), 3x3 / 5x5 / 1x3, strides 1-3, dilation, padding up to the kernel size, 1-pixel
// outputs, u8 and s8 output ranges, output rows in two calls. One test per ISA build; a build
// the CPU cannot run is skipped by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "octet/kernels/dwconv_u8s8.h"
#include "octet/kernels/isa.h"

namespace octet::kernels {
namespace {

std::vector<uint8_t> direct(const DwConvU8S8Nhwc& p) {
  const int64_t C = p.channels;
  std::vector<uint8_t> out(static_cast<size_t>(p.out_h * p.out_w * C));
  for (int64_t oh = 0; oh < p.out_h; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow)
      for (int64_t c = 0; c < C; ++c) {
        int32_t acc = p.comp[c];
        for (int64_t kh = 0; kh < p.kernel_h; ++kh)
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
            const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
            const bool inside = ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w;
            const int32_t x = inside ? p.in[(ih * p.in_w + iw) * C + c] : p.x_zero;
            acc += x * p.weights[(kh * p.kernel_w + kw) * C + c];
          }
        float y = static_cast<float>(acc) * p.scale[c];
        y = std::min(std::max(y, static_cast<float>(p.q_lo - p.zero_point)), static_cast<float>(p.q_hi - p.zero_point));
        const int32_t q = std::min(std::max(static_cast<int32_t>(std::nearbyint(y)) + p.zero_point, p.q_lo), p.q_hi);
        out[(oh * p.out_w + ow) * C + c] = static_cast<uint8_t>(q);
      }
  return out;
}

void check_build(Isa isa, DwConvNhwcU8S8Fn fn, const char* name) {
  if (!cpu_supports(isa)) GTEST_SKIP() << name << ": the CPU lacks this ISA";
  std::mt19937 rng(4242);
  std::uniform_int_distribution<int> byte(0, 255), weight(-128, 127), size(1, 13), channels(1, 150);
  std::uniform_real_distribution<float> scale(0.0005f, 0.02f);
  for (int trial = 0; trial < 150; ++trial) {
    DwConvU8S8Nhwc p;
    p.kernel_h = p.kernel_w = trial % 3 == 2 ? 5 : 3;
    if (trial % 7 == 6) p.kernel_h = 1;
    p.stride_h = 1 + trial % 2;
    p.stride_w = 1 + (trial / 2) % 2;
    if (trial % 11 == 10) p.stride_w = 3;
    p.dilation_h = p.dilation_w = trial % 5 == 4 ? 2 : 1;
    p.pad_top = trial % 4 == 3 ? p.kernel_h : (p.kernel_h - 1) / 2;  // up to padding larger than the kernel
    p.pad_left = trial % 6 == 5 ? p.kernel_w : (p.kernel_w - 1) / 2;
    const int64_t pad_bottom = p.pad_top, pad_right = p.pad_left;
    p.channels = trial < 4 ? 64 * (trial + 1) : channels(rng);
    p.in_h = size(rng);
    p.in_w = size(rng);
    const int64_t span_h = (p.kernel_h - 1) * p.dilation_h + 1, span_w = (p.kernel_w - 1) * p.dilation_w + 1;
    p.in_h = std::max(p.in_h, span_h - p.pad_top - pad_bottom);
    p.in_w = std::max(p.in_w, span_w - p.pad_left - pad_right);
    p.out_h = (p.in_h + p.pad_top + pad_bottom - span_h) / p.stride_h + 1;
    p.out_w = (p.in_w + p.pad_left + pad_right - span_w) / p.stride_w + 1;
    const int64_t C = p.channels, taps = p.kernel_h * p.kernel_w;
    std::vector<uint8_t> in(static_cast<size_t>(p.in_h * p.in_w * C));
    for (auto& v : in) v = static_cast<uint8_t>(byte(rng));
    std::vector<int32_t> w(static_cast<size_t>(taps * C)), comp(static_cast<size_t>(C));
    std::vector<float> sc(static_cast<size_t>(C));
    for (auto& v : w) v = weight(rng);
    for (auto& v : comp) v = static_cast<int32_t>(rng() % 200000) - 100000;
    for (auto& v : sc) v = scale(rng);
    p.in = in.data();
    p.weights = w.data();
    p.comp = comp.data();
    p.scale = sc.data();
    p.x_zero = static_cast<uint8_t>(byte(rng));
    std::vector<uint8_t> vnni(static_cast<size_t>(dwconv_nhwc_u8s8_vnni_bytes(taps, C)));
    ASSERT_TRUE(dwconv_nhwc_u8s8_pack_vnni(w.data(), comp.data(), sc.data(), taps, C, vnni.data()));
    p.vnni_packed = vnni.data();  // read by the vnni build only
    const bool s8_out = trial % 2 == 1;
    p.q_lo = s8_out ? -128 : 0;
    p.q_hi = s8_out ? 127 : 255;
    p.zero_point = s8_out ? static_cast<int32_t>(rng() % 41) - 20 : static_cast<int32_t>(rng() % 256);
    const std::vector<uint8_t> want = direct(p);
    std::vector<uint8_t> got(want.size(), 0xAB);
    p.out = got.data();
    std::vector<uint8_t> scratch(static_cast<size_t>(dwconv_nhwc_u8s8_scratch_bytes(p)));
    const int64_t split = p.out_h / 2;
    fn(p, 0, split, scratch.data());
    fn(p, split, p.out_h, scratch.data());
    ASSERT_EQ(want, got) << name << " trial " << trial << ": C " << C << " in " << p.in_h << "x" << p.in_w << " k "
                         << p.kernel_h << "x" << p.kernel_w << " s " << p.stride_h << "," << p.stride_w << " d "
                         << p.dilation_h << " pads " << p.pad_top << "," << p.pad_left;
  }
}

TEST(DwConvNhwcU8S8, RefMatchesTheDirectLoop) { check_build(Isa::ref, dwconv_nhwc_u8s8_ref, "ref"); }
TEST(DwConvNhwcU8S8, Avx2MatchesTheDirectLoop) { check_build(Isa::avx2, dwconv_nhwc_u8s8_avx2, "avx2"); }
TEST(DwConvNhwcU8S8, Avx512MatchesTheDirectLoop) { check_build(Isa::avx512, dwconv_nhwc_u8s8_avx512, "avx512"); }
TEST(DwConvNhwcU8S8, VnniMatchesTheDirectLoop) { check_build(Isa::vnni, dwconv_nhwc_u8s8_vnni, "vnni"); }

TEST(DwConvNhwcU8S8, VnniPackingRefusesWeightsOutsideS8) {
  const std::vector<int32_t> w = {1, -2, 3, 128}, comp = {0, 0};
  const std::vector<float> sc = {1, 1};
  std::vector<uint8_t> out(static_cast<size_t>(dwconv_nhwc_u8s8_vnni_bytes(2, 2)));
  EXPECT_FALSE(dwconv_nhwc_u8s8_pack_vnni(w.data(), comp.data(), sc.data(), 2, 2, out.data()));
}

}  // namespace
}  // namespace octet::kernels
