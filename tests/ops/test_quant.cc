// Quantized reference ops against naive loops written from the ONNX definitions: rounding
// and saturation of (De)QuantizeLinear, QLinearConv / ConvInteger with groups, strides,
// dilations, pads, per-channel weights and 1-D / 3-D windows, batched MatMulInteger with
// per-row / per-column zero points, QLinearMatMul, the com.microsoft QLinearAdd / QLinearMul.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "ops/op_test_util.h"
#include "ops/op_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

template <class T>
Tensor random_q(DType dt, Shape shape, uint32_t seed) {
  Tensor t(dt, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(dt == DType::u8 ? 0 : -128, dt == DType::u8 ? 255 : 127);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<T>()[i] = static_cast<T>(dist(rng));
  return t;
}

Tensor scalar_f32(float v) { return make_tensor<float>(DType::f32, {}, {v}); }
template <class T>
Tensor scalar_q(DType dt, int v) { return make_tensor<T>(dt, {}, {static_cast<T>(v)}); }

// Integer value of element i of a u8 / s8 / s32 tensor.
int32_t int_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::u8: return t.data_as<uint8_t>()[i];
    case DType::s8: return t.data_as<int8_t>()[i];
    default: return t.data_as<int32_t>()[i];
  }
}

int32_t requantize(int64_t acc, float multiplier, int32_t zp, int32_t lo, int32_t hi) {
  float v = std::nearbyint(static_cast<float>(acc) * multiplier) + static_cast<float>(zp);
  return static_cast<int32_t>(std::min<float>(std::max<float>(v, float(lo)), float(hi)));
}

// --- QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear -------------------------------

TEST(QuantQuantizeLinear, RoundsHalfToEvenAndSaturates) {
  Tensor x = make_tensor<float>(DType::f32, {8}, {0.5f, 1.5f, 2.5f, -0.5f, 254.5f, 300.0f, -3.0f, NAN});
  auto out = OpTest("QuantizeLinear", 13).input("x", x).input("s", scalar_f32(1.0f)).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::u8);  // zero point omitted: u8, zero 0
  const uint8_t* y = out[0].data_as<uint8_t>();
  EXPECT_EQ(std::vector<int>(y, y + 8), (std::vector<int>{0, 2, 2, 0, 254, 255, 0, 0}));
}

TEST(QuantQuantizeLinear, PerAxisInt8) {
  Tensor x = make_tensor<float>(DType::f32, {2, 3}, {1.0f, -1.0f, 200.0f, 1.0f, -1.0f, 200.0f});
  Tensor s = make_tensor<float>(DType::f32, {2}, {1.0f, 0.5f});
  Tensor z = make_tensor<int8_t>(DType::s8, {2}, {0, -10});
  auto out = OpTest("QuantizeLinear", 13).attr("axis", 0).input("x", x).input("s", s).input("z", z).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::s8);
  const int8_t* y = out[0].data_as<int8_t>();
  EXPECT_EQ(std::vector<int>(y, y + 6), (std::vector<int>{1, -1, 127, -8, -12, 127}));
}

TEST(QuantDequantizeLinear, Int32AndPerAxisOnAxisZero) {
  Tensor x = make_tensor<int32_t>(DType::s32, {2}, {-5, 7});
  auto out = OpTest("DequantizeLinear", 13).input("x", x).input("s", scalar_f32(0.5f)).output("y").run();
  EXPECT_EQ(detail::tensor_to_floats(out[0]), (std::vector<float>{-2.5f, 3.5f}));

  Tensor q = make_tensor<uint8_t>(DType::u8, {2, 2}, {10, 20, 10, 20});
  Tensor s = make_tensor<float>(DType::f32, {2}, {1.0f, 0.25f});
  Tensor z = make_tensor<uint8_t>(DType::u8, {2}, {10, 0});
  auto pa = OpTest("DequantizeLinear", 13).attr("axis", 0).input("x", q).input("s", s).input("z", z).output("y").run();
  EXPECT_EQ(detail::tensor_to_floats(pa[0]), (std::vector<float>{0.0f, 10.0f, 2.5f, 5.0f}));
  // A per-axis scale whose length differs from the axis is refused at compile time.
  Tensor s3 = make_tensor<float>(DType::f32, {3}, {1, 1, 1});
  EXPECT_THROW(OpTest("DequantizeLinear", 13).attr("axis", 0).input("x", q).input("s", s3).output("y").run(), Error);
}

