// The fast FP32 conv kernels (GEMM on gemm_f32, depthwise) against the reference conv, at
// every ISA level the machine has: random shapes and the awkward attributes (padding larger
// than the kernel, dilation with stride, 1-pixel outputs, channel counts off the vector
// width, groups, depthwise 3x3/5x5 stride 1/2, asymmetric pads), the fused epilogues of the
// octet.Conv node (residual, ReLU, clip), 1 vs 2 threads bit-identical, each on the NCHW
// kernels and on octet.ConvNhwc (the layout pass's channels-last form); and the
// fuse_conv_epilogue pass on a Conv -> Add -> Relu graph; Gemm and MatMul with a constant B
// on the gemm_f32 tables against the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "octet/kernels/isa.h"
#include "octet/octet.h"
#include "ops/octet_ops.h"
#include "ops/op_test_util.h"

namespace octet {
namespace {

struct Case {
  std::string label;
  int64_t n = 1, c = 8, m = 8, group = 1;
  int64_t ih = 9, iw = 9, kh = 3, kw = 3;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  bool bias = true;
  bool residual = false;
  std::string activation;  // "", "Relu", "Clip", "HardSwish"
  bool one_d = false;      // 1-D conv: ih, kh, strides[0], dilations[0], pads[0], pads[2] unused
};

Tensor random_tensor(Shape shape, uint32_t seed) {
  Tensor t(DType::f32, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(gen);
  return t;
}

int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

Shape y_shape(const Case& c) {
  if (c.one_d)
    return {c.n, c.m, out_dim(c.iw, c.kw, c.strides[1], c.dilations[1], c.pads[1], c.pads[3])};
  return {c.n, c.m, out_dim(c.ih, c.kh, c.strides[0], c.dilations[0], c.pads[0], c.pads[2]),
          out_dim(c.iw, c.kw, c.strides[1], c.dilations[1], c.pads[1], c.pads[3])};
}

detail::Attribute ints_attr(std::vector<int64_t> v) {
  detail::Attribute a;
  a.kind = detail::Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}

struct Built {
  std::shared_ptr<detail::Graph> graph;
  std::map<std::string, Tensor> feeds;
};

// One conv node: the ONNX Conv, or the fused octet.Conv when the case has a residual or
// an activation. Deterministic data from the case label.
Built build(const Case& c) {
  Built b;
  b.graph = std::make_shared<detail::Graph>();
  detail::Graph& g = *b.graph;
  g.opsets[""] = 17;
  const bool fused = c.residual || !c.activation.empty();
  if (fused) g.opsets[detail::kOctetDomain] = 1;
  const uint32_t seed = static_cast<uint32_t>(std::hash<std::string>()(c.label));
  detail::Node node;
  node.name = "conv";
  node.op_type = "Conv";
  node.domain = fused ? detail::kOctetDomain : "";
  const Shape xs = c.one_d ? Shape{c.n, c.c, c.iw} : Shape{c.n, c.c, c.ih, c.iw};
  const Shape ws = c.one_d ? Shape{c.m, c.c / c.group, c.kw} : Shape{c.m, c.c / c.group, c.kh, c.kw};
  auto add_input = [&](const std::string& name, const Tensor& t) {
    const int id = g.add_value(name);
    g.values[id].dtype = DType::f32;
    g.values[id].shape = t.shape();
    g.values[id].shape_known = true;
    g.inputs.push_back(id);
    node.inputs.push_back(id);
    b.feeds[name] = t;
  };
  add_input("x", random_tensor(xs, seed));
  node.inputs.push_back(g.add_const("w", random_tensor(ws, seed + 1)));
  if (c.bias)
    node.inputs.push_back(g.add_const("b", random_tensor({c.m}, seed + 2)));
  else if (c.residual)
    node.inputs.push_back(-1);
  if (c.residual) add_input("z", random_tensor(y_shape(c), seed + 3));
  if (c.one_d) {
    node.attrs["strides"] = ints_attr({c.strides[1]});
    node.attrs["dilations"] = ints_attr({c.dilations[1]});
    node.attrs["pads"] = ints_attr({c.pads[1], c.pads[3]});
  } else {
    node.attrs["strides"] = ints_attr(c.strides);
    node.attrs["dilations"] = ints_attr(c.dilations);
    node.attrs["pads"] = ints_attr(c.pads);
  }
  detail::Attribute grp;
  grp.kind = detail::Attribute::Kind::int_;
  grp.i = c.group;
  node.attrs["group"] = grp;
  if (!c.activation.empty()) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::string_;
    a.s = c.activation;
    node.attrs["activation"] = a;
    if (c.activation == "Clip") {
      detail::Attribute f;
      f.kind = detail::Attribute::Kind::float_;
      f.f = -0.5f;
      node.attrs["clip_min"] = f;
      f.f = 0.75f;
      node.attrs["clip_max"] = f;
    }
  }
  const int y = g.add_value("y");
  node.outputs.push_back(y);
  g.outputs.push_back(y);
  g.nodes.push_back(node);
  g.toposort();
  return b;
}

struct Result {
  Tensor y;
  std::string kernel;  // from CompiledModel::describe()
};

// optimize = false compiles the graph as built (the NCHW kernels); true runs the passes, and
// the layout pass puts 2-D convs with a channels-last kernel on octet.ConvNhwc.
Result run(const Built& b, const std::string& isa, int threads, bool optimize = false) {
  CompileOptions opt;
  opt.isa = isa;
  opt.threads = threads;
  opt.optimize = optimize;
  CompiledModel cm = CompiledModel::compile(Model(b.graph), opt);
  Session s = cm.create_session();
  Result r;
  r.y = s.run(b.feeds).at("y");
  // The conv's kernel (the line of the node named "conv").
  const std::string d = cm.describe();
  size_t line = d.find("conv ");
  if (line != 0) line = d.find("\nconv ");
  const size_t k = d.find("kernel=", line == std::string::npos ? 0 : line);
  r.kernel = k == std::string::npos ? "" : d.substr(k + 7, d.find('\n', k) - k - 7);
  return r;
}

// The SIMD levels this machine has, within OCTET_MAX_ISA (the fast kernels' targets).
std::vector<std::string> simd_isas() {
  std::vector<std::string> out;
  for (const kernels::IsaChoice& c : kernels::available_isas())
    if (!c.fast && (c.isa == kernels::Isa::avx512 || c.isa == kernels::Isa::avx2))
      out.push_back(c.name());
  return out;
}

void check_case(const Case& c, const std::string& isa, const std::string& kernel_prefix, bool channels_last) {
  SCOPED_TRACE(c.label + " on " + isa + (channels_last ? ", channels-last" : ""));
  const Built b = build(c);
  const Result ref = run(b, "ref", 1);
  EXPECT_EQ(ref.kernel, "ref");
  const Result one = run(b, isa, 1, channels_last);
  const Result two = run(b, isa, 2, channels_last);
  if (!channels_last) {
    EXPECT_EQ(one.kernel.rfind(kernel_prefix, 0), 0u) << "kernel " << one.kernel;
  } else if (!c.one_d && (c.c / c.group > 1 || c.m == c.c)) {
    // 2-D with several input channels per group, or depthwise without a multiplier.
    EXPECT_NE(one.kernel.find("nhwc"), std::string::npos) << "kernel " << one.kernel;
  }
  ASSERT_EQ(one.y.shape(), ref.y.shape());
  ASSERT_EQ(two.y.shape(), ref.y.shape());
  const int64_t n = ref.y.numel();
  const float* r = ref.y.data_as<float>();
  const float* f1 = one.y.data_as<float>();
  const float* f2 = two.y.data_as<float>();
  // Sums of K products of values in [-1, 1]: FMA and order change the rounding only.
  const int64_t K = c.c / c.group * (c.one_d ? 1 : c.kh) * c.kw;
  const double tol = 1e-5 * (K + 4);
  int64_t bad = 0, diff_threads = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!(std::fabs(double(f1[i]) - double(r[i])) <= tol)) {
      if (bad++ < 5) ADD_FAILURE() << "element " << i << ": " << f1[i] << " vs reference " << r[i];
    }
    if (std::memcmp(&f1[i], &f2[i], sizeof(float)) != 0) ++diff_threads;
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(diff_threads, 0) << "1 and 2 threads differ";
}

void check_on_every_isa(const Case& c, const std::string& kernel_prefix) {
  const std::vector<std::string> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no avx2 or avx512 level on this CPU (or under OCTET_MAX_ISA)";
  for (const std::string& isa : isas)
    for (bool channels_last : {false, true}) check_case(c, isa, kernel_prefix, channels_last);
}

TEST(ConvFast, GemmPathShapes) {
  std::vector<Case> cases;
  {
    Case c;  // 1x1 stride 1: the activations packed in place, no im2col
    c.label = "pointwise";
    c.c = 37, c.m = 45, c.ih = 9, c.iw = 11, c.kh = c.kw = 1;
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "3x3 pad 1, C off the vector width";
    c.c = 19, c.m = 33, c.ih = 15, c.iw = 13, c.pads = {1, 1, 1, 1};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "3x3 stride 2 asymmetric pads, no bias";
    c.c = 8, c.m = 20, c.ih = 12, c.iw = 17, c.strides = {2, 2}, c.pads = {0, 1, 2, 1};
    c.bias = false;
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "padding larger than the kernel";
    c.c = 5, c.m = 7, c.ih = 4, c.iw = 6, c.kh = c.kw = 2, c.pads = {3, 4, 3, 5};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "dilation 2 with stride 2";
    c.c = 6, c.m = 10, c.ih = 14, c.iw = 15, c.strides = {2, 2}, c.dilations = {2, 2};
    c.pads = {2, 1, 2, 2};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "1-pixel output";
    c.c = 17, c.m = 3, c.ih = 3, c.iw = 3;
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "groups 4, batch 2";
    c.n = 2, c.c = 16, c.m = 12, c.group = 4, c.ih = 10, c.iw = 7, c.pads = {1, 1, 1, 1};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "1x1 stride 2 (not in place)";
    c.c = 24, c.m = 40, c.ih = 13, c.iw = 13, c.kh = c.kw = 1, c.strides = {2, 2};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "large K: several column blocks";
    c.c = 256, c.m = 70, c.ih = 21, c.iw = 19, c.pads = {1, 1, 1, 1};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "7x7 stride 2 pad 3 on 3 channels (a stem)";
    c.c = 3, c.m = 16, c.ih = 30, c.iw = 33, c.kh = c.kw = 7, c.strides = {2, 2};
    c.pads = {3, 3, 3, 3};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "1-D";
    c.one_d = true, c.c = 9, c.m = 11, c.iw = 40, c.kw = 5, c.strides = {1, 2}, c.pads = {0, 2, 0, 1};
    cases.push_back(c);
  }
  for (const Case& c : cases) check_on_every_isa(c, "conv");
}

// Channels-last convs that read the padded image in place (implicit GEMM: one GEMM per output
// row, or one for the whole image when k_w = 1 without W padding) against the reference, and
// the ones that keep the gather (dilation along W, groups).
TEST(ConvFast, ImplicitGemmPath) {
  struct Implicit { Case c; bool implicit; };
  std::vector<Implicit> cases;
  auto add = [&](const std::string& label, int64_t c, int64_t m, int64_t ih, int64_t iw, int64_t kh, int64_t kw,
                 std::vector<int64_t> strides, std::vector<int64_t> dilations, std::vector<int64_t> pads,
                 bool implicit) {
    Case t;
    t.label = label;
    t.c = c, t.m = m, t.ih = ih, t.iw = iw, t.kh = kh, t.kw = kw;
    t.strides = strides, t.dilations = dilations, t.pads = pads;
    cases.push_back({t, implicit});
  };
  add("3x3 pad 1, rows of 31", 13, 40, 6, 31, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, true);
  add("5x5 pad 2 over 3 channels", 3, 17, 9, 12, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, true);
  add("1x7 pad 3 along W", 24, 33, 7, 17, 1, 7, {1, 1}, {1, 1}, {0, 3, 0, 3}, true);
  add("7x1 pad 3 along H: one GEMM", 24, 33, 17, 7, 7, 1, {1, 1}, {1, 1}, {3, 0, 3, 0}, true);
  add("3x1 unpadded: one GEMM on the input itself", 9, 20, 11, 8, 3, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, true);
  add("3x3 stride 2, odd width unread", 16, 24, 13, 16, 3, 3, {2, 2}, {1, 1}, {0, 0, 0, 0}, true);
  add("3x3 stride (1, 3), unpadded, last columns unread", 8, 24, 9, 14, 3, 3, {1, 3}, {1, 1}, {0, 0, 0, 0}, true);
  add("dilation 3 along H, pads larger than the kernel", 6, 10, 10, 9, 3, 2, {1, 1}, {3, 1}, {4, 3, 5, 3}, true);
  add("1x1 stride 2", 24, 40, 13, 13, 1, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, true);
  add("1-pixel output", 17, 3, 3, 3, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}, true);
  add("dilation 2 along W: gathered", 6, 10, 9, 14, 3, 3, {1, 1}, {1, 2}, {1, 1, 1, 1}, false);
  cases.back().c.residual = true;
  cases[0].c.residual = true;
  cases[0].c.activation = "Relu";
  cases[2].c.activation = "Clip";
  cases[3].c.residual = true;
  cases[3].c.activation = "HardSwish";
  cases[5].c.n = 2;
  {
    Case t;
    t.label = "groups 2: gathered";
    t.c = 8, t.m = 12, t.group = 2, t.ih = 7, t.iw = 9, t.pads = {1, 1, 1, 1};
    cases.push_back({t, false});
  }
  const std::vector<std::string> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no avx2 or avx512 level on this CPU (or under OCTET_MAX_ISA)";
  for (const Implicit& t : cases)
    for (const std::string& isa : isas) {
      check_case(t.c, isa, "conv", /*channels_last=*/true);
      const std::string kernel = run(build(t.c), isa, 1, true).kernel;
      EXPECT_EQ(kernel.rfind(t.implicit ? "conv_implicit_nhwc_gemm[" : "conv_nhwc_gemm[", 0), 0u)
          << t.c.label << " on " << isa << ": " << kernel;
    }
}

