// The fast INT8 convolution paths (pixel-major GEMM for 1x1, bounded im2col blocks for K x K,
// grouped, depthwise) and the table QLinearAdd against the reference kernels, bit for bit, on
// random shapes and awkward attributes, on every ISA the machine has, with 1 and 2 threads.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ops/octet_ops.h"
#include "quant_test_util.h"

namespace octet::testing {
namespace {

struct ConvCase {
  std::vector<int64_t> x;  // N, C, spatial...
  int64_t m = 8;           // output channels
  std::vector<int64_t> kernel, strides, dilations, pads;
  int64_t group = 1;
  bool bias = true;
  bool per_channel = true;
  bool s8_io = false;  // s8 activations instead of u8
  bool relu_range = false;  // output zero point at the bottom of the range (a folded ReLU)
  std::string label() const {
    std::string s = "x";
    for (int64_t d : x) s += "_" + std::to_string(d);
    s += " m" + std::to_string(m) + " k";
    for (int64_t d : kernel) s += std::to_string(d);
    s += " s";
    for (int64_t d : strides) s += std::to_string(d);
    s += " d";
    for (int64_t d : dilations) s += std::to_string(d);
    s += " p";
    for (int64_t d : pads) s += std::to_string(d);
    return s + " g" + std::to_string(group) + (s8_io ? " s8" : " u8");
  }
};

// One QLinearConv node; x, the only input, is a random 8-bit tensor fed at run time.
Model conv_model(const ConvCase& c, std::mt19937& rng) {
  const int q8 = c.s8_io ? TP::INT8 : TP::UINT8;
  ModelBuilder b(13);
  b.input("x", q8, std::vector<Dim>(c.x.begin(), c.x.end()));
  b.output_untyped("y");
  const int64_t cg = c.x[1] / c.group;
  std::vector<int64_t> wdims = {c.m, cg};
  int64_t wn = c.m * cg;
  for (int64_t k : c.kernel) {
    wdims.push_back(k);
    wn *= k;
  }
  std::uniform_int_distribution<int> wd(-127, 127), zd(c.s8_io ? -20 : 100, c.s8_io ? 20 : 140);
  std::vector<int8_t> w(static_cast<size_t>(wn));
  for (auto& v : w) v = static_cast<int8_t>(wd(rng));
  std::uniform_real_distribution<float> sd(0.001f, 0.01f);
  std::vector<float> wscale(static_cast<size_t>(c.per_channel ? c.m : 1));
  for (float& s : wscale) s = sd(rng);
  b.initializer(tensor_f32("xs", {}, {0.05f}));
  b.initializer(tensor_f32("ws", {static_cast<int64_t>(wscale.size())}, wscale));
  b.initializer(tensor_f32("ys", {}, {0.04f + sd(rng)}));
  b.initializer(tensor_of<int8_t>("w", TP::INT8, wdims, w));
  if (c.s8_io) {
    b.initializer(tensor_of<int8_t>("xz", TP::INT8, {}, {static_cast<int8_t>(zd(rng))}));
    b.initializer(tensor_of<int8_t>("yz", TP::INT8, {}, {static_cast<int8_t>(c.relu_range ? -128 : zd(rng))}));
  } else {
    b.initializer(tensor_of<uint8_t>("xz", TP::UINT8, {}, {static_cast<uint8_t>(zd(rng))}));
    b.initializer(tensor_of<uint8_t>("yz", TP::UINT8, {}, {static_cast<uint8_t>(c.relu_range ? 0 : zd(rng))}));
  }
  b.initializer(tensor_of<int8_t>("wz", TP::INT8, {static_cast<int64_t>(wscale.size())},
                                  std::vector<int8_t>(wscale.size(), 0)));
  std::vector<std::string> in = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"};
  if (c.bias) {
    std::uniform_int_distribution<int32_t> bd(-20000, 20000);
    std::vector<int32_t> bias(static_cast<size_t>(c.m));
    for (auto& v : bias) v = bd(rng);
    b.initializer(tensor_of<int32_t>("b", TP::INT32, {c.m}, bias));
    in.push_back("b");
  }
  auto* n = b.node("QLinearConv", in, {"y"}, "conv");
  attr_ints(n, "kernel_shape", c.kernel);
  if (!c.strides.empty()) attr_ints(n, "strides", c.strides);
  if (!c.dilations.empty()) attr_ints(n, "dilations", c.dilations);
  if (!c.pads.empty()) attr_ints(n, "pads", c.pads);
  attr_i(n, "group", c.group);
  return load_model(b);
}

std::map<std::string, Tensor> run(const Model& m, const std::string& isa, int threads,
                                  const std::map<std::string, Tensor>& feeds, std::string* kernel = nullptr) {
  CompileOptions o;
  o.isa = isa;
  o.threads = threads;
  CompiledModel c = CompiledModel::compile(m, o);
  if (kernel) *kernel = c.describe();
  return c.create_session().run(feeds);
}

void check_everywhere(const Model& m, const std::map<std::string, Tensor>& feeds, const std::string& label,
                      const std::string& want_kernel = "") {
  const auto want = run(m, "ref", 1, feeds);
  for (const std::string& isa : isas(/*with_fast=*/true)) {
    if (isa == "ref") continue;
    const bool fast = isa.find("fast") != std::string::npos;
    std::string describe;
    const auto one = run(m, isa, 1, feeds, &describe);
    const auto two = run(m, isa, 2, feeds);
    if (!want_kernel.empty())
      EXPECT_NE(describe.find(want_kernel), std::string::npos) << label << " on " << isa << ":\n" << describe;
    EXPECT_TRUE(bit_identical(one, two)) << label << " on " << isa << ": 1 vs 2 threads";
    // Fast (saturating) variants may differ from the reference by design; the exact ones may not.
    if (!fast) EXPECT_TRUE(bit_identical(want, one)) << label << " on " << isa << " vs ref";
  }
}

TEST(ConvInt8Fast, IsasAvailableOrSkipped) {
  for (const char* isa : {"avx2", "avx512", "vnni"}) {
    bool found = false;
    for (const std::string& s : isas()) found = found || s == isa;
    if (!found) std::printf("[  SKIPPED ] %s: not on this CPU\n", isa);
  }
  const auto all = isas();
  if (all.size() < 2) GTEST_SKIP() << "only the reference ISA on this machine: nothing to compare";
}

TEST(ConvInt8Fast, AwkwardShapesMatchReference) {
  std::mt19937 rng(1234);
  std::vector<ConvCase> cases = {
      // 1x1 on the pixel-major image in place (C not a multiple of 4/16/64).
      {{1, 37, 9, 11}, 70, {1, 1}, {}, {}, {}, 1},
      {{1, 64, 7, 7}, 130, {1, 1}, {}, {}, {}, 1, false},
      {{2, 19, 5, 6}, 21, {1, 1}, {}, {}, {}, 1, true, false, true},
      // 1x1 strided and padded: through the gather.
      {{1, 24, 9, 9}, 40, {1, 1}, {2, 2}, {}, {}, 1},
      {{1, 8, 4, 4}, 8, {1, 1}, {}, {}, {1, 1, 1, 1}, 1},
      // K x K with strides, dilation with stride, asymmetric pads, padding larger than the kernel.
      {{1, 3, 23, 19}, 16, {7, 7}, {2, 2}, {}, {3, 3, 3, 3}, 1},
      {{1, 17, 10, 12}, 33, {3, 3}, {2, 1}, {2, 2}, {1, 0, 2, 3}, 1},
      {{1, 5, 6, 6}, 7, {3, 3}, {1, 1}, {}, {4, 4, 4, 4}, 1},
      {{1, 67, 3, 3}, 65, {3, 3}, {}, {}, {1, 1, 1, 1}, 1, true, true, true},
      // 1-pixel outputs.
      {{1, 32, 3, 3}, 48, {3, 3}, {}, {}, {}, 1},
      {{1, 9, 1, 1}, 5, {1, 1}, {}, {}, {}, 1},
      // Large enough for several im2col blocks and the threaded block split.
      {{1, 64, 30, 30}, 64, {3, 3}, {}, {}, {1, 1, 1, 1}, 1},
      // Grouped (not depthwise).
      {{1, 12, 8, 8}, 18, {3, 3}, {}, {}, {1, 1, 1, 1}, 3},
      {{1, 16, 7, 7}, 32, {1, 1}, {}, {}, {}, 4},
      // Depthwise 3x3 / 5x5, stride 1 and 2, with a channel multiplier.
      {{1, 19, 11, 11}, 19, {3, 3}, {}, {}, {1, 1, 1, 1}, 19},
      {{1, 24, 12, 12}, 24, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, 24},
      {{1, 21, 13, 9}, 21, {5, 5}, {}, {}, {2, 2, 2, 2}, 21},
      {{1, 16, 14, 14}, 16, {5, 5}, {2, 2}, {}, {2, 2, 2, 2}, 16},
      {{1, 8, 9, 9}, 16, {3, 3}, {2, 2}, {2, 2}, {0, 1, 2, 3}, 8},
      // 1-D and 3-D convolutions.
      {{1, 6, 20}, 10, {3}, {2}, {}, {1, 2}, 1},
      {{1, 4, 5, 6, 7}, 6, {3, 3, 3}, {1, 2, 1}, {}, {1, 1, 1, 1, 1, 1}, 1},
      // Enough pixels for the per-block pipeline with 2 threads (1x1 in place, grouped, strided).
      {{1, 37, 13, 11}, 70, {1, 1}, {}, {}, {}, 1},
      {{1, 16, 12, 12}, 32, {1, 1}, {}, {}, {}, 4},
      {{1, 24, 30, 30}, 40, {1, 1}, {2, 2}, {}, {}, 1},
      {{1, 3, 40, 40}, 16, {7, 7}, {2, 2}, {}, {3, 3, 3, 3}, 1},
      {{1, 19, 16, 16}, 67, {1, 1}, {}, {}, {}, 1, true, true, true, true},
  };
  // s8 activations and folded-ReLU output ranges on a few of them.
  for (size_t i : {0u, 6u, 13u, 15u}) {
    ConvCase c = cases[i];
    c.s8_io = true;
    c.relu_range = i % 2 == 0;
    cases.push_back(c);
  }
  for (const ConvCase& c : cases) {
    const Model m = conv_model(c, rng);
    check_everywhere(m, {{"x", random_q8(c.x, c.s8_io, rng)}}, c.label(), "qconv");
  }
}

TEST(ConvInt8Fast, RandomShapesMatchReference) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> ch(1, 40), sp(1, 14), kk(1, 5), st(1, 3), di(1, 2), pd(0, 3), gr(0, 2);
  for (int i = 0; i < 24; ++i) {
    ConvCase c;
    const int64_t k = kk(rng), d = di(rng);
    const int64_t h = std::max<int64_t>(sp(rng), (k - 1) * d + 1), w = std::max<int64_t>(sp(rng), (k - 1) * d + 1);
    const int kind = gr(rng);  // 0 dense, 1 grouped, 2 depthwise
    int64_t cin = ch(rng);
    c.group = kind == 0 ? 1 : kind == 1 ? 2 : cin;
    if (kind == 1) cin *= 2;
    c.x = {1, cin, h, w};
    c.m = kind == 2 ? cin : c.group * ch(rng);
    c.kernel = {k, k};
    c.strides = {st(rng), st(rng)};
    c.dilations = {d, d};
    c.pads = {pd(rng), pd(rng), pd(rng), pd(rng)};
    c.bias = i % 3 != 0;
    c.per_channel = i % 4 != 0;
    c.s8_io = i % 5 == 0;
    c.relu_range = i % 2 == 0;
    const Model m = conv_model(c, rng);
    check_everywhere(m, {{"x", random_q8(c.x, c.s8_io, rng)}}, "random " + c.label(), "qconv");
  }
}

// QLinearAdd with constant parameters (the 256 x 256 table on ref, SIMD float on AVX2 and up)
// against the per-element kernel (the same parameters fed at run time): every pair of bytes,
// and a ragged size for the SIMD tail, on every ISA.
TEST(ConvInt8Fast, FastQLinearAddMatchesPerElement) {
  const std::vector<std::vector<int64_t>> shapes = {{1, 1, 256, 256}, {1, 3, 7, 5}};
  struct Params {
    std::vector<float> scales;
    std::vector<int> u8_zeros, s8_zeros;
  };
  const std::vector<Params> params = {{{0.031f, 0.017f, 0.05f}, {120, 131, 0}, {-3, 9, -128}},
                                      {{0.1f, 0.1f, 0.0004f}, {0, 255, 7}, {127, -128, 0}},
                                      {{1e-3f, 3.0f, 2.5f}, {128, 1, 250}, {0, 100, -100}},
                                      // exact half-integer sums: ties to even
                                      {{0.5f, 0.25f, 1.0f}, {3, 200, 128}, {-7, 0, 5}},
                                      // inexact scale ratios, many sums within an ulp of a tie
                                      {{0.3f, 0.7f, 0.1f}, {17, 240, 128}, {0, -50, 3}},
                                      // sums beyond int32: the SIMD kernel's scalar way
                                      {{1.0f, 1.0f, 1e-7f}, {128, 0, 100}, {0, 5, -3}}};
  const char* names[] = {"as", "az", "bs", "bz", "cs", "cz"};
  for (const Params& pr : params)
    for (bool s8 : {false, true})
      for (const auto& shape : shapes) {
        const int q8 = s8 ? TP::INT8 : TP::UINT8;
        const std::vector<int>& zeros = s8 ? pr.s8_zeros : pr.u8_zeros;
        auto build = [&](bool constant) {
          ModelBuilder b(13);
          auto* ms = b.model().add_opset_import();
          ms->set_domain("com.microsoft");
          ms->set_version(1);
          b.input("a", q8, std::vector<Dim>(shape.begin(), shape.end()));
          b.input("b", q8, std::vector<Dim>(shape.begin(), shape.end()));
          b.output_untyped("y");
          for (int i = 0; i < 3; ++i) {
            if (constant) {
              b.initializer(tensor_f32(names[2 * i], {}, {pr.scales[i]}));
              if (s8) b.initializer(tensor_of<int8_t>(names[2 * i + 1], TP::INT8, {}, {static_cast<int8_t>(zeros[i])}));
              else b.initializer(tensor_of<uint8_t>(names[2 * i + 1], TP::UINT8, {}, {static_cast<uint8_t>(zeros[i])}));
            } else {
              b.input(names[2 * i], TP::FLOAT, {});
              b.input(names[2 * i + 1], q8, {});
            }
          }
          b.node("QLinearAdd", {"a", "as", "az", "b", "bs", "bz", "cs", "cz"}, {"y"}, "add", "com.microsoft");
          return load_model(b);
        };
        Tensor a(s8 ? DType::s8 : DType::u8, shape), bt(s8 ? DType::s8 : DType::u8, shape);
        for (int64_t i = 0; i < a.numel(); ++i) {
          a.data_as<uint8_t>()[i] = static_cast<uint8_t>(i / 256 + 7 * (i % 3));
          bt.data_as<uint8_t>()[i] = static_cast<uint8_t>(i % 256);
        }
        std::map<std::string, Tensor> feeds = {{"a", a}, {"b", bt}};
        auto per_element_feeds = feeds;
        for (int i = 0; i < 3; ++i) {
          Tensor sc(DType::f32, {});
          *sc.data_as<float>() = pr.scales[i];
          Tensor z(s8 ? DType::s8 : DType::u8, {});
          *z.data_as<uint8_t>() = static_cast<uint8_t>(zeros[i]);
          per_element_feeds[names[2 * i]] = sc;
          per_element_feeds[names[2 * i + 1]] = z;
        }
        const auto want = run(build(false), "ref", 1, per_element_feeds);
        for (const std::string& isa : isas())
          for (int threads : {1, 2}) {
            std::string describe;
            const auto got = run(build(true), isa, threads, feeds, &describe);
            const char* kernel = isa == "ref" ? "qlinear_binary_table"
                                 : isa == "avx2" || isa == "avx2_fast" ? "qadd_q8_avx2"
                                                                       : "qadd_q8_avx512";
            EXPECT_NE(describe.find(kernel), std::string::npos) << describe;
            EXPECT_TRUE(bit_identical(want, got)) << (s8 ? "s8" : "u8") << " scale " << pr.scales[2] << " on " << isa;
          }
      }
}

// octet.MaxPool (what fuse_qdq makes of an 8-bit MaxPool) against ONNX MaxPool on the
// reference ISA: padding, ceil_mode, dilation, strides, s8, 1-D.
TEST(ConvInt8Fast, QMaxPoolMatchesMaxPool) {
  struct PoolCase {
    std::vector<int64_t> x, kernel, strides, pads, dilations;
    int64_t ceil_mode;
    bool s8;
  };
  const std::vector<PoolCase> cases = {
      {{1, 5, 17, 17}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0, false},
      {{2, 3, 8, 9}, {2, 2}, {2, 2}, {}, {}, 0, false},
      {{1, 4, 10, 11}, {3, 3}, {2, 2}, {0, 0, 1, 1}, {}, 1, true},
      {{1, 3, 12, 12}, {3, 2}, {1, 3}, {1, 0, 2, 1}, {2, 2}, 0, false},
      {{1, 2, 7, 7}, {3, 3}, {3, 3}, {}, {}, 1, true},
      {{1, 3, 15}, {4}, {2}, {1, 2}, {}, 0, false},
  };
  std::mt19937 rng(77);
  for (const PoolCase& c : cases) {
    auto build = [&](bool internal) {
      ModelBuilder b(13);
      if (internal) {
        auto* os = b.model().add_opset_import();
        os->set_domain(detail::kOctetDomain);
        os->set_version(1);
      }
      b.input("x", c.s8 ? TP::INT8 : TP::UINT8, std::vector<Dim>(c.x.begin(), c.x.end()));
      b.output_untyped("y");
      auto* n = b.node("MaxPool", {"x"}, {"y"}, "pool", internal ? detail::kOctetDomain : "");
      attr_ints(n, "kernel_shape", c.kernel);
      attr_ints(n, "strides", c.strides);
      if (!c.pads.empty()) attr_ints(n, "pads", c.pads);
      if (!c.dilations.empty()) attr_ints(n, "dilations", c.dilations);
      attr_i(n, "ceil_mode", c.ceil_mode);
      return load_model(b);
    };
    const std::map<std::string, Tensor> feeds = {{"x", random_q8(c.x, c.s8, rng)}};
    const auto want = run(build(false), "ref", 1, feeds);
    for (const std::string& isa : isas())
      for (int threads : {1, 2}) {
        std::string describe;
        const auto got = run(build(true), isa, threads, feeds, &describe);
        EXPECT_NE(describe.find("qmaxpool_planes"), std::string::npos) << describe;
        EXPECT_TRUE(bit_identical(want, got)) << "pool case x" << c.x[2] << " on " << isa << ", " << threads << " threads";
      }
  }
}

}  // namespace
}  // namespace octet::testing