TEST(QuantDynamicQuantizeLinear, ZeroRangeAndNegativeOnlyInputs) {
  auto zeros = OpTest("DynamicQuantizeLinear", 11).input("x", Tensor(DType::f32, {4})).output("y").output("s").output("z").run();
  EXPECT_FLOAT_EQ(*zeros[1].data_as<float>(), 1.0f / 255.0f);
  EXPECT_EQ(*zeros[2].data_as<uint8_t>(), 0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(zeros[0].data_as<uint8_t>()[i], 0);

  // Range [-3.984375, 0] gives the exact scale 2^-6, so the halves below are exact ties.
  Tensor x = make_tensor<float>(DType::f32, {3}, {-3.984375f, -0.0078125f, -0.0234375f});
  auto neg = OpTest("DynamicQuantizeLinear", 11).input("x", x).output("y").output("s").output("z").run();
  EXPECT_EQ(*neg[1].data_as<float>(), 0.015625f);
  EXPECT_EQ(*neg[2].data_as<uint8_t>(), 255);
  const uint8_t* y = neg[0].data_as<uint8_t>();
  EXPECT_EQ(std::vector<int>(y, y + 3), (std::vector<int>{0, 255, 253}));  // -0.5 -> 0, -1.5 -> -2
}

// --- QLinearConv / ConvInteger --------------------------------------------------------------

struct ConvCase {
  Shape x, w;  // NC + spatial, M C/g + kernel
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty = default
};

// Naive convolution sum: out[n][m][pos] = sum (x - xz) * (w - wz[m]), pads as given.
std::vector<int64_t> naive_conv(const Tensor& x, const Tensor& w, int32_t xz, const std::vector<int32_t>& wz,
                                const ConvCase& c, Shape* out_shape) {
  const size_t sp = c.x.size() - 2;
  std::vector<int64_t> in(3, 1), k(3, 1), st(3, 1), dl(3, 1), pb(3, 0), pe(3, 0), out(3, 1);
  for (size_t i = 0; i < sp; ++i) {
    size_t a = 3 - sp + i;
    in[a] = c.x[2 + i];
    k[a] = c.w[2 + i];
    if (!c.strides.empty()) st[a] = c.strides[i];
    if (!c.dilations.empty()) dl[a] = c.dilations[i];
    if (!c.pads.empty()) {
      pb[a] = c.pads[i];
      pe[a] = c.pads[sp + i];
    }
    out[a] = (in[a] + pb[a] + pe[a] - dl[a] * (k[a] - 1) - 1) / st[a] + 1;
  }
  const int64_t N = c.x[0], C = c.x[1], M = c.w[0], cg = C / c.group, mg = M / c.group;
  *out_shape = {N, M};
  for (size_t i = 0; i < sp; ++i) out_shape->push_back(out[3 - sp + i]);
  std::vector<int64_t> y;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t od = 0; od < out[0]; ++od)
        for (int64_t oh = 0; oh < out[1]; ++oh)
          for (int64_t ow = 0; ow < out[2]; ++ow) {
            int64_t acc = 0;
            for (int64_t ci = 0; ci < cg; ++ci) {
              const int64_t c_in = (m / mg) * cg + ci;
              for (int64_t kd = 0; kd < k[0]; ++kd)
                for (int64_t kh = 0; kh < k[1]; ++kh)
                  for (int64_t kw = 0; kw < k[2]; ++kw) {
                    int64_t id = od * st[0] + kd * dl[0] - pb[0], ih = oh * st[1] + kh * dl[1] - pb[1],
                            iw = ow * st[2] + kw * dl[2] - pb[2];
                    if (id < 0 || id >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2]) continue;
                    int64_t xi = (((n * C + c_in) * in[0] + id) * in[1] + ih) * in[2] + iw;
                    int64_t wi = (((m * cg + ci) * k[0] + kd) * k[1] + kh) * k[2] + kw;
                    acc += int64_t(int_at(x, xi) - xz) * (int_at(w, wi) - wz[wz.size() == 1 ? 0 : m]);
                  }
            }
            y.push_back(acc);
          }
  return y;
}