TEST(ConvFast, GemmPathRandomShapes) {
  std::mt19937 gen(1234);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); };
  for (int i = 0; i < 12; ++i) {
    Case c;
    c.label = "random " + std::to_string(i);
    c.group = pick(1, 3);
    c.c = c.group * pick(1, 20);
    c.m = c.group * pick(1, 24);
    c.kh = pick(1, 4), c.kw = pick(1, 4);
    c.strides = {pick(1, 3), pick(1, 3)};
    c.dilations = {pick(1, 2), pick(1, 2)};
    c.pads = {pick(0, 4), pick(0, 4), pick(0, 4), pick(0, 4)};
    c.ih = pick(1, 20), c.iw = pick(1, 20);
    // Keep the window inside the padded input.
    c.ih = std::max<int64_t>(c.ih, (c.kh - 1) * c.dilations[0] + 1 - c.pads[0] - c.pads[2]);
    c.iw = std::max<int64_t>(c.iw, (c.kw - 1) * c.dilations[1] + 1 - c.pads[1] - c.pads[3]);
    c.ih = std::max<int64_t>(c.ih, 1), c.iw = std::max<int64_t>(c.iw, 1);
    c.bias = pick(0, 1) == 1;
    c.residual = pick(0, 1) == 1;
    const int act = pick(0, 3);
    c.activation = act == 0 ? "" : act == 1 ? "Relu" : act == 2 ? "Clip" : "HardSwish";
    const bool depthwise = c.group == c.c && c.m == c.c;
    check_on_every_isa(c, depthwise ? "dwconv_f32" : "conv");
  }
}

