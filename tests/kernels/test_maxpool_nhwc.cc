// The channels-last max pool builds (maxpool_nhwc.h) against a direct loop written from the
// contract, element for element: u8, s8 and f32 (with NaNs, which never replace a value),
// ragged channel counts (several 256-byte blocks and a masked tail), kernels 1x1 to 5x5,
// strides, dilation, padding up to the kernel (windows wholly in the padding), output rows in
// two calls. One test per ISA build; a build the CPU cannot run is skipped by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "octet/kernels/maxpool_nhwc.h"

namespace octet::kernels {
namespace {

template <class T>
std::vector<T> direct(const MaxPoolNhwc& p, T init, T empty) {
  const T* in = static_cast<const T*>(p.in);
  const int64_t C = p.channels;
  std::vector<T> out(static_cast<size_t>(p.out_h * p.out_w * C));
  for (int64_t oh = 0; oh < p.out_h; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow)
      for (int64_t c = 0; c < C; ++c) {
        T acc = init;
        bool any = false;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh)
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
            const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
            if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
            any = true;
            const T x = in[(ih * p.in_w + iw) * C + c];
            if (x > acc) acc = x;
          }
        out[static_cast<size_t>((oh * p.out_w + ow) * C + c)] = any ? acc : empty;
      }
  return out;
}

template <class T>
void check_type(MaxPoolNhwcFn fn, const char* name, MaxPoolElem elem, T init, T empty) {
  std::mt19937 rng(777 + static_cast<int>(elem));
  std::uniform_int_distribution<int> size(1, 11), channels(1, 300), byte(0, 255);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int trial = 0; trial < 80; ++trial) {
    MaxPoolNhwc p;
    p.elem = elem;
    p.kernel_h = 1 + trial % 5;
    p.kernel_w = 1 + (trial / 5) % 5;
    p.stride_h = 1 + trial % 2;
    p.stride_w = 1 + (trial / 2) % 3;
    p.dilation_h = p.dilation_w = trial % 7 == 6 ? 2 : 1;
    p.pad_top = trial % 4 == 3 ? p.kernel_h : (p.kernel_h - 1) / 2;  // up to whole windows in the padding
    p.pad_left = trial % 6 == 5 ? p.kernel_w : p.kernel_w / 2;
    p.channels = trial < 4 ? 64 * (trial + 1) : channels(rng);
    p.in_h = size(rng);
    p.in_w = size(rng);
    const int64_t span_h = (p.kernel_h - 1) * p.dilation_h + 1, span_w = (p.kernel_w - 1) * p.dilation_w + 1;
    p.in_h = std::max(p.in_h, span_h);
    p.in_w = std::max(p.in_w, span_w);
    p.out_h = (p.in_h + 2 * p.pad_top - span_h) / p.stride_h + 1;
    p.out_w = (p.in_w + 2 * p.pad_left - span_w) / p.stride_w + 1;
    std::vector<T> in(static_cast<size_t>(p.in_h * p.in_w * p.channels));
    for (size_t i = 0; i < in.size(); ++i) {
      if constexpr (std::is_same_v<T, float>) in[i] = i % 13 == 5 ? std::numeric_limits<float>::quiet_NaN() : normal(rng);
      else in[i] = static_cast<T>(byte(rng));
    }
    p.in = in.data();
    const std::vector<T> want = direct<T>(p, init, empty);
    std::vector<T> got(want.size(), T(7));
    p.out = got.data();
    const int64_t split = p.out_h / 2;
    fn(p, 0, split);
    fn(p, split, p.out_h);
    ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(T)), 0)
        << name << " trial " << trial << ": C " << p.channels << " in " << p.in_h << "x" << p.in_w << " k "
        << p.kernel_h << "x" << p.kernel_w << " s " << p.stride_h << "," << p.stride_w << " d " << p.dilation_h
        << " pads " << p.pad_top << "," << p.pad_left;
  }
}

void check_build(Isa isa, MaxPoolNhwcFn fn, const char* name) {
  if (!cpu_supports(isa)) GTEST_SKIP() << name << ": the CPU lacks this ISA";
  check_type<uint8_t>(fn, name, MaxPoolElem::u8, 0, 0);
  check_type<int8_t>(fn, name, MaxPoolElem::s8, -128, -128);
  check_type<float>(fn, name, MaxPoolElem::f32, -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::lowest());
}

TEST(MaxPoolNhwc, RefMatchesTheDirectLoop) { check_build(Isa::ref, maxpool_nhwc_ref, "ref"); }
TEST(MaxPoolNhwc, Avx2MatchesTheDirectLoop) { check_build(Isa::avx2, maxpool_nhwc_avx2, "avx2"); }
TEST(MaxPoolNhwc, Avx512MatchesTheDirectLoop) { check_build(Isa::avx512, maxpool_nhwc_avx512, "avx512"); }

}  // namespace
}  // namespace octet::kernels