OpTest& conv_attrs(OpTest& t, const ConvCase& c) {
  if (c.group != 1) t.attr("group", c.group);
  if (!c.strides.empty()) t.attr("strides", c.strides);
  if (!c.dilations.empty()) t.attr("dilations", c.dilations);
  if (!c.pads.empty()) t.attr("pads", c.pads);
  return t;
}

void check_qlinear_conv(const ConvCase& c, bool s8_weights, int threads) {
  Tensor x = random_q<uint8_t>(DType::u8, c.x, 11);
  const int64_t M = c.w[0];
  Tensor w = s8_weights ? random_q<int8_t>(DType::s8, c.w, 12) : random_q<uint8_t>(DType::u8, c.w, 12);
  Tensor ws(DType::f32, {M}), wz(w.dtype(), {M}), bias(DType::s32, {M});
  std::vector<int32_t> wz_v(M);
  for (int64_t m = 0; m < M; ++m) {
    ws.data_as<float>()[m] = 0.002f * float(m + 1);
    wz_v[m] = s8_weights ? int32_t(m % 3) - 1 : int32_t(120 + m);
    if (s8_weights) wz.data_as<int8_t>()[m] = static_cast<int8_t>(wz_v[m]);
    else wz.data_as<uint8_t>()[m] = static_cast<uint8_t>(wz_v[m]);
    bias.data_as<int32_t>()[m] = int32_t(m * 997 - 3000);
  }
  const float xs = 0.05f, ys = 0.37f;
  const int32_t xz = 131, yz = 7;
  OpTest t("QLinearConv", 10);
  conv_attrs(t, c)
      .input("x", x).input("xs", scalar_f32(xs)).input("xz", scalar_q<uint8_t>(DType::u8, xz))
      .const_input("w", w).const_input("ws", ws).const_input("wz", wz)
      .input("ys", scalar_f32(ys)).input("yz", scalar_q<uint8_t>(DType::u8, yz))
      .const_input("b", bias).output("y");
  auto out = t.run("ref", threads);
  Shape shape;
  std::vector<int64_t> acc = naive_conv(x, w, xz, wz_v, c, &shape);
  ASSERT_EQ(out[0].shape(), shape);
  ASSERT_EQ(out[0].dtype(), DType::u8);
  const int64_t per_m = shape_numel(shape) / (shape[0] * M);
  for (int64_t i = 0; i < out[0].numel(); ++i) {
    int64_t m = (i / per_m) % M;
    float mult = xs * ws.data_as<float>()[m] / ys;
    int32_t expected = requantize(acc[i] + bias.data_as<int32_t>()[m], mult, yz, 0, 255);
    ASSERT_EQ(int(out[0].data_as<uint8_t>()[i]), expected) << "element " << i << " threads " << threads;
  }
}

TEST(QuantQLinearConv, Conv2dGroupsStridesDilationsPadsPerChannel) {
  ConvCase c{{2, 4, 9, 8}, {6, 2, 3, 2}, 2, {2, 1}, {1, 2}, {1, 0, 2, 1}};
  check_qlinear_conv(c, true, 1);
  check_qlinear_conv(c, false, 1);
  check_qlinear_conv(c, true, 2);
}