TEST(ConvFast, DepthwiseWindows) {
  for (int64_t k : {3, 5})
    for (int64_t s : {1, 2})
      for (int variant = 0; variant < 3; ++variant) {
        Case c;
        c.label = "depthwise " + std::to_string(k) + "x" + std::to_string(k) + " s" +
                  std::to_string(s) + " v" + std::to_string(variant);
        c.c = c.m = c.group = 24;  // not a multiple of 16
        c.kh = c.kw = k;
        c.strides = {s, s};
        c.ih = 19, c.iw = 37;
        c.pads = {k / 2, k / 2, k / 2, k / 2};
        if (variant == 1) c.pads = {0, k - 1, k / 2, 0};  // asymmetric
        if (variant == 2) {
          c.residual = true;
          c.activation = k == 3 ? "Clip" : s == 1 ? "Relu" : "HardSwish";
          c.bias = false;
          c.n = 2;
        }
        check_on_every_isa(c, "dwconv_f32");
      }
}

TEST(ConvFast, DepthwiseAwkward) {
  std::vector<Case> cases;
  {
    Case c;
    c.label = "depthwise dilation 2 stride 2";
    c.c = c.m = c.group = 5, c.ih = 11, c.iw = 12, c.strides = {2, 2}, c.dilations = {2, 2};
    c.pads = {2, 2, 1, 2};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "depthwise pads larger than the kernel, 1-pixel input";
    c.c = c.m = c.group = 3, c.ih = 1, c.iw = 1, c.pads = {4, 3, 2, 5};
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "depthwise 1-pixel output";
    c.c = c.m = c.group = 33, c.ih = 5, c.iw = 5, c.kh = c.kw = 5;
    cases.push_back(c);
  }
  {
    Case c;
    c.label = "depthwise 2x4 window";
    c.c = c.m = c.group = 7, c.ih = 9, c.iw = 21, c.kh = 2, c.kw = 4, c.pads = {1, 2, 0, 1};
    cases.push_back(c);
  }
  for (const Case& c : cases) check_on_every_isa(c, "dwconv_f32");
}

