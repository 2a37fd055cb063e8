// INT8 import: the ONNX node tests of the quantized ops compiled with precision int8, QOperator
// ops with constant weights (the fast kernels) against the integer contract of gemm_u8s8.h,
// and QDQ models with s8 activations and per-axis weights.
#include <filesystem>
#include <set>

#include "quant_test_util.h"
#include "runtime/program.h"

namespace octet::testing {
namespace {

namespace fs = std::filesystem;
const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";

std::vector<std::string> numbered(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = 0;; ++i) {
    const std::string p = dir + "/" + prefix + std::to_string(i) + ".pb";
    if (!fs::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

// Loads a node test, binding inputs by name (or position); runs it at precision int8 with the
// given inputs frozen as constants; compares with the expected outputs exactly.
void run_node_test(const std::string& name, const std::string& isa, const std::set<size_t>& constant_inputs = {}) {
  const std::string dir = std::string(kNodeTests) + "/" + name;
  Model m = Model::load(dir + "/model.onnx");
  const auto infos = m.inputs();
  const auto outs = m.outputs();
  CompileOptions o;
  o.precision = Precision::int8;
  o.isa = isa;
  std::map<std::string, Tensor> feeds;
  const auto in_files = numbered(dir + "/test_data_set_0", "input_");
  for (size_t i = 0; i < in_files.size(); ++i) {
    std::string tname;
    Tensor t = load_tensor_pb(in_files[i], &tname);
    if (tname.empty()) tname = infos[i].name;
    if (constant_inputs.count(i)) o.constant_inputs[tname] = t;
    else feeds[tname] = t;
  }
  CompiledModel c = CompiledModel::compile(m, o);
  auto results = c.create_session().run(feeds);
  const auto out_files = numbered(dir + "/test_data_set_0", "output_");
  ASSERT_FALSE(out_files.empty());
  for (size_t i = 0; i < out_files.size(); ++i) {
    std::string tname;
    Tensor want = load_tensor_pb(out_files[i], &tname);
    if (tname.empty()) tname = outs[i].name;
    const Tensor& got = results.at(tname);
    ASSERT_EQ(got.dtype(), want.dtype()) << name << " " << tname;
    ASSERT_EQ(got.shape(), want.shape()) << name << " " << tname;
    if (want.dtype() == DType::f32) {
      EXPECT_LE(max_abs_diff(got, want), 1e-6f) << name << " on " << isa;
    } else {
      EXPECT_EQ(std::memcmp(got.data(), want.data(), want.nbytes()), 0) << name << " " << tname << " on " << isa;
    }
  }
}

class NodeTests : public ::testing::TestWithParam<std::string> {};

TEST_P(NodeTests, MatchExpectedOnEveryIsa) {
  if (!fs::exists(std::string(kNodeTests) + "/" + GetParam())) GTEST_SKIP() << "libonnx-testdata not installed";
  for (const std::string& isa : isas(/*with_fast=*/true)) run_node_test(GetParam(), isa);
}

INSTANTIATE_TEST_SUITE_P(
    Quantized, NodeTests,
    ::testing::Values("test_qlinearconv", "test_qlinearmatmul_2D", "test_qlinearmatmul_3D", "test_quantizelinear",
                      "test_quantizelinear_axis", "test_dequantizelinear", "test_dequantizelinear_axis",
                      "test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding",
                      "test_matmulinteger", "test_dynamicquantizelinear", "test_dynamicquantizelinear_max_adjusted",
                      "test_dynamicquantizelinear_min_adjusted", "test_dynamicquantizelinear_expanded"),
    [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(NodeTestsConstantWeights, QLinearConvAndMatMul) {
  if (!fs::exists(kNodeTests)) GTEST_SKIP() << "libonnx-testdata not installed";
  // Everything but the activation frozen: the kernels see constant weights and parameters.
  for (const std::string& isa : isas(true)) {
    run_node_test("test_qlinearconv", isa, {1, 2, 3, 4, 5, 6, 7});
    run_node_test("test_qlinearmatmul_2D", isa, {1, 2, 3, 4, 5, 6, 7});
    run_node_test("test_qlinearmatmul_3D", isa, {1, 2, 3, 4, 5, 6, 7});
  }
}

// --- QOperator models with constant s8 weights against the integer contract --------------------

TP int_tensor(const std::string& name, int type, const std::vector<int64_t>& dims, const std::vector<int32_t>& v) {
  TP t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  std::string raw;
  for (int32_t x : v) {
    if (type == TP::INT32) raw.append(reinterpret_cast<const char*>(&x), 4);
    else raw.push_back(static_cast<char>(static_cast<uint8_t>(x)));
  }
  t.set_raw_data(raw);
  return t;
}

std::vector<int32_t> random_ints(size_t n, std::mt19937& rng, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// gemm_u8s8.h's epilogue for one accumulator.
int32_t requantize(int32_t acc, float scale, int32_t zp, bool s8) {
  const int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
  float y = static_cast<float>(acc) * scale;
  y = std::min(std::max(y, static_cast<float>(lo - zp)), static_cast<float>(hi - zp));
  return std::min(std::max(static_cast<int32_t>(std::nearbyint(y)) + zp, lo), hi);
}

struct ConvCase {
  int64_t c, m, h, w, k, stride, dilation, group;
  std::vector<int64_t> pads;
  bool x_s8, y_s8, bias;
  int w_max;  // weights in [-w_max, w_max]
};

TEST(QOperator, QLinearConvMatchesTheIntegerContract) {
  const std::vector<ConvCase> cases = {
      {4, 6, 7, 9, 3, 1, 1, 1, {1, 1, 1, 1}, false, false, true, 127},
      {4, 6, 7, 9, 3, 2, 1, 1, {0, 0, 1, 1}, false, false, true, 127},   // TF "SAME" stride 2
      {8, 8, 6, 6, 3, 1, 1, 8, {1, 1, 1, 1}, false, false, true, 127},   // depthwise
      {8, 16, 6, 6, 3, 2, 1, 8, {1, 1, 1, 1}, true, false, true, 127},   // depth multiplier 2, s8 x
      {6, 4, 5, 5, 3, 1, 2, 2, {2, 2, 2, 2}, false, true, false, 127},   // grouped, dilated, s8 y
      {16, 8, 5, 5, 1, 1, 1, 1, {0, 0, 0, 0}, true, true, true, 127},    // 1x1
      {16, 8, 5, 5, 3, 1, 1, 1, {1, 1, 1, 1}, false, false, true, 64},   // fast-exact weights
  };
  std::mt19937 rng(17);
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const ConvCase& cc = cases[ci];
    const int64_t cg = cc.c / cc.group, K = cg * cc.k * cc.k;
    const int xt = cc.x_s8 ? TP::INT8 : TP::UINT8, yt = cc.y_s8 ? TP::INT8 : TP::UINT8;
    const int32_t x_zp = cc.x_s8 ? -7 : 131, y_zp = cc.y_s8 ? 5 : 120;
    const float x_scale = 0.02f, y_scale = 0.15f;
    std::vector<float> w_scale = random_floats(static_cast<size_t>(cc.m), rng, 0.001f, 0.01f);
    std::vector<int32_t> w = random_ints(static_cast<size_t>(cc.m * K), rng, -cc.w_max, cc.w_max);
    std::vector<int32_t> bias = random_ints(static_cast<size_t>(cc.m), rng, -20000, 20000);
    ModelBuilder b(13);
    b.input("x", xt, {1, cc.c, cc.h, cc.w});
    b.initializer(tensor_f32("xs", {}, {x_scale}));
    b.initializer(int_tensor("xz", xt, {}, {x_zp}));
    b.initializer(int_tensor("w", TP::INT8, {cc.m, cg, cc.k, cc.k}, w));
    b.initializer(tensor_f32("ws", {cc.m}, w_scale));
    b.initializer(int_tensor("wz", TP::INT8, {cc.m}, std::vector<int32_t>(static_cast<size_t>(cc.m), 0)));
    b.initializer(tensor_f32("ys", {}, {y_scale}));
    b.initializer(int_tensor("yz", yt, {}, {y_zp}));
    std::vector<std::string> in = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"};
    if (cc.bias) {
      b.initializer(int_tensor("b", TP::INT32, {cc.m}, bias));
      in.push_back("b");
    }
    auto* n = b.node("QLinearConv", in, {"y"}, "qconv");
    attr_ints(n, "kernel_shape", {cc.k, cc.k});
    attr_ints(n, "strides", {cc.stride, cc.stride});
    attr_ints(n, "dilations", {cc.dilation, cc.dilation});
    attr_ints(n, "pads", cc.pads);
    attr_i(n, "group", cc.group);
    b.output_untyped("y");
    // Input and the expected output, computed here from the contract.
    Tensor x(cc.x_s8 ? DType::s8 : DType::u8, {1, cc.c, cc.h, cc.w});
    std::vector<int32_t> xv = random_ints(static_cast<size_t>(x.numel()), rng, cc.x_s8 ? -128 : 0, cc.x_s8 ? 127 : 255);
    for (int64_t i = 0; i < x.numel(); ++i) static_cast<uint8_t*>(x.data())[i] = static_cast<uint8_t>(xv[i]);
    const int64_t eh = cc.dilation * (cc.k - 1) + 1;
    const int64_t oh = (cc.h + cc.pads[0] + cc.pads[2] - eh) / cc.stride + 1;
    const int64_t ow = (cc.w + cc.pads[1] + cc.pads[3] - eh) / cc.stride + 1;
    std::vector<int32_t> expected;
    for (int64_t m = 0; m < cc.m; ++m) {
      const int64_t g = m / (cc.m / cc.group);
      const float scale = x_scale * w_scale[m] / y_scale;
      for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
          int32_t acc = cc.bias ? bias[m] : 0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < cc.k; ++ky)
              for (int64_t kx = 0; kx < cc.k; ++kx) {
                const int64_t iy = y0 * cc.stride + ky * cc.dilation - cc.pads[0];
                const int64_t ix = x0 * cc.stride + kx * cc.dilation - cc.pads[1];
                if (iy < 0 || iy >= cc.h || ix < 0 || ix >= cc.w) continue;
                const int32_t xq = xv[((g * cg + c) * cc.h + iy) * cc.w + ix] - x_zp;
                acc += xq * w[((m * cg + c) * cc.k + ky) * cc.k + kx];
              }
          expected.push_back(requantize(acc, scale, y_zp, cc.y_s8));
        }
    }
    for (const std::string& isa : isas(true)) {
      CompileOptions o;
      o.precision = Precision::int8;
      o.isa = isa;
      CompiledModel compiled = CompiledModel::compile(load_model(b), o);
      Tensor y = compiled.create_session().run({{"x", x}}).at("y");
      ASSERT_EQ(y.numel(), static_cast<int64_t>(expected.size())) << "case " << ci;
      const bool saturating = isa.find("fast") != std::string::npos && cc.w_max > 64;
      int64_t mismatches = 0;
      for (int64_t i = 0; i < y.numel(); ++i) {
        const int32_t got = cc.y_s8 ? y.data_as<int8_t>()[i] : y.data_as<uint8_t>()[i];
        mismatches += got != expected[i];
      }
      if (!saturating) {
        EXPECT_EQ(mismatches, 0) << "case " << ci << " on " << isa << ", kernel " << compiled.describe();
      }
      if (isa != "ref") {
        EXPECT_EQ(compiled.describe().find("kernel=ref"), std::string::npos) << compiled.describe();
      }
    }
  }
}

TEST(QOperator, QLinearMatMulAndQGemmMatchTheIntegerContract) {
  std::mt19937 rng(23);
  const int64_t M = 13, K = 37, N = 21;
  std::vector<int32_t> a = random_ints(M * K, rng, 0, 255), w = random_ints(K * N, rng, -127, 127);
  std::vector<int32_t> bias = random_ints(N, rng, -5000, 5000);
  std::vector<float> w_scale = random_floats(N, rng, 0.001f, 0.01f);
  const float a_scale = 0.03f, y_scale = 0.2f;
  const int32_t a_zp = 100, y_zp = 60;
  Tensor at(DType::u8, {M, K});
  for (int64_t i = 0; i < M * K; ++i) at.data_as<uint8_t>()[i] = static_cast<uint8_t>(a[i]);
  for (int variant = 0; variant < 3; ++variant) {  // QLinearMatMul, QGemm u8 out, QGemm f32 out
    ModelBuilder b(13);
    b.input("a", TP::UINT8, {M, K});
    b.initializer(tensor_f32("as", {}, {a_scale}));
    b.initializer(int_tensor("az", TP::UINT8, {}, {a_zp}));
    b.initializer(tensor_f32("ws", {N}, w_scale));
    b.initializer(int_tensor("wz", TP::INT8, {N}, std::vector<int32_t>(N, 0)));
    b.initializer(tensor_f32("ys", {}, {y_scale}));
    b.initializer(int_tensor("yz", TP::UINT8, {}, {y_zp}));
    b.initializer(int_tensor("c", TP::INT32, {N}, bias));
    if (variant == 0) {
      b.initializer(int_tensor("w", TP::INT8, {K, N}, w));
      b.node("QLinearMatMul", {"a", "as", "az", "w", "ws", "wz", "ys", "yz"}, {"y"});
    } else {
      std::vector<int32_t> wt(K * N);  // [N, K] for transB
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) wt[n * K + k] = w[k * N + n];
      b.initializer(int_tensor("w", TP::INT8, {N, K}, wt));
      std::vector<std::string> in = {"a", "as", "az", "w", "ws", "wz", "c"};
      if (variant == 1) {
        in.push_back("ys");
        in.push_back("yz");
      }
      auto* n = b.node("QGemm", in, {"y"}, "qgemm", "com.microsoft");
      attr_i(n, "transB", 1);
      auto* os = b.model().add_opset_import();
      os->set_domain("com.microsoft");
      os->set_version(1);
    }
    b.output_untyped("y");
    for (const std::string& isa : isas(true)) {
      CompileOptions o;
      o.precision = Precision::int8;
      o.isa = isa;
      CompiledModel compiled = CompiledModel::compile(load_model(b), o);
      Tensor y = compiled.create_session().run({{"a", at}}).at("y");
      int64_t mismatches = 0;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int32_t acc = variant == 0 ? 0 : bias[n];
          for (int64_t k = 0; k < K; ++k) acc += (a[m * K + k] - a_zp) * w[k * N + n];
          if (variant == 2) {
            const float want = static_cast<float>(acc) * (a_scale * w_scale[n]);
            mismatches += y.data_as<float>()[m * N + n] != want;
          } else {
            mismatches += y.data_as<uint8_t>()[m * N + n] != requantize(acc, a_scale * w_scale[n] / y_scale, y_zp, false);
          }
        }
      if (isa.find("fast") == std::string::npos) {
        EXPECT_EQ(mismatches, 0) << "variant " << variant << " on " << isa << ": " << compiled.describe();
      }
    }
  }
}

// --- QDQ models made by other tools: s8 activations, per-axis weights ------------------------

std::multiset<std::string> op_types(const CompiledModel& c) {
  std::multiset<std::string> ops;
  for (const auto& n : c.program()->graph.nodes) ops.insert(n.op_type);
  return ops;
}

ModelBuilder qdq_conv_model(bool s8_activations) {
  std::mt19937 rng(31);
  const int act = s8_activations ? TP::INT8 : TP::UINT8;
  const int32_t zx = s8_activations ? -10 : 118, zy = s8_activations ? -100 : 20;
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {1, 4, 8, 8});
  b.output("y", TP::FLOAT, {1, 6, 8, 8});
  b.initializer(tensor_f32("xs", {}, {0.02f}));
  b.initializer(int_tensor("xz", act, {}, {zx}));
  b.initializer(int_tensor("w", TP::INT8, {6, 4, 3, 3}, random_ints(6 * 36, rng, -127, 127)));
  const std::vector<float> ws = random_floats(6, rng, 0.002f, 0.004f);
  b.initializer(tensor_f32("ws", {6}, ws));
  b.initializer(int_tensor("wz", TP::INT8, {6}, std::vector<int32_t>(6, 0)));
  std::vector<float> bs(6);
  for (int c = 0; c < 6; ++c) bs[c] = 0.02f * ws[c];
  b.initializer(int_tensor("b", TP::INT32, {6}, random_ints(6, rng, -3000, 3000)));
  b.initializer(tensor_f32("bs", {6}, bs));
  b.initializer(int_tensor("bz", TP::INT32, {6}, std::vector<int32_t>(6, 0)));
  b.initializer(tensor_f32("ys", {}, {0.05f}));
  b.initializer(int_tensor("yz", act, {}, {zy}));
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
  attr_i(b.node("DequantizeLinear", {"w", "ws", "wz"}, {"wd"}), "axis", 0);
  attr_i(b.node("DequantizeLinear", {"b", "bs", "bz"}, {"bd"}), "axis", 0);
  auto* conv = b.node("Conv", {"xd", "wd", "bd"}, {"c"}, "conv");
  attr_ints(conv, "pads", {1, 1, 1, 1});
  b.node("QuantizeLinear", {"c", "ys", "yz"}, {"cq"});
  b.node("DequantizeLinear", {"cq", "ys", "yz"}, {"cd"});
  // A second quantized op reading the first's 8-bit output: Q(DQ) pairs cancel in between.
  b.node("MaxPool", {"cd"}, {"p"}, "pool");
  attr_ints(b.graph()->mutable_node(b.graph()->node_size() - 1), "kernel_shape", {3, 3});
  attr_ints(b.graph()->mutable_node(b.graph()->node_size() - 1), "pads", {1, 1, 1, 1});
  b.node("QuantizeLinear", {"p", "ys", "yz"}, {"pq"});
  b.node("DequantizeLinear", {"pq", "ys", "yz"}, {"y"});
  return b;
}

TEST(QdqImport, FusesAndMatchesTheFloatQdqGraph) {
  for (bool s8 : {false, true}) {
    ModelBuilder b = qdq_conv_model(s8);
    Model m = load_model(b);
    std::mt19937 rng(3);
    Sample sample = {{"x", random_tensor({1, 4, 8, 8}, rng, -2.0f, 2.0f)}};
    // FP32 compilation runs the QDQ graph literally (Q / DQ in float around a float Conv).
    const Tensor reference = CompiledModel::compile(m).create_session().run(sample).at("y");
    std::map<std::string, Tensor> first;
    for (const std::string& isa : isas()) {
      CompileOptions o;
      o.precision = Precision::int8;
      o.isa = isa;
      CompiledModel q = CompiledModel::compile(m, o);
      const std::multiset<std::string> ops = op_types(q);
      // On a SIMD ISA the layout pass runs both on NHWC (octet.QLinearConvNhwc, octet.MaxPoolNhwc).
      EXPECT_EQ(ops.count("QLinearConv") + ops.count("QLinearConvNhwc"), 1u) << q.describe();
      EXPECT_EQ(ops.count("Conv"), 0u) << q.describe();
      EXPECT_EQ(ops.count("MaxPool") + ops.count("MaxPoolNhwc"), 1u) << q.describe();
      for (const auto& n : q.program()->graph.nodes)
        if (n.op_type == "MaxPool" || n.op_type == "MaxPoolNhwc") {
          EXPECT_EQ(q.program()->graph.values[n.outputs[0]].dtype, s8 ? DType::s8 : DType::u8);
        }
      auto out = q.create_session().run(sample);
      // Integer accumulation vs float accumulation: at most one output step apart.
      EXPECT_LE(max_abs_diff(out.at("y"), reference), 0.05f * 1.001f) << (s8 ? "s8" : "u8") << " on " << isa;
      if (first.empty()) first = out;
      else EXPECT_TRUE(bit_identical(first, out)) << "differs from " << isas().front() << " on " << isa;
    }
  }
}

// DQ -> HardSwish -> Q becomes one octet.LookupQ8 whose table holds what those ops compute:
// the same bits as the QDQ graph run literally in float, for every input level, u8 and s8, on
// every ISA.
TEST(QdqImport, HardSwishBecomesALookupTable) {
  for (bool s8 : {false, true}) {
    const int act = s8 ? TP::INT8 : TP::UINT8;
    ModelBuilder b(14);
    b.input("x", TP::FLOAT, {1, 4, 16, 16});
    b.output("y", TP::FLOAT, {1, 4, 16, 16});
    b.initializer(tensor_f32("xs", {}, {0.05f}));
    b.initializer(int_tensor("xz", act, {}, {s8 ? 0 : 128}));
    b.initializer(tensor_f32("ys", {}, {0.031f}));
    b.initializer(int_tensor("yz", act, {}, {s8 ? -116 : 12}));
    b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
    b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
    b.node("HardSwish", {"xd"}, {"h"}, "hswish");
    b.node("QuantizeLinear", {"h", "ys", "yz"}, {"hq"});
    b.node("DequantizeLinear", {"hq", "ys", "yz"}, {"y"});
    const Model m = load_model(b);
    // Every level of x (and values between them, and beyond the ends).
    Tensor x(DType::f32, {1, 4, 16, 16});
    for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = -6.6f + 0.0129f * static_cast<float>(i);
    const Sample sample = {{"x", x}};
    const auto reference = CompiledModel::compile(m).create_session().run(sample);
    for (const std::string& isa : isas(true)) {
      CompileOptions o;
      o.precision = Precision::int8;
      o.isa = isa;
      CompiledModel q = CompiledModel::compile(m, o);
      const std::multiset<std::string> ops = op_types(q);
      EXPECT_EQ(ops.count("LookupQ8"), 1u) << q.describe();
      EXPECT_EQ(ops.count("HardSwish"), 0u) << q.describe();
      EXPECT_TRUE(bit_identical(reference, q.create_session().run(sample))) << (s8 ? "s8" : "u8") << " on " << isa;
    }
  }
}

TEST(QOperatorImport, QLinearAddAndConcatAndPools) {
  // com.microsoft QLinearAdd / QLinearConcat / QLinearGlobalAveragePool against float math.
  ModelBuilder b(13);
  auto* os = b.model().add_opset_import();
  os->set_domain("com.microsoft");
  os->set_version(1);
  b.input("a", TP::UINT8, {1, 2, 3, 3});
  b.input("c", TP::UINT8, {1, 2, 3, 3});
  b.initializer(tensor_f32("sa", {}, {0.1f}));
  b.initializer(int_tensor("za", TP::UINT8, {}, {10}));
  b.initializer(tensor_f32("sc", {}, {0.05f}));
  b.initializer(int_tensor("zc", TP::UINT8, {}, {128}));
  b.initializer(tensor_f32("sy", {}, {0.2f}));
  b.initializer(int_tensor("zy", TP::UINT8, {}, {50}));
  b.node("QLinearAdd", {"a", "sa", "za", "c", "sc", "zc", "sy", "zy"}, {"sum"}, "add", "com.microsoft");
  attr_i(b.node("QLinearConcat", {"sy", "zy", "a", "sa", "za", "c", "sc", "zc"}, {"cat"}, "cat", "com.microsoft"),
         "axis", 1);
  b.node("QLinearGlobalAveragePool", {"cat", "sy", "zy", "sa", "za"}, {"gap"}, "gap", "com.microsoft");
  b.output_untyped("sum");
  b.output_untyped("cat");
  b.output_untyped("gap");
  std::mt19937 rng(8);
  Tensor a(DType::u8, {1, 2, 3, 3}), c(DType::u8, {1, 2, 3, 3});
  for (int64_t i = 0; i < 18; ++i) {
    a.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng() % 256);
    c.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng() % 256);
  }
  CompileOptions o;
  o.precision = Precision::int8;
  auto r = CompiledModel::compile(load_model(b), o).create_session().run({{"a", a}, {"c", c}});
  auto deq = [](int v, float s, int z) { return (v - z) * s; };
  auto q = [](float v, float s, int z) { return std::min(255, std::max(0, static_cast<int>(std::nearbyint(v / s)) + z)); };
  std::vector<float> cat_f(36);
  for (int64_t i = 0; i < 18; ++i) {
    const float va = deq(a.data_as<uint8_t>()[i], 0.1f, 10), vc = deq(c.data_as<uint8_t>()[i], 0.05f, 128);
    EXPECT_NEAR(r.at("sum").data_as<uint8_t>()[i], q(va + vc, 0.2f, 50), 1);
    EXPECT_NEAR(r.at("cat").data_as<uint8_t>()[i], q(va, 0.2f, 50), 1);
    EXPECT_NEAR(r.at("cat").data_as<uint8_t>()[18 + i], q(vc, 0.2f, 50), 1);
  }
  for (int ch = 0; ch < 4; ++ch) {
    float mean = 0;
    for (int i = 0; i < 9; ++i) mean += deq(r.at("cat").data_as<uint8_t>()[ch * 9 + i], 0.2f, 50) / 9.0f;
    EXPECT_NEAR(r.at("gap").data_as<uint8_t>()[ch], q(mean, 0.1f, 10), 1);
  }
}

}  // namespace
}  // namespace octet::testing