TEST(QuantQLinearConv, Conv1dAnd3dAndPointwise) {
  check_qlinear_conv({{1, 3, 17}, {4, 3, 3}, 1, {2}, {}, {1, 1}}, true, 1);
  check_qlinear_conv({{1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {}, {0, 1, 1, 1, 0, 0}}, true, 1);
  check_qlinear_conv({{1, 8, 6, 7}, {5, 8, 1, 1}, 1, {}, {}, {}}, true, 2);  // 1x1 direct path
  // Depthwise, large enough to take the multi-threaded im2col / GEMM paths.
  check_qlinear_conv({{1, 16, 40, 40}, {16, 1, 3, 3}, 16, {}, {}, {1, 1, 1, 1}}, true, 2);
  check_qlinear_conv({{1, 16, 36, 36}, {24, 16, 3, 3}, 1, {}, {}, {1, 1, 1, 1}}, true, 2);
}

TEST(QuantConvInteger, Int8InputSameLowerAndPerChannelZeroPoint) {
  Tensor x = random_q<int8_t>(DType::s8, {1, 2, 5, 5}, 21);
  Tensor w = random_q<uint8_t>(DType::u8, {3, 2, 2, 2}, 22);
  Tensor wz = make_tensor<uint8_t>(DType::u8, {3}, {0, 128, 255});
  auto out = OpTest("ConvInteger", 10).attr("auto_pad", "SAME_LOWER")
                 .input("x", x).input("w", w).input("xz", scalar_q<int8_t>(DType::s8, -3)).input("wz", wz).output("y").run();
  ASSERT_EQ(out[0].dtype(), DType::s32);
  // SAME_LOWER with a 2x2 kernel, stride 1: one row / column of padding at the start.
  Shape shape;
  std::vector<int64_t> acc = naive_conv(x, w, -3, {0, 128, 255}, {{1, 2, 5, 5}, {3, 2, 2, 2}, 1, {}, {}, {1, 1, 0, 0}}, &shape);
  ASSERT_EQ(out[0].shape(), shape);
  for (int64_t i = 0; i < out[0].numel(); ++i) ASSERT_EQ(out[0].data_as<int32_t>()[i], acc[i]) << i;
}

TEST(QuantQLinearConv, MismatchedZeroPointDtypeIsRefused) {
  Tensor x = random_q<uint8_t>(DType::u8, {1, 1, 3, 3}, 1);
  Tensor w = random_q<int8_t>(DType::s8, {1, 1, 1, 1}, 2);
  EXPECT_THROW(OpTest("QLinearConv", 10)
                   .input("x", x).input("xs", scalar_f32(1)).input("xz", scalar_q<int8_t>(DType::s8, 0))
                   .input("w", w).input("ws", scalar_f32(1)).input("wz", scalar_q<int8_t>(DType::s8, 0))
                   .input("ys", scalar_f32(1)).input("yz", scalar_q<uint8_t>(DType::u8, 0)).output("y").run(),
               Error);
}

// --- MatMulInteger / QLinearMatMul ----------------------------------------------------------

TEST(QuantMatMulInteger, BatchedBroadcastWithRowAndColumnZeroPoints) {
  const int64_t M = 3, K = 37, N = 300;  // N > one column block of the GEMM
  Tensor a = random_q<uint8_t>(DType::u8, {2, 1, M, K}, 31);
  Tensor b = random_q<int8_t>(DType::s8, {4, K, N}, 32);
  Tensor az = make_tensor<uint8_t>(DType::u8, {M}, {0, 100, 255});
  Tensor bz(DType::s8, {N});
  for (int64_t n = 0; n < N; ++n) bz.data_as<int8_t>()[n] = static_cast<int8_t>(n % 7 - 3);
  for (int threads : {1, 2}) {
    auto out = OpTest("MatMulInteger", 10).input("a", a).input("b", b).input("az", az).input("bz", bz).output("y")
                   .run("ref", threads);
    ASSERT_EQ(out[0].shape(), (Shape{2, 4, M, N}));
    const int32_t* y = out[0].data_as<int32_t>();
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            int64_t acc = 0;
            for (int64_t k = 0; k < K; ++k)
              acc += int64_t(int_at(a, (i * M + m) * K + k) - int_at(az, m)) *
                     (int_at(b, (j * K + k) * N + n) - int_at(bz, n));
            ASSERT_EQ(y[((i * 4 + j) * M + m) * N + n], acc) << i << "," << j << "," << m << "," << n;
          }
  }
}