TEST(ConvFast, FusedEpiloguesOnGemmPath) {
  for (const char* act : {"", "Relu", "Clip", "HardSwish"})
    for (bool residual : {false, true}) {
      if (!residual && std::string(act).empty()) continue;
      Case c;
      c.label = std::string("fused ") + act + (residual ? " + residual" : "");
      c.c = 20, c.m = 30, c.ih = 8, c.iw = 9, c.pads = {1, 1, 1, 1};
      c.residual = residual;
      c.activation = act;
      check_on_every_isa(c, "conv");
      c.kh = c.kw = 1, c.pads = {0, 0, 0, 0}, c.label += " 1x1";
      check_on_every_isa(c, "conv1x1");
    }
}

// Conv -> Add(residual) -> Relu / HardSwish: compiled for a SIMD level the three nodes become
// one fused conv; the result matches the unfused reference graph.
TEST(ConvFast, FusionPassConvAddRelu) {
  const std::vector<std::string> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no avx2 or avx512 level on this CPU (or under OCTET_MAX_ISA)";
  for (const std::string act_op : {"Relu", "HardSwish"}) {
    SCOPED_TRACE(act_op);
    auto g = std::make_shared<detail::Graph>();
    g->opsets[""] = 17;
    std::map<std::string, Tensor> feeds;
    auto input = [&](const std::string& name, Tensor t) {
      const int id = g->add_value(name);
      g->values[id].dtype = DType::f32;
      g->values[id].shape = t.shape();
      g->values[id].shape_known = true;
      g->inputs.push_back(id);
      feeds[name] = t;
      return id;
    };
    const int x = input("x", random_tensor({1, 16, 10, 10}, 7));
    const int z = input("z", random_tensor({1, 24, 10, 10}, 8));
    const int w = g->add_const("w", random_tensor({24, 16, 3, 3}, 9));
    const int b = g->add_const("b", random_tensor({24}, 10));
    const int c_out = g->add_value("conv_out"), a_out = g->add_value("add_out"), y = g->add_value("y");
    detail::Node conv;
    conv.name = "conv";
    conv.op_type = "Conv";
    conv.inputs = {x, w, b};
    conv.outputs = {c_out};
    conv.attrs["pads"] = ints_attr({1, 1, 1, 1});
    detail::Node add;
    add.name = "add";
    add.op_type = "Add";
    add.inputs = {z, c_out};
    add.outputs = {a_out};
    detail::Node relu;
    relu.name = "relu";
    relu.op_type = act_op;
    relu.inputs = {a_out};
    relu.outputs = {y};
    g->nodes = {conv, add, relu};
    g->outputs.push_back(y);
    g->toposort();

    auto compile = [&](const std::string& isa, std::string* described) {
      CompileOptions opt;
      opt.isa = isa;
      opt.threads = 1;
      CompiledModel cm = CompiledModel::compile(Model(g), opt);
      *described = cm.describe();
      Session s = cm.create_session();
      return s.run(feeds).at("y");
    };
    std::string ref_desc, fast_desc;
    const Tensor ref = compile("ref", &ref_desc);
    EXPECT_NE(ref_desc.find(" " + act_op), std::string::npos) << ref_desc;  // not fused on ref
    for (const std::string& isa : isas) {
      const Tensor fast = compile(isa, &fast_desc);
      // One fused conv (channels-last, between the layout conversions of x, z and y).
      EXPECT_NE(fast_desc.find("conv ConvNhwc"), std::string::npos) << fast_desc;
      EXPECT_EQ(fast_desc.find(" " + act_op), std::string::npos) << fast_desc;
      EXPECT_EQ(fast_desc.find(" Add "), std::string::npos) << fast_desc;
      ASSERT_EQ(fast.shape(), ref.shape());
      for (int64_t i = 0; i < ref.numel(); ++i)
        ASSERT_NEAR(fast.data_as<float>()[i], ref.data_as<float>()[i], 1e-4) << "element " << i;
    }
  }
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_NEAR(got.data_as<float>()[i], want.data_as<float>()[i], tol) << what << " element " << i;
}

