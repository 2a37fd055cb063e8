// The depthwise INT8 plane kernels (dwconv_u8s8.h) against a direct loop written from the
// contract, bit for bit: 3x3 / 5x5, stride 1 and 2, dilation, odd sizes, s8 and u8 output
// ranges, each ISA build the CPU can run (skipped, by name, otherwise).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "octet/kernels/dwconv_u8s8.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/registry.h"

namespace octet::kernels {
namespace {

std::vector<uint8_t> direct(const DwConvU8S8Plane& p) {
  std::vector<uint8_t> out(static_cast<size_t>(p.out_h * p.out_w));
  for (int64_t oh = 0; oh < p.out_h; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      int32_t acc = p.comp;
      for (int64_t kh = 0; kh < p.kernel_h; ++kh)
        for (int64_t kw = 0; kw < p.kernel_w; ++kw)
          acc += int32_t(p.in[(oh * p.stride_h + kh * p.dilation_h) * p.in_w + ow * p.stride_w + kw * p.dilation_w]) *
                 p.weights[kh * p.kernel_w + kw];
      float y = static_cast<float>(acc) * p.scale;
      y = std::min(std::max(y, static_cast<float>(p.q_lo - p.zero_point)), static_cast<float>(p.q_hi - p.zero_point));
      const int32_t q = std::min(std::max(static_cast<int32_t>(std::nearbyint(y)) + p.zero_point, p.q_lo), p.q_hi);
      out[oh * p.out_w + ow] = static_cast<uint8_t>(q);
    }
  return out;
}

struct Build {
  const char* name;
  Isa isa;
  DwConvU8S8Fn fn;
};

TEST(DwConvU8S8, EveryBuildMatchesTheDirectLoop) {
  const Build builds[] = {{"ref", Isa::ref, dwconv_u8s8_ref},
                          {"avx2", Isa::avx2, dwconv_u8s8_avx2},
                          {"avx512", Isa::avx512, dwconv_u8s8_avx512}};
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> byte(0, 255), weight(-128, 127), size(1, 40);
  int compared = 0;
  for (const Build& b : builds) {
    if (!cpu_supports(b.isa)) {
      std::printf("[  SKIPPED ] dwconv_u8s8_%s: the CPU lacks %s\n", b.name, b.name);
      continue;
    }
    for (int trial = 0; trial < 120; ++trial) {
      DwConvU8S8Plane p;
      p.kernel_h = p.kernel_w = trial % 3 == 2 ? 5 : 3;
      if (trial % 7 == 6) p.kernel_w = 1;
      p.stride_h = 1 + trial % 2;
      p.stride_w = 1 + (trial / 2) % 2;
      if (trial % 11 == 10) p.stride_w = 3;
      p.dilation_h = p.dilation_w = trial % 5 == 4 ? 2 : 1;
      const int64_t span_h = (p.kernel_h - 1) * p.dilation_h + 1, span_w = (p.kernel_w - 1) * p.dilation_w + 1;
      p.in_h = span_h + size(rng) - 1;
      p.in_w = span_w + size(rng) - 1;
      p.out_h = (p.in_h - span_h) / p.stride_h + 1;
      p.out_w = (p.in_w - span_w) / p.stride_w + 1;
      std::vector<uint8_t> in(static_cast<size_t>(p.in_h * p.in_w));
      for (auto& v : in) v = static_cast<uint8_t>(byte(rng));
      std::vector<int32_t> w(static_cast<size_t>(p.kernel_h * p.kernel_w));
      // Weights past the s8 range (every 13th trial) take the AVX-512 build's one-tap path.
      std::uniform_int_distribution<int> wide_weight(-40000, 40000);
      for (auto& v : w) v = trial % 13 == 12 ? wide_weight(rng) : weight(rng);
      p.in = in.data();
      p.weights = w.data();
      p.comp = std::uniform_int_distribution<int32_t>(-300000, 300000)(rng);
      p.scale = std::uniform_real_distribution<float>(1e-5f, 4e-3f)(rng);
      const bool s8 = trial % 4 == 3;
      p.q_lo = s8 ? -128 : 0;
      p.q_hi = s8 ? 127 : 255;
      p.zero_point = s8 ? std::uniform_int_distribution<int>(-128, 127)(rng) : byte(rng);
      const std::vector<uint8_t> want = direct(p);
      std::vector<uint8_t> got(want.size(), 0xAB);
      p.out = got.data();
      std::vector<char> scratch(static_cast<size_t>(dwconv_u8s8_scratch_bytes(p)));
      b.fn(p, scratch.data());
      ASSERT_EQ(want, got) << b.name << " trial " << trial << ": k" << p.kernel_h << "x" << p.kernel_w << " s"
                           << p.stride_h << "x" << p.stride_w << " d" << p.dilation_h << " in " << p.in_h << "x"
                           << p.in_w;
      ++compared;
    }
  }
  EXPECT_GT(compared, 0);
  EXPECT_EQ(kernel_registry({Isa::ref, false}).dwconv_u8s8.run, dwconv_u8s8_ref);
  if (cpu_supports(Isa::vnni)) EXPECT_EQ(kernel_registry({Isa::vnni, false}).dwconv_u8s8.run, dwconv_u8s8_avx512);
}

}  // namespace
}  // namespace octet::kernels