TEST(QuantQLinearMatMul, Int8OutputAndVectorOperand) {
  Tensor a = random_q<int8_t>(DType::s8, {3, 4}, 41);
  Tensor b = random_q<int8_t>(DType::s8, {4}, 42);  // 1-D: a matrix-vector product
  const float as = 0.1f, bs = 0.05f, ys = 0.2f;
  auto out = OpTest("QLinearMatMul", 10)
                 .input("a", a).input("as", scalar_f32(as)).input("az", scalar_q<int8_t>(DType::s8, 5))
                 .input("b", b).input("bs", scalar_f32(bs)).input("bz", scalar_q<int8_t>(DType::s8, -2))
                 .input("ys", scalar_f32(ys)).input("yz", scalar_q<int8_t>(DType::s8, -1)).output("y").run();
  ASSERT_EQ(out[0].shape(), (Shape{3}));
  ASSERT_EQ(out[0].dtype(), DType::s8);
  for (int64_t m = 0; m < 3; ++m) {
    int64_t acc = 0;
    for (int64_t k = 0; k < 4; ++k) acc += int64_t(int_at(a, m * 4 + k) - 5) * (int_at(b, k) + 2);
    EXPECT_EQ(int(out[0].data_as<int8_t>()[m]), requantize(acc, as * bs / ys, -1, -128, 127)) << m;
  }
}

// --- com.microsoft QLinearAdd / QLinearMul --------------------------------------------------

TEST(QuantQLinearBinary, AddAndMulBroadcast) {
  Tensor a = random_q<uint8_t>(DType::u8, {2, 3}, 51);
  Tensor b = random_q<uint8_t>(DType::u8, {3}, 52);
  const float as = 0.02f, bs = 0.03f, cs = 0.05f;
  const int az = 100, bz = 30, cz = 128;
  for (const char* op : {"QLinearAdd", "QLinearMul"}) {
    auto out = OpTest(op, 17, "com.microsoft")
                   .input("a", a).input("as", scalar_f32(as)).input("az", scalar_q<uint8_t>(DType::u8, az))
                   .input("b", b).input("bs", scalar_f32(bs)).input("bz", scalar_q<uint8_t>(DType::u8, bz))
                   .input("cs", scalar_f32(cs)).input("cz", scalar_q<uint8_t>(DType::u8, cz)).output("c").run();
    ASSERT_EQ(out[0].shape(), (Shape{2, 3}));
    for (int64_t i = 0; i < 6; ++i) {
      // Add scales each input by its ratio to the output scale (ONNX Runtime's form); Mul
      // divides the product.
      volatile float va = float(int_at(a, i) - az) * (std::string(op) == "QLinearAdd" ? as / cs : as);
      volatile float vb = float(int_at(b, i % 3) - bz) * (std::string(op) == "QLinearAdd" ? bs / cs : bs);
      float q = std::string(op) == "QLinearAdd" ? std::nearbyint(va + vb) + cz : std::nearbyint(va * vb / cs) + cz;
      int expected = static_cast<int>(std::min(255.0f, std::max(0.0f, q)));
      EXPECT_EQ(int(out[0].data_as<uint8_t>()[i]), expected) << op << " " << i;
    }
  }
}

}  // namespace
}  // namespace octet