// The layout pass on an FP32 graph: convs (3x3, 1x1, depthwise), a max pool with padding
// and ceil_mode, Relu, Add, Concat, BatchNormalization, Pad, AveragePool, GlobalAveragePool
// between them all run channels-last, with one conversion in and one out; the result
// matches the reference within FP32 rounding.
TEST(ConvFast, LayoutPassFp32Graph) {
  const std::vector<std::string> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no avx2 or avx512 level on this CPU (or under OCTET_MAX_ISA)";
  auto g = std::make_shared<detail::Graph>();
  g->opsets[""] = 17;
  const int x = g->add_value("x");
  g->values[x].dtype = DType::f32;
  g->values[x].shape = {1, 6, 13, 12};
  g->values[x].shape_known = true;
  g->inputs.push_back(x);
  uint32_t seed = 40;
  auto node = [&](const std::string& op, std::vector<int> in, const std::string& out) {
    detail::Node n;
    n.name = out;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {g->add_value(out)};
    g->nodes.push_back(n);
    return n.outputs[0];
  };
  auto conv = [&](int in, int64_t c, int64_t m, int64_t k, int64_t group, const std::string& out) {
    const int w = g->add_const(out + ".w", random_tensor({m, c / group, k, k}, seed++));
    const int b = g->add_const(out + ".b", random_tensor({m}, seed++));
    const int y = node("Conv", {in, w, b}, out);
    g->nodes.back().attrs["pads"] = ints_attr({k / 2, k / 2, k / 2, k / 2});
    detail::Attribute gr;
    gr.kind = detail::Attribute::Kind::int_;
    gr.i = group;
    g->nodes.back().attrs["group"] = gr;
    return y;
  };
  const int a = conv(x, 6, 16, 3, 1, "a");
  const int pool = node("MaxPool", {a}, "pool");
  g->nodes.back().attrs["kernel_shape"] = ints_attr({3, 3});
  g->nodes.back().attrs["strides"] = ints_attr({2, 2});
  g->nodes.back().attrs["pads"] = ints_attr({1, 0, 1, 1});
  detail::Attribute ceil;
  ceil.kind = detail::Attribute::Kind::int_;
  ceil.i = 1;
  g->nodes.back().attrs["ceil_mode"] = ceil;
  const int b = node("Relu", {conv(pool, 16, 16, 1, 1, "b")}, "b_relu");
  const int c = conv(pool, 16, 16, 3, 16, "c");
  const int sum = node("Add", {b, c}, "sum");
  // A constant Pad of zeros in front of an AveragePool without pads (count_include_pad as
  // exported by PyTorch): folded into the channels-last pool.
  Tensor zero_pads(DType::s64, {8});
  const int64_t zero_pad_values[8] = {0, 0, 2, 1, 0, 0, 0, 1};
  std::copy(zero_pad_values, zero_pad_values + 8, zero_pads.data_as<int64_t>());
  const int zero_padded = node("Pad", {sum, g->add_const("zero_pads", zero_pads)}, "zero_padded");
  const int sum_avg = node("AveragePool", {zero_padded}, "sum_avg");
  g->nodes.back().attrs["kernel_shape"] = ints_attr({3, 3});
  const int cat = node("Concat", {sum, pool, sum_avg}, "cat");
  detail::Attribute axis;
  axis.kind = detail::Attribute::Kind::int_;
  axis.i = 1;
  g->nodes.back().attrs["axis"] = axis;
  // BatchNormalization -> Relu -> Pad (edge mode) -> AveragePool (count_include_pad, dilation)
  // -> conv -> GlobalAveragePool.
  std::vector<int> bn_in = {cat};
  for (const char* what : {"scale", "bias", "mean"}) bn_in.push_back(g->add_const(std::string("bn.") + what, random_tensor({48}, seed++)));
  Tensor var = random_tensor({48}, seed++);
  for (int64_t i = 0; i < 48; ++i) var.data_as<float>()[i] = std::fabs(var.data_as<float>()[i]) + 0.1f;
  bn_in.push_back(g->add_const("bn.var", var));
  const int bn = node("Relu", {node("BatchNormalization", bn_in, "bn")}, "bn_relu");
  Tensor pads(DType::s64, {8});
  const int64_t pad_values[8] = {0, 0, 1, 2, 0, 0, 2, 0};
  std::copy(pad_values, pad_values + 8, pads.data_as<int64_t>());
  const int padded = node("Pad", {bn, g->add_const("pads", pads)}, "padded");
  detail::Attribute mode;
  mode.kind = detail::Attribute::Kind::string_;
  mode.s = "edge";
  g->nodes.back().attrs["mode"] = mode;
  const int avg = node("AveragePool", {padded}, "avg");
  g->nodes.back().attrs["kernel_shape"] = ints_attr({3, 2});
  g->nodes.back().attrs["pads"] = ints_attr({1, 1, 0, 1});
  g->nodes.back().attrs["dilations"] = ints_attr({1, 2});
  detail::Attribute include_pad;
  include_pad.kind = detail::Attribute::Kind::int_;
  include_pad.i = 1;
  g->nodes.back().attrs["count_include_pad"] = include_pad;
  const int y = node("GlobalAveragePool", {conv(avg, 48, 8, 1, 1, "z")}, "y");
  g->outputs.push_back(y);
  g->toposort();
  const std::map<std::string, Tensor> feeds = {{"x", random_tensor({1, 6, 13, 12}, 99)}};
  auto compile = [&](const std::string& isa, int threads, std::string* described) {
    CompileOptions opt;
    opt.isa = isa;
    opt.threads = threads;
    CompiledModel cm = CompiledModel::compile(Model(g), opt);
    *described = cm.describe();
    return cm.create_session().run(feeds).at("y");
  };
  std::string desc;
  const Tensor ref = compile("ref", 1, &desc);
  EXPECT_EQ(desc.find("Nhwc"), std::string::npos) << desc;
  for (const std::string& isa : isas) {
    const Tensor one = compile(isa, 1, &desc);
    auto count = [&](const std::string& what) {
      size_t n = 0;
      for (size_t at = desc.find(what); at != std::string::npos; at = desc.find(what, at + 1)) ++n;
      return n;
    };
    EXPECT_EQ(count(" ToNHWC "), 1u) << desc;
    EXPECT_EQ(count(" ToNCHW "), 1u) << desc;
    EXPECT_EQ(count(" ConvNhwc "), 4u) << desc;
    EXPECT_EQ(count(" MaxPoolNhwc "), 1u) << desc;
    EXPECT_EQ(count(" AveragePoolNhwc "), 3u) << desc;
    EXPECT_EQ(count(" BatchNormNhwc "), 1u) << desc;
    EXPECT_EQ(count(" Pad "), 1u) << desc;  // the edge-mode one; the zeros went into the pool
    const Tensor two = compile(isa, 2, &desc);
    expect_close(one, ref, 1e-4, "channels-last graph on " + isa);
    ASSERT_EQ(std::memcmp(one.data(), two.data(), one.nbytes()), 0) << "1 and 2 threads differ on " << isa;
  }
}


