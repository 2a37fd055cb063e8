// Signal family: HannWindow / HammingWindow / BlackmanWindow, DFT, STFT and MelWeightMatrix against
// hand-computed values and a naive O(n^2) DFT in double, inverse(DFT(x)) == x, and the
// error paths (each checked for its message, so a different failure does not pass).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;
using cd = std::complex<double>;

Tensor s64(int64_t v) { return make_tensor<int64_t>(DType::s64, {}, {v}); }
Tensor s32(int32_t v) { return make_tensor<int32_t>(DType::s32, {}, {v}); }
Tensor f32(Shape s, const std::vector<float>& v) { return make_tensor<float>(DType::f32, std::move(s), v); }

std::vector<float> values(const Tensor& t) {
  const float* p = t.data_as<float>();
  return std::vector<float>(p, p + t.numel());
}

void expect_near(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

// Runs t and expects an octet::Error whose message contains `part`.
void expect_error(OpTest t, const std::string& part) {
  try {
    t.run();
    ADD_FAILURE() << "no error; expected one containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// ---- windows --------------------------------------------------------------------------------

std::vector<float> window(const char* op, int64_t size, int periodic) {
  OpTest t(op, 17);
  t.attr("periodic", periodic).const_input("size", s64(size)).output("y");
  std::vector<Tensor> out = t.run();
  EXPECT_EQ(out[0].dtype(), DType::f32);
  EXPECT_EQ(out[0].shape(), Shape{size});
  return values(out[0]);
}

TEST(Signal, WindowsMatchTheirFormulas) {
  // Periodic windows of 4 sample cos(2 pi k / 4) = 1, 0, -1, 0; symmetric ones of 5 divide by 4.
  expect_near(window("HannWindow", 4, 1), {0, 0.5, 1, 0.5});
  expect_near(window("HannWindow", 5, 0), {0, 0.5, 1, 0.5, 0});
  expect_near(window("HammingWindow", 4, 1), {4.0 / 46, 25.0 / 46, 1, 25.0 / 46});
  expect_near(window("HammingWindow", 5, 0), {4.0 / 46, 25.0 / 46, 1, 25.0 / 46, 4.0 / 46});
  expect_near(window("BlackmanWindow", 4, 1), {0, 0.34, 1, 0.34});
  expect_near(window("BlackmanWindow", 5, 0), {0, 0.34, 1, 0.34, 0});
  // Periodic = the first `size` points of the symmetric window of size + 1.
  std::vector<float> sym = window("HannWindow", 11, 0), per = window("HannWindow", 10, 1);
  for (size_t k = 0; k < per.size(); ++k) EXPECT_NEAR(per[k], sym[k], 1e-6) << k;
  EXPECT_TRUE(window("BlackmanWindow", 0, 1).empty());
}

TEST(Signal, WindowOutputDatatypeAndSizeDtype) {
  OpTest d("HannWindow", 17);
  auto out = d.attr("output_datatype", 11).const_input("size", s32(4)).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::f64);
  EXPECT_DOUBLE_EQ(out[0].data_as<double>()[1], 0.5);
  EXPECT_DOUBLE_EQ(out[0].data_as<double>()[2], 1.0);
  OpTest i("HannWindow", 17);  // integers truncate: 0, 0, 1, 0
  auto iout = i.attr("output_datatype", 6).const_input("size", s64(4)).output("y").run();
  ASSERT_EQ(iout[0].dtype(), DType::s32);
  EXPECT_EQ((std::vector<int32_t>(iout[0].data_as<int32_t>(), iout[0].data_as<int32_t>() + 4)),
            (std::vector<int32_t>{0, 0, 1, 0}));
}

TEST(Signal, WindowErrors) {
  expect_error(OpTest("HannWindow", 17).const_input("size", s64(-1)).output("y"), "window size -1");
  expect_error(OpTest("HammingWindow", 17).const_input("size", s64(int64_t(1) << 40)).output("y"), "is outside");
  expect_error(OpTest("BlackmanWindow", 17).input("size", s64(4)).output("y"), "must be a constant");
  expect_error(OpTest("HannWindow", 17).const_input("size", make_tensor<float>(DType::f32, {}, {4.f})).output("y"),
               "must be int32 or int64");
  expect_error(OpTest("HannWindow", 17).const_input("size", make_tensor<int64_t>(DType::s64, {2}, {4, 4})).output("y"),
               "must be a scalar");
  expect_error(OpTest("HannWindow", 17).attr("output_datatype", 9).const_input("size", s64(4)).output("y"),
               "unsupported output_datatype 9");
  expect_error(OpTest("HannWindow", 17).attr("output_datatype", 8).const_input("size", s64(4)).output("y"),
               "unsupported output_datatype 8");
  expect_error(OpTest("HannWindow", 17).attr("periodic", 2).const_input("size", s64(4)).output("y"),
               "'periodic' must be 0 or 1");
}

// ---- DFT --------------------------------------------------------------------------------------

// Interleaved (re, im) pairs as doubles.
std::vector<double> pairs(const std::vector<cd>& v) {
  std::vector<double> out;
  for (const cd& z : v) {
    out.push_back(z.real());
    out.push_back(z.imag());
  }
  return out;
}

std::vector<float> dft(const Tensor& x, int64_t axis, int inverse = 0, int onesided = 0, int64_t length = -1) {
  OpTest t("DFT", 17);
  t.attr("inverse", inverse).attr("onesided", onesided).input("x", x);
  if (length >= 0) t.const_input("dft_length", s64(length));
  else t.no_input();
  t.const_input("axis", s64(axis)).output("y");
  return values(t.run()[0]);
}

TEST(Signal, DftOfKnownSignals) {
  // [1, 2, 3, 4] -> [10, -2 + 2i, -2, -2 - 2i]
  Tensor x = f32({1, 4, 1}, {1, 2, 3, 4});
  expect_near(dft(x, 1), pairs({10, {-2, 2}, -2, {-2, -2}}));
  expect_near(dft(x, -2, 0, 1), pairs({10, {-2, 2}, -2}));  // onesided: 4 / 2 + 1 bins
  // [1, 2, 3] (not a power of two): 6, -1.5 +- i sqrt(3) / 2
  const double h = std::sqrt(3.0) / 2;
  expect_near(dft(f32({1, 3, 1}, {1, 2, 3}), 1), pairs({6, {-1.5, h}, {-1.5, -h}}));
  // Zero-padded to 4: [1, 2, 0, 0] -> [3, 1 - 2i, -1, 1 + 2i]; truncated to 2: [1, 2] -> [3, -1].
  expect_near(dft(f32({1, 2, 1}, {1, 2}), 1, 0, 0, 4), pairs({3, {1, -2}, -1, {1, 2}}));
  expect_near(dft(x, 1, 0, 0, 2), pairs({3, -1}));
  // The inverse divides by n: [4, 0, 0, 0] -> [1, 1, 1, 1].
  expect_near(dft(f32({1, 4, 2}, {4, 0, 0, 0, 0, 0, 0, 0}), 1, 1), pairs({1, 1, 1, 1}));
  // A one-point transform is the identity.
  expect_near(dft(f32({2, 1, 2}, {3, -1, 5, 7}), 1), {3, -1, 5, 7});
}

// Naive DFT in double along `axis` of a [outer, n, inner, 2] complex tensor.
std::vector<double> naive_dft(const Tensor& x, int64_t outer, int64_t n, int64_t inner, bool inverse) {
  const float* p = x.data_as<float>();
  std::vector<double> out(static_cast<size_t>(outer * n * inner * 2));
  const double sign = inverse ? 1 : -1;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      for (int64_t k = 0; k < n; ++k) {
        cd acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          const int64_t at = ((o * n + j) * inner + i) * 2;
          acc += cd(p[at], p[at + 1]) * std::polar(1.0, sign * 2 * M_PI * double((j * k) % n) / double(n));
        }
        if (inverse) acc /= double(n);
        const int64_t at = ((o * n + k) * inner + i) * 2;
        out[at] = acc.real();
        out[at + 1] = acc.imag();
      }
  return out;
}

TEST(Signal, DftMatchesNaiveOnEveryLengthAndAxis) {
  for (int64_t n : {1, 2, 5, 7, 8, 12, 16, 30, 64, 97}) {
    Tensor x = testing::random_f32({2, n, 3, 2}, static_cast<uint32_t>(n));
    expect_near(dft(x, 1), naive_dft(x, 2, n, 3, false), 1e-4 * n);
    expect_near(dft(x, -3, 1), naive_dft(x, 2, n, 3, true), 1e-5);
  }
  Tensor last = testing::random_f32({3, 10, 2}, 3);  // axis -2: the last signal axis
  expect_near(dft(last, -2), naive_dft(last, 3, 10, 1, false), 1e-4);
  Tensor first = testing::random_f32({6, 4, 2}, 4);  // axis 0
  expect_near(dft(first, 0), naive_dft(first, 1, 6, 4, false), 1e-4);
}

TEST(Signal, InverseOfDftIsIdentity) {
  for (int64_t n : {8, 12, 31}) {
    Tensor x = testing::random_f32({2, n, 2}, 10 + static_cast<uint32_t>(n));
    std::vector<float> y = dft(x, 1);
    std::vector<float> back = dft(f32({2, n, 2}, y), 1, 1);
    std::vector<double> want(x.data_as<float>(), x.data_as<float>() + x.numel());
    expect_near(back, want, 1e-5);
  }
}

TEST(Signal, DftErrors) {
  Tensor real = f32({1, 4, 1}, {1, 2, 3, 4});
  auto node = [](const Tensor& x, int64_t axis) {
    OpTest t("DFT", 17);
    t.input("x", x).no_input().const_input("axis", s64(axis)).output("y");
    return t;
  };
  expect_error(node(f32({1, 2, 3}, {1, 2, 3, 4, 5, 6}), 1), "last dimension must be 1 (real) or 2 (complex)");
  expect_error(node(f32({4}, {1, 2, 3, 4}), 0), "needs a signal dimension");
  expect_error(node(real, -1), "axis -1 is outside");
  expect_error(node(real, 2), "axis 2 is outside");
  expect_error(node(real, -4), "axis -4 is outside");
  expect_error(node(make_tensor<int32_t>(DType::s32, {1, 2, 1}, {1, 2}), 1), "unsupported dtype s32");
  OpTest onesided_complex("DFT", 17);
  onesided_complex.attr("onesided", 1).input("x", f32({1, 2, 2}, {1, 2, 3, 4})).no_input().const_input("axis", s64(1))
      .output("y");
  expect_error(onesided_complex, "onesided needs a real input");
  for (int64_t bad : {int64_t(0), int64_t(-3), int64_t(1) << 40}) {
    OpTest t("DFT", 17);
    t.input("x", real).const_input("dft_length", s64(bad)).const_input("axis", s64(1)).output("y");
    expect_error(t, "dft_length " + std::to_string(bad) + " is outside");
  }
  OpTest runtime_length("DFT", 17);
  runtime_length.input("x", real).input("n", s64(4)).const_input("axis", s64(1)).output("y");
  expect_error(runtime_length, "must be a constant");
  OpTest runtime_axis("DFT", 17);
  runtime_axis.input("x", real).no_input().input("axis", s64(1)).output("y");
  expect_error(runtime_axis, "must be a constant");
  OpTest attr_axis("DFT", 17);  // the frontend moves it; a node still carrying it is refused
  attr_axis.attr("axis", 1).input("x", real).output("y");
  expect_error(attr_axis, "the axis is input 2");
  OpTest bad_inverse("DFT", 17);
  bad_inverse.attr("inverse", 3).input("x", real).output("y");
  expect_error(bad_inverse, "'inverse' must be 0 or 1");
}

// ---- STFT -------------------------------------------------------------------------------------

TEST(Signal, StftOfKnownSignal) {
  // 0..7 in frames of 4 every 2 samples: 3 frames, 3 one-sided bins.
  Tensor x = f32({1, 8, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  OpTest t("STFT", 17);
  auto out = t.input("x", x).const_input("step", s64(2)).no_input().const_input("len", s64(4)).output("y").run();
  ASSERT_EQ(out[0].shape(), (Shape{1, 3, 3, 2}));
  // A frame [a, a+1, a+2, a+3] -> [4a + 6, -2 + 2i, -2].
  expect_near(values(out[0]), pairs({6, {-2, 2}, -2, 14, {-2, 2}, -2, 22, {-2, 2}, -2}));

  // Window [0, 1, 1, 0] on frame 0: [0, 1, 2, 0] -> [3, -2 - i, 1]; the window gives the length.
  OpTest w("STFT", 17);
  auto wout = w.input("x", x).const_input("step", s32(4)).input("w", f32({4}, {0, 1, 1, 0})).output("y").run();
  ASSERT_EQ(wout[0].shape(), (Shape{1, 2, 3, 2}));
  std::vector<float> v = values(wout[0]);
  expect_near(std::vector<float>(v.begin(), v.begin() + 6), pairs({3, {-2, -1}, 1}));
}

TEST(Signal, StftOfComplexSignalMatchesNaive) {
  Tensor x = testing::random_f32({2, 11, 2}, 21);
  OpTest t("STFT", 17);
  auto out = t.attr("onesided", 0).input("x", x).const_input("step", s64(3)).no_input().const_input("len", s64(5))
                 .output("y").run();
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 5, 2}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t f = 0; f < 3; ++f) {
      std::vector<float> frame;
      for (int64_t k = 0; k < 5; ++k)
        for (int c = 0; c < 2; ++c) frame.push_back(x.data_as<float>()[((b * 11) + f * 3 + k) * 2 + c]);
      std::vector<double> want = naive_dft(f32({1, 5, 1, 2}, frame), 1, 5, 1, false);
      std::vector<float> got(out[0].data_as<float>() + (b * 3 + f) * 10, out[0].data_as<float>() + (b * 3 + f + 1) * 10);
      expect_near(got, want, 1e-4);
    }
}

TEST(Signal, StftErrors) {
  Tensor x = f32({1, 8, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  expect_error(OpTest("STFT", 17).input("x", x).const_input("step", s64(2)).output("y"), "needs a window or a frame_length");
  expect_error(OpTest("STFT", 17).input("x", x).const_input("step", s64(0)).no_input().const_input("n", s64(4)).output("y"),
               "frame_step must be positive");
  expect_error(OpTest("STFT", 17).input("x", x).const_input("step", s64(1)).no_input().const_input("n", s64(9)).output("y"),
               "shorter than a frame");
  expect_error(OpTest("STFT", 17).input("x", x).const_input("step", s64(1)).input("w", f32({3}, {1, 1, 1}))
                   .const_input("n", s64(4)).output("y"),
               "the window has 3 values but frame_length is 4");
  expect_error(OpTest("STFT", 17).input("x", f32({1, 4, 2}, {1, 2, 3, 4, 5, 6, 7, 8})).const_input("step", s64(1))
                   .no_input().const_input("n", s64(2)).output("y"),
               "needs a real signal");
  expect_error(OpTest("STFT", 17).input("x", x).input("step", s64(1)).no_input().const_input("n", s64(2)).output("y"),
               "must be a constant");
  expect_error(OpTest("STFT", 17).input("x", f32({8, 1}, {0, 1, 2, 3, 4, 5, 6, 7})).const_input("step", s64(1))
                   .no_input().const_input("n", s64(2)).output("y"),
               "the signal must be [batch, length, 1]");
}

// ---- MelWeightMatrix ---------------------------------------------------------------------------

OpTest mel(int64_t bins, int64_t dft_length, int64_t sample_rate, float lower, float upper) {
  OpTest t("MelWeightMatrix", 17);
  t.const_input("bins", s64(bins)).const_input("n", s64(dft_length)).const_input("sr", s64(sample_rate));
  t.input("lo", make_tensor<float>(DType::f32, {}, {lower})).input("hi", make_tensor<float>(DType::f32, {}, {upper}));
  t.output("y");
  return t;
}

TEST(Signal, MelWeightMatrixTriangle) {
  // (dft_length + 1) / sample_rate = 1, so the edges are floor(hz) of three points evenly
  // spaced in mel over [0, 6.6 Hz]: 700 ((1 + 6.6 / 700)^(k / 3) - 1) = 0, 2.19, 4.39 -> 0, 2, 4.
  // One triangle over 5 bins: up 0, 0.5, 1, then down 0.5, 0.
  std::vector<Tensor> out = mel(1, 8, 9, 0.f, 6.6f).run();
  ASSERT_EQ(out[0].shape(), (Shape{5, 1}));
  expect_near(values(out[0]), {0, 0.5, 1, 0.5, 0});
  // Two bins, 4 edges over [0, 9 Hz]: 0, 2.24, 4.49, 6.74 -> 0, 2, 4, 6; 6 spectrogram bins
  // (dft_length 10, sample_rate 11): triangles peaking at bins 2 and 4.
  std::vector<Tensor> two = mel(2, 10, 11, 0.f, 9.f).run();
  ASSERT_EQ(two[0].shape(), (Shape{6, 2}));
  expect_near(values(two[0]), {0, 0, 0.5, 0, 1, 0, 0.5, 0.5, 0, 1, 0, 0.5});
  // The same over 5 bins would write row 5: refused.
  expect_error(mel(2, 8, 9, 0.f, 9.f), "maps past the last of the 5 spectrogram bins");
}

TEST(Signal, MelWeightMatrixErrors) {
  expect_error(mel(1, 8, 9, 0.f, 100.f), "maps past the last of the 5 spectrogram bins");
  expect_error(mel(1, 8, 0, 0.f, 6.f), "sample_rate must be positive");
  expect_error(mel(1, 8, 9, 5.f, 1.f), "lower_edge_hertz <= upper_edge_hertz");
  expect_error(mel(-1, 8, 9, 0.f, 6.f), "num_mel_bins -1 is outside");
  expect_error(mel(1, 0, 9, 0.f, 6.f), "dft_length 0 is outside");
  expect_error(mel(1 << 20, 1 << 20, 9, 0.f, 6.f), "more than 2^30 elements");
  OpTest runtime("MelWeightMatrix", 17);
  runtime.input("bins", s64(1)).const_input("n", s64(8)).const_input("sr", s64(9));
  runtime.const_input("lo", make_tensor<float>(DType::f32, {}, {0.f}))
      .const_input("hi", make_tensor<float>(DType::f32, {}, {6.f})).output("y");
  expect_error(runtime, "must be a constant");
}

}  // namespace
}  // namespace octet