TEST(ConvFast, GemmWithConstantB) {
  const std::vector<std::string> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no avx2 or avx512 level on this CPU (or under OCTET_MAX_ISA)";
  const int64_t M = 5, K = 37, N = 45;
  struct GemmCase {
    bool trans_b;
    float alpha, beta;
    Shape c;  // empty: no C
  };
  const std::vector<GemmCase> cases = {{false, 1.0f, 1.0f, {}},       {true, 1.0f, 1.0f, {N}},
                                       {true, 0.5f, 2.0f, {1, N}},    {false, 1.0f, 1.0f, {M, N}},
                                       {false, 1.0f, 0.25f, {1}},     {true, 2.0f, 1.0f, {M, N}}};
  uint32_t seed = 50;
  for (const GemmCase& gc : cases) {
    testing::OpTest t("Gemm");
    t.attr("transB", gc.trans_b ? 1 : 0).attr("alpha", gc.alpha).attr("beta", gc.beta);
    t.input("a", random_tensor({M, K}, seed++));
    t.const_input("b", random_tensor(gc.trans_b ? Shape{N, K} : Shape{K, N}, seed++));
    if (!gc.c.empty()) {
      if (gc.c.size() == 2 && gc.c[0] == M)
        t.input("c", random_tensor(gc.c, seed++));  // a runtime [M, N] C
      else
        t.const_input("c", random_tensor(gc.c, seed++));
    }
    t.output("y");
    const Tensor want = t.run("ref").at(0);
    for (const std::string& isa : isas) {
      const Tensor one = t.run(isa, 1).at(0), two = t.run(isa, 2).at(0);
      expect_close(one, want, 1e-4 * (K + 4), "Gemm on " + isa);
      ASSERT_EQ(std::memcmp(one.data_as<float>(), two.data_as<float>(), one.nbytes()), 0);
    }
  }
}

TEST(ConvFast, MatMulWithConstantB) {
  const std::vector<std::string> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "no avx2 or avx512 level on this CPU (or under OCTET_MAX_ISA)";
  testing::OpTest t("MatMul");
  t.input("a", random_tensor({2, 3, 7, 33}, 71)).const_input("b", random_tensor({33, 19}, 72)).output("y");
  const Tensor want = t.run("ref").at(0);
  for (const std::string& isa : isas) expect_close(t.run(isa, 2).at(0), want, 1e-4 * 40, "MatMul on " + isa);
}

}  // namespace
}  // namespace octet
