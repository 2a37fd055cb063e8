// The channels-last layout pass (passes/layout_nhwc.cc) and the ops it places: conversions
// only at the edges of NHWC regions, results bit-identical to the reference ISA (which keeps
// NCHW), with 1 and 2 threads, and the SQNR report unchanged by it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ops/octet_ops.h"
#include "quant_test_util.h"
#include "runtime/program.h"

namespace octet::testing {
namespace {

// Builds QOperator graphs over u8 (or s8) tensors whose quantization parameters are "<value>.s"
// and "<value>.z".
class QNet {
 public:
  explicit QNet(bool s8) : s8_(s8), rng_(5) {
    auto* os = b_.model().add_opset_import();
    os->set_domain("com.microsoft");
    os->set_version(1);
    auto* oc = b_.model().add_opset_import();
    oc->set_domain(detail::kOctetDomain);
    oc->set_version(1);
  }
  ModelBuilder& builder() { return b_; }
  int q8() const { return s8_ ? TP::INT8 : TP::UINT8; }

  void params(const std::string& v) {
    std::uniform_real_distribution<float> sd(0.02f, 0.06f);
    std::uniform_int_distribution<int> zd(s8_ ? -10 : 110, s8_ ? 10 : 140);
    params(v, sd(rng_), zd(rng_));
  }
  void params(const std::string& v, float scale, int zero) {
    scale_[v] = scale;
    zero_[v] = zero;
    b_.initializer(tensor_f32(v + ".s", {}, {scale}));
    if (s8_) b_.initializer(tensor_of<int8_t>(v + ".z", TP::INT8, {}, {static_cast<int8_t>(zero)}));
    else b_.initializer(tensor_of<uint8_t>(v + ".z", TP::UINT8, {}, {static_cast<uint8_t>(zero)}));
  }
  void input(const std::string& v, const std::vector<int64_t>& dims) {
    b_.input(v, q8(), std::vector<Dim>(dims.begin(), dims.end()));
    params(v);
  }
  // y = QLinearConv(x) with m output channels, a k x k window (stride, pad on every side), group.
  void conv(const std::string& x, const std::string& y, int64_t c, int64_t m, int64_t k, int64_t stride = 1,
            int64_t pad = 0, int64_t group = 1) {
    std::uniform_int_distribution<int> wd(-100, 100);
    std::vector<int8_t> w(static_cast<size_t>(m * (c / group) * k * k));
    for (auto& v : w) v = static_cast<int8_t>(wd(rng_));
    std::uniform_int_distribution<int32_t> bd(-3000, 3000);
    std::vector<int32_t> bias(static_cast<size_t>(m));
    for (auto& v : bias) v = bd(rng_);
    b_.initializer(tensor_of<int8_t>(y + ".w", TP::INT8, {m, c / group, k, k}, w));
    b_.initializer(tensor_f32(y + ".ws", {}, {0.004f}));
    b_.initializer(tensor_of<int8_t>(y + ".wz", TP::INT8, {}, {0}));
    b_.initializer(tensor_of<int32_t>(y + ".b", TP::INT32, {m}, bias));
    params(y);
    auto* n = b_.node("QLinearConv", {x, x + ".s", x + ".z", y + ".w", y + ".ws", y + ".wz", y + ".s", y + ".z", y + ".b"},
                      {y}, y);
    attr_ints(n, "kernel_shape", {k, k});
    attr_ints(n, "strides", {stride, stride});
    attr_ints(n, "pads", {pad, pad, pad, pad});
    attr_i(n, "group", group);
  }
  void add(const std::string& a, const std::string& b, const std::string& y) {
    params(y);
    b_.node("QLinearAdd", {a, a + ".s", a + ".z", b, b + ".s", b + ".z", y + ".s", y + ".z"}, {y}, y,
            "com.microsoft");
  }
  // y = octet.LookupQ8(x) with a random table (what fuse_qdq makes of a HardSwish; here any
  // table will do); y takes new parameters, as after a HardSwish.
  void lookup(const std::string& x, const std::string& y) {
    std::vector<uint8_t> table(256);
    for (auto& v : table) v = static_cast<uint8_t>(rng_());
    b_.initializer(tensor_of<uint8_t>(y + ".table", TP::UINT8, {256}, table));
    params(y);
    b_.node(detail::kOpLookupQ8, {x, y + ".table"}, {y}, y, detail::kOctetDomain);
  }
  void maxpool(const std::string& x, const std::string& y, int64_t k, int64_t stride, int64_t pad) {
    auto* n = b_.node(detail::kOpMaxPool, {x}, {y}, y, detail::kOctetDomain);
    attr_ints(n, "kernel_shape", {k, k});
    attr_ints(n, "strides", {stride, stride});
    attr_ints(n, "pads", {pad, pad, pad, pad});
    params(y, scale_.at(x), zero_.at(x));  // a max pool keeps its input's parameters
  }
  // y = QLinearAveragePool(x), k x k, stride 1, no pads of its own.
  void avg_pool(const std::string& x, const std::string& y, int64_t k, bool count_include_pad) {
    params(y);
    auto* n = b_.node("QLinearAveragePool", {x, x + ".s", x + ".z", y + ".s", y + ".z"}, {y}, y, "com.microsoft");
    attr_ints(n, "kernel_shape", {k, k});
    attr_i(n, "count_include_pad", count_include_pad ? 1 : 0);
  }
  // y = x padded by p on every spatial side with x's zero point: as an 8-bit Pad, or as
  // DequantizeLinear -> f32 Pad with 0 -> QuantizeLinear with x's parameters.
  void zero_point_pad(const std::string& x, const std::string& y, int64_t p, bool through_float) {
    params(y, scale_.at(x), zero_.at(x));
    b_.initializer(tensor_of<int64_t>(y + ".pads", TP::INT64, {8}, {0, 0, p, p, 0, 0, p, p}));
    if (!through_float) {
      b_.node("Pad", {x, y + ".pads", x + ".z"}, {y}, y);
      return;
    }
    b_.initializer(tensor_f32(y + ".zero_f", {}, {0.0f}));
    b_.node("DequantizeLinear", {x, x + ".s", x + ".z"}, {y + ".f"}, y + ".dq");
    b_.node("Pad", {y + ".f", y + ".pads", y + ".zero_f"}, {y + ".fp"}, y + ".pad");
    b_.node("QuantizeLinear", {y + ".fp", y + ".s", y + ".z"}, {y}, y + ".q");
  }
  // y = Concat(inputs) on channels; the inputs must share y's parameters (what fuse_qdq makes).
  void concat(const std::vector<std::string>& inputs, const std::string& y) {
    params(y, scale_.at(inputs[0]), zero_.at(inputs[0]));
    auto* n = b_.node("Concat", inputs, {y}, y);
    attr_i(n, "axis", 1);
  }
  void global_avg(const std::string& x, const std::string& y) {
    params(y);
    b_.node("QLinearGlobalAveragePool", {x, x + ".s", x + ".z", y + ".s", y + ".z"}, {y}, y, "com.microsoft");
  }
  void output(const std::string& v) { b_.output_untyped(v); }

 private:
  bool s8_;
  ModelBuilder b_;
  std::mt19937 rng_;
  std::map<std::string, float> scale_;
  std::map<std::string, int> zero_;
};

std::multiset<std::string> op_types(const CompiledModel& c) {
  std::multiset<std::string> ops;
  for (const auto& n : c.program()->graph.nodes) ops.insert(n.op_type);
  return ops;
}

// How many times `what` occurs in `text` (kernel names in a program's description).
size_t occurrences(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

CompiledModel compile(const Model& m, const std::string& isa, int threads) {
  CompileOptions o;
  o.isa = isa;
  o.threads = threads;
  return CompiledModel::compile(m, o);
}

// Compiles m on every SIMD ISA (fast variants too) with 2 threads, hands the program to
// `check` (its op types and a description for messages), and expects its outputs to equal
// 1 thread's and, on the exact ISAs, the reference ISA's bit for bit.
void on_every_simd_isa(const Model& m, const std::map<std::string, Tensor>& feeds, const std::string& label,
                       const std::function<void(const CompiledModel&, const std::multiset<std::string>&,
                                                const std::string&)>& check) {
  const auto want = compile(m, "ref", 1).create_session().run(feeds);
  for (const std::string& isa : isas(/*with_fast=*/true)) {
    if (isa == "ref") continue;
    const CompiledModel c = compile(m, isa, 2);
    const std::string where = label + " on " + isa + "\n" + c.describe();
    check(c, op_types(c), where);
    const bool fast = isa.find("fast") != std::string::npos;
    const auto one = compile(m, isa, 1).create_session().run(feeds);
    EXPECT_TRUE(bit_identical(one, c.create_session().run(feeds))) << "1 vs 2 threads, " << where;
    if (!fast) {
      EXPECT_TRUE(bit_identical(want, one)) << "vs ref, " << where;
    }
  }
}

// A ResNet-like block and its surroundings: stem conv, max pool, two convs and a residual
// add, a 1x1 conv, a depthwise conv; then a depthwise conv with a channel multiplier (no
// channels-last kernel: NCHW) and a global average pool (NCHW). The stem conv's output is
// also a graph output.
Model block_net(bool s8) {
  QNet q(s8);
  q.input("x", {1, 5, 19, 17});
  q.conv("x", "stem", 5, 24, 3, 2, 1);
  q.maxpool("stem", "pool", 3, 2, 1);
  q.conv("pool", "a", 24, 24, 3, 1, 1);
  q.conv("a", "b", 24, 24, 1);
  q.add("b", "pool", "sum");
  q.conv("sum", "c", 24, 40, 1);
  q.conv("c", "dw", 40, 40, 3, 2, 1, 40);
  q.conv("dw", "dw2", 40, 80, 3, 1, 1, 40);
  q.global_avg("dw2", "y");
  q.output("y");
  q.output("stem");
  return load_model(q.builder());
}

TEST(LayoutNhwc, ConversionsOnlyAtTheEdges) {
  for (bool s8 : {false, true}) {
    const Model m = block_net(s8);
    EXPECT_EQ(op_types(compile(m, "ref", 1)).count("ToNHWC"), 0u) << "the reference ISA keeps NCHW";
    if (isas().size() < 2) GTEST_SKIP() << "only the reference ISA on this machine: the pass does not run";
    std::mt19937 rng(11);
    on_every_simd_isa(m, {{"x", random_q8({1, 5, 19, 17}, s8, rng)}}, s8 ? "s8" : "u8",
                      [](const CompiledModel& c, const std::multiset<std::string>& ops, const std::string& where) {
                        // x in; back to NCHW for the stem output, and before the channel-multiplier conv.
                        EXPECT_EQ(ops.count("ToNHWC"), 1u) << where;
                        EXPECT_EQ(ops.count("ToNCHW"), 2u) << where;
                        EXPECT_EQ(ops.count("QLinearConvNhwc"), 5u) << where;
                        EXPECT_EQ(ops.count("QLinearConv"), 1u) << where;  // the channel-multiplier one
                        EXPECT_EQ(ops.count("MaxPoolNhwc"), 1u) << where;
                        EXPECT_EQ(ops.count("QLinearAdd"), 0u) << where;  // taken by conv b
                        EXPECT_NE(c.describe().find("+qadd"), std::string::npos) << where;
                      });
  }
}

// An Inception-like block: branches of convs and average pools behind zero-point Pads (an
// 8-bit Pad, and DequantizeLinear -> f32 Pad -> QuantizeLinear), an 8-bit Concat of all of
// them, a global average pool: everything channels-last, the Pads folded into the pools.
Model inception_net(bool s8) {
  QNet q(s8);
  q.input("x", {1, 6, 11, 9});
  q.conv("x", "a", 6, 16, 3, 1, 1);
  q.conv("a", "b", 16, 8, 1);
  q.zero_point_pad("a", "pa", 1, /*through_float=*/true);
  q.avg_pool("pa", "pool_a", 3, false);
  q.conv("pool_a", "c", 16, 8, 1);
  q.zero_point_pad("a", "pb", 1, /*through_float=*/false);
  q.avg_pool("pb", "pool_b", 3, true);
  q.concat({"b", "c", "pool_b"}, "cat");
  q.global_avg("cat", "y");
  q.output("y");
  return load_model(q.builder());
}

TEST(LayoutNhwc, PoolsAndConcatStayChannelsLast) {
  for (bool s8 : {false, true}) {
    std::mt19937 rng(12);
    on_every_simd_isa(inception_net(s8), {{"x", random_q8({1, 6, 11, 9}, s8, rng)}}, s8 ? "s8" : "u8",
                      [](const CompiledModel&, const std::multiset<std::string>& ops, const std::string& where) {
                        EXPECT_EQ(ops.count("ToNHWC"), 1u) << where;  // x
                        EXPECT_EQ(ops.count("ToNCHW"), 1u) << where;  // y
                        EXPECT_EQ(ops.count("QLinearAveragePoolNhwc"), 3u) << where;
                        EXPECT_EQ(ops.count("Pad") + ops.count("DequantizeLinear") + ops.count("QuantizeLinear"), 0u)
                            << where;
                        EXPECT_EQ(ops.count("Concat"), 1u) << where;
                      });
  }
}

// A Pad whose value is not the zero point stays (and so does the pool's NCHW form).
TEST(LayoutNhwc, OtherPadsAreKept) {
  QNet q(false);
  q.input("x", {1, 4, 7, 7});
  q.conv("x", "a", 4, 8, 3, 1, 1);
  q.params("pa", 0.05f, 0);
  auto& b = q.builder();
  b.initializer(tensor_of<int64_t>("pa.pads", TP::INT64, {8}, {0, 0, 1, 1, 0, 0, 1, 1}));
  b.initializer(tensor_of<uint8_t>("pa.value", TP::UINT8, {}, {7}));
  b.node("Pad", {"a", "pa.pads", "pa.value"}, {"pa"}, "pad");
  q.avg_pool("pa", "y", 3, false);
  q.output("y");
  const Model m = load_model(b);
  std::mt19937 rng(5);
  const std::map<std::string, Tensor> feeds = {{"x", random_q8({1, 4, 7, 7}, false, rng)}};
  const auto want = compile(m, "ref", 1).create_session().run(feeds);
  for (const std::string& isa : isas()) {
    if (isa == "ref") continue;
    const CompiledModel c = compile(m, isa, 2);
    EXPECT_EQ(op_types(c).count("Pad"), 1u) << c.describe();
    EXPECT_TRUE(bit_identical(want, c.create_session().run(feeds))) << isa;
  }
}

// A QLinearAdd fuses into the conv before it when that conv's output is read by nothing else
// and with the conv's output parameters, on either side of the add; otherwise it stays.
TEST(LayoutNhwc, ResidualAddFusesIntoConv) {
  for (bool s8 : {false, true}) {
    QNet q(s8);
    // 72 channels: whole 64-column panels and a ragged tail in the GEMM's fused epilogue.
    q.input("x", {1, 72, 9, 8});
    q.conv("x", "a", 72, 72, 3, 1, 1);
    q.conv("a", "b", 72, 72, 1);
    q.add("x", "b", "s1");       // b on the B side: fuses
    q.conv("s1", "c", 72, 72, 3, 1, 1);
    q.add("c", "s1", "s2");      // c on the A side: fuses
    q.conv("s2", "d", 72, 72, 1);
    q.add("d", "s2", "s3");      // d is also a graph output: stays
    q.conv("s3", "e", 72, 72, 1);
    q.add("e", "e", "s4");       // e read twice by the add: stays
    q.output("s4");
    q.output("d");
    const Model m = load_model(q.builder());
    std::mt19937 rng(21);
    on_every_simd_isa(m, {{"x", random_q8({1, 72, 9, 8}, s8, rng)}}, s8 ? "s8" : "u8",
                      [](const CompiledModel& c, const std::multiset<std::string>& ops, const std::string& where) {
                        EXPECT_EQ(ops.count("QLinearAdd"), 2u) << where;
                        EXPECT_EQ(occurrences(c.describe(), "+qadd"), 2u) << where;
                      });
  }
}

// A lookup (a HardSwish) after a channels-last conv folds into it, after a GEMM conv, a
// depthwise one, an implicit-GEMM one and one with a fused add; it stays where the conv's
// output is read twice or is a graph output. Bit-identical to the reference (which runs
// octet.LookupQ8 on its own) on every level, 1 and 2 threads.
TEST(LayoutNhwc, LookupFusesIntoConv) {
  for (bool s8 : {false, true}) {
    QNet q(s8);
    q.input("x", {1, 16, 9, 30});
    q.conv("x", "a", 16, 24, 3, 1, 1);  // implicit GEMM on VNNI (30-pixel rows)
    q.lookup("a", "ha");
    q.conv("ha", "b", 24, 24, 3, 2, 1, 24);  // depthwise, stride 2
    q.lookup("b", "hb");
    q.conv("hb", "c", 24, 40, 1);  // 1x1
    q.lookup("c", "hc");
    q.conv("hc", "d", 40, 40, 1);
    q.add("d", "hc", "s");  // fused into conv d, then the lookup after it
    q.lookup("s", "hs");
    q.conv("hs", "e", 40, 40, 3, 1, 1);  // gathered (rows of 15)
    q.lookup("e", "he");
    q.conv("he", "f", 40, 8, 1);
    q.lookup("f", "hf");  // f is also a graph output: stays
    q.output("hf");
    q.output("f");
    const Model m = load_model(q.builder());
    std::mt19937 rng(41);
    on_every_simd_isa(m, {{"x", random_q8({1, 16, 9, 30}, s8, rng)}}, s8 ? "s8" : "u8",
                      [](const CompiledModel& c, const std::multiset<std::string>& ops, const std::string& where) {
                        EXPECT_EQ(ops.count("LookupQ8"), 1u) << where;
                        const std::string d = c.describe();
                        EXPECT_EQ(occurrences(d, "+lookup"), 5u) << where;
                        EXPECT_NE(d.find("+qadd+lookup"), std::string::npos) << where;
                        EXPECT_NE(d.find("qconv_depthwise+"), std::string::npos) << where;
                      });
  }
}

// octet's own quantization of Conv -> HardSwish chains (a GEMM conv, a depthwise one): the
// HardSwish runs on 8-bit values as a table folded into the conv before it on every SIMD
// level, standalone on the reference; the same bits everywhere.
TEST(LayoutNhwc, QuantizedHardSwishFusesIntoConv) {
  std::mt19937 rng(17);
  ModelBuilder b(14);
  b.input("x", TP::FLOAT, {1, 8, 12, 12});
  b.output("y", TP::FLOAT, {1, 16, 12, 12});
  auto conv = [&](const std::string& name, const std::string& x, int64_t cin, int64_t cout, int64_t group) {
    b.initializer(tensor_f32(name + "_w", {cout, cin / group, 3, 3}, random_floats(size_t(cout * cin / group * 9), rng, -0.4f, 0.4f)));
    b.initializer(tensor_f32(name + "_b", {cout}, random_floats(size_t(cout), rng, -0.5f, 0.5f)));
    auto* n = b.node("Conv", {x, name + "_w", name + "_b"}, {name}, name);
    attr_ints(n, "pads", {1, 1, 1, 1});
    attr_i(n, "group", group);
  };
  conv("c1", "x", 8, 16, 1);
  b.node("HardSwish", {"c1"}, {"h1"}, "hswish1");
  conv("c2", "h1", 16, 16, 16);  // depthwise
  b.node("HardSwish", {"c2"}, {"h2"}, "hswish2");
  conv("c3", "h2", 16, 16, 1);
  b.node("HardSwish", {"c3"}, {"y"}, "hswish3");
  const Model m = load_model(b);
  const auto calibration = random_samples("x", {1, 8, 12, 12}, 4, 23, -3.0f, 3.0f);
  const Sample sample = random_samples("x", {1, 8, 12, 12}, 1, 29, -3.0f, 3.0f)[0];
  const CompiledModel ref = compile_int8(m, calibration, "ref");
  EXPECT_EQ(op_types(ref).count("LookupQ8"), 2u) << ref.describe();  // the last one's output stays f32
  const auto want = ref.create_session().run(sample);
  for (const std::string& isa : isas(true)) {
    if (isa == "ref") continue;
    const CompiledModel c = compile_int8(m, calibration, isa);
    const std::string d = c.describe();
    EXPECT_EQ(op_types(c).count("LookupQ8"), 0u) << d;
    EXPECT_NE(d.find("qconv_depthwise+"), std::string::npos) << d;
    EXPECT_EQ(occurrences(d, "+lookup"), 2u) << d;
    if (isa.find("fast") == std::string::npos)
      EXPECT_TRUE(bit_identical(want, c.create_session().run(sample))) << isa;
  }
}

// Stride-1 convs with rows of 24+ pixels read the padded image in place on VNNI (implicit
// GEMM, one kernel row of taps per A segment): pads 0 / 1 / 2 / 4 (larger than the kernel),
// 3x3 and 5x5, channel counts that give 12- to 40-byte segments, a fused add behind one;
// bit-identical to the reference everywhere. 3 channels (9-byte segments) gather instead.
TEST(LayoutNhwc, ImplicitGemmConvsMatchReference) {
  for (bool s8 : {false, true}) {
    QNet q(s8);
    q.input("x", {1, 8, 7, 29});
    q.conv("x", "a", 8, 8, 3, 1, 1);    // 24-byte segments, pad 1
    q.conv("a", "b", 8, 4, 5, 1, 2);    // 40-byte segments, pad 2
    q.conv("b", "c", 4, 8, 3, 1, 0);    // 12-byte segments, no pad: 27-wide output
    q.conv("c", "d", 8, 8, 3, 1, 4);    // pad larger than the kernel
    q.conv("d", "e", 8, 8, 3, 1, 1);
    q.add("e", "d", "f");               // fused into conv e
    q.conv("f", "g", 8, 3, 1);
    q.conv("g", "h", 3, 8, 3, 1, 1);    // 9-byte segments: gathered
    q.output("h");
    const Model m = load_model(q.builder());
    std::mt19937 rng(31);
    on_every_simd_isa(m, {{"x", random_q8({1, 8, 7, 29}, s8, rng)}}, s8 ? "s8" : "u8",
                      [](const CompiledModel& c, const std::multiset<std::string>&, const std::string& where) {
                        if (where.find(" on vnni") == std::string::npos) return;
                        const std::string d = c.describe();
                        EXPECT_EQ(occurrences(d, "qconv_implicit"), 5u) << where;
                        EXPECT_NE(d.find("qconv_implicit_nhwc_io+gemm_u8s8_vnni_jit_6x64+qadd"), std::string::npos)
                            << where;
                      });
  }
}

// An add whose other input comes straight from the graph input gets that input converted;
// an add with a broadcast input stays NCHW.
TEST(LayoutNhwc, AddsFollowTheirInputs) {
  QNet q(false);
  q.input("x", {1, 8, 6, 6});
  q.input("bias", {1, 8, 1, 1});
  q.conv("x", "a", 8, 8, 3, 1, 1);
  q.add("a", "x", "sum");
  q.add("sum", "bias", "shifted");
  q.output("shifted");
  const Model m = load_model(q.builder());
  std::mt19937 rng(3);
  const std::map<std::string, Tensor> feeds = {{"x", random_q8({1, 8, 6, 6}, false, rng)},
                                               {"bias", random_q8({1, 8, 1, 1}, false, rng)}};
  const auto want = compile(m, "ref", 1).create_session().run(feeds);
  for (const std::string& isa : isas()) {
    if (isa == "ref") continue;
    const CompiledModel c = compile(m, isa, 2);
    const auto ops = op_types(c);
    EXPECT_EQ(ops.count("ToNHWC"), 1u) << c.describe();  // x, shared by the conv and the add
    EXPECT_EQ(ops.count("ToNCHW"), 1u) << c.describe();  // sum, for the broadcasting add
    EXPECT_TRUE(bit_identical(want, c.create_session().run(feeds))) << isa;
  }
}

// octet.MaxPoolNhwc on its own against ONNX MaxPool (reference ISA) on the transposed input.
TEST(LayoutNhwc, MaxPoolNhwcMatchesMaxPool) {
  struct PoolCase {
    std::vector<int64_t> x, kernel, strides, pads, dilations;
    int64_t ceil_mode;
    bool s8;
  };
  const std::vector<PoolCase> cases = {
      {{1, 5, 17, 17}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0, false},
      {{2, 3, 8, 9}, {2, 2}, {2, 2}, {}, {}, 0, false},
      {{1, 4, 10, 11}, {3, 3}, {2, 2}, {0, 0, 1, 1}, {}, 1, true},
      {{1, 35, 12, 12}, {3, 2}, {1, 3}, {1, 0, 2, 1}, {2, 2}, 0, false},
      {{1, 2, 7, 7}, {3, 3}, {3, 3}, {}, {}, 1, true},
      {{1, 64, 40, 40}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0, true},
  };
  std::mt19937 rng(78);
  for (const PoolCase& c : cases) {
    auto build = [&](bool nhwc) {
      ModelBuilder b(13);
      auto* os = b.model().add_opset_import();
      os->set_domain(detail::kOctetDomain);
      os->set_version(1);
      std::vector<int64_t> dims = c.x;
      if (nhwc) dims = {c.x[0], c.x[2], c.x[3], c.x[1]};
      b.input("x", c.s8 ? TP::INT8 : TP::UINT8, std::vector<Dim>(dims.begin(), dims.end()));
      b.output_untyped("y");
      auto* n =
          b.node(nhwc ? detail::kOpMaxPoolNhwc : "MaxPool", {"x"}, {"y"}, "pool", nhwc ? detail::kOctetDomain : "");
      attr_ints(n, "kernel_shape", c.kernel);
      attr_ints(n, "strides", c.strides);
      if (!c.pads.empty()) attr_ints(n, "pads", c.pads);
      if (!c.dilations.empty()) attr_ints(n, "dilations", c.dilations);
      attr_i(n, "ceil_mode", c.ceil_mode);
      return load_model(b);
    };
    const Tensor x = random_q8(c.x, c.s8, rng);
    const Tensor want = compile(build(false), "ref", 1).create_session().run({{"x", x}}).at("y");
    const int64_t N = c.x[0], C = c.x[1], HW = c.x[2] * c.x[3];
    Tensor xt(x.dtype(), {N, c.x[2], c.x[3], C});
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t p = 0; p < HW; ++p)
          xt.data_as<uint8_t>()[(n * HW + p) * C + ch] = x.data_as<uint8_t>()[(n * C + ch) * HW + p];
    for (const std::string& isa : isas())
      for (int threads : {1, 2}) {
        const Tensor got = compile(build(true), isa, threads).create_session().run({{"x", xt}}).at("y");
        const Shape& ys = want.shape();
        ASSERT_EQ(got.shape(), (Shape{ys[0], ys[2], ys[3], ys[1]}));
        const int64_t OHW = ys[2] * ys[3];
        int64_t mismatches = 0;
        for (int64_t n = 0; n < ys[0]; ++n)
          for (int64_t ch = 0; ch < ys[1]; ++ch)
            for (int64_t p = 0; p < OHW; ++p)
              mismatches += got.data_as<uint8_t>()[(n * OHW + p) * ys[1] + ch] !=
                            want.data_as<uint8_t>()[(n * ys[1] + ch) * OHW + p];
        EXPECT_EQ(mismatches, 0) << "pool case C" << C << " x" << c.x[2] << " on " << isa << ", " << threads
                                 << " threads";
      }
  }
}

// octet.ToNHWC / octet.ToNCHW on u8 and f32 against the index formula, on shapes that cut into
// several tiles both ways (C > 64, H * W > 1024), with 1 and 2 threads; and back again.
TEST(LayoutNhwc, ConversionsTransposeExactly) {
  // 67 channels (16 x 16 blocks and ragged edges); 3, 1 and 15 (fewer than a block: the
  // small-channel path), over several pieces of the pool split.
  const std::vector<std::vector<int64_t>> shapes = {{2, 67, 35, 33}, {1, 3, 45, 47}, {2, 1, 7, 9}, {1, 15, 33, 35}};
  for (const std::vector<int64_t>& dims : shapes)
  for (int type : {int(TP::UINT8), int(TP::FLOAT)}) {
    ModelBuilder b(13);
    auto* os = b.model().add_opset_import();
    os->set_domain(detail::kOctetDomain);
    os->set_version(1);
    b.input("x", type, std::vector<Dim>(dims.begin(), dims.end()));
    b.output_untyped("t");
    b.output_untyped("y");
    b.node(detail::kOpToNhwc, {"x"}, {"t"}, "to", detail::kOctetDomain);
    b.node(detail::kOpToNchw, {"t"}, {"y"}, "back", detail::kOctetDomain);
    const Model m = load_model(b);
    std::mt19937 rng(8);
    Tensor x = type == TP::FLOAT ? random_tensor(dims, rng) : random_q8(dims, false, rng);
    const size_t es = dtype_size(x.dtype());
    for (const std::string& isa : isas())
      for (int threads : {1, 2}) {
        const auto out = compile(m, isa, threads).create_session().run({{"x", x}});
        const Tensor& t = out.at("t");
        ASSERT_EQ(t.shape(), (Shape{dims[0], dims[2], dims[3], dims[1]}));
        int64_t wrong = 0;
        const int64_t C = dims[1], HW = dims[2] * dims[3];
        for (int64_t n = 0; n < dims[0]; ++n)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t p = 0; p < HW; ++p)
              wrong += std::memcmp(static_cast<const char*>(t.data()) + ((n * HW + p) * C + c) * es,
                                   static_cast<const char*>(x.data()) + ((n * C + c) * HW + p) * es, es) != 0;
        EXPECT_EQ(wrong, 0) << isa << ", " << threads << " threads, " << dims[1] << " channels";
        EXPECT_EQ(std::memcmp(out.at("y").data(), x.data(), x.nbytes()), 0) << isa << ", " << threads << " threads";
      }
  }
}

// Internal ops reached from a model file get clear errors, not crashes.
TEST(LayoutNhwc, InternalOpsRejectBadInput) {
  ModelBuilder b(13);
  auto* os = b.model().add_opset_import();
  os->set_domain(detail::kOctetDomain);
  os->set_version(1);
  b.input("x", TP::INT32, {1, 3, 4, 4});  // only u8 / s8 / f32 are converted
  b.output_untyped("y");
  b.node(detail::kOpToNhwc, {"x"}, {"y"}, "t", detail::kOctetDomain);
  EXPECT_THROW(CompiledModel::compile(load_model(b)), Error);

  ModelBuilder b2(13);
  auto* os2 = b2.model().add_opset_import();
  os2->set_domain(detail::kOctetDomain);
  os2->set_version(1);
  b2.input("x", TP::UINT8, {1, 3, 4});
  b2.output_untyped("y");
  b2.node(detail::kOpToNchw, {"x"}, {"y"}, "t", detail::kOctetDomain);
  EXPECT_THROW(CompiledModel::compile(load_model(b2)), Error);

  // A QLinearConvNhwc without constant weights has no kernel.
  QNet q(false);
  q.input("x", {1, 4, 4, 3});
  q.input("w", {2, 3, 1, 1});
  q.params("y");
  q.builder().initializer(tensor_f32("ws", {}, {0.1f}));
  q.builder().initializer(tensor_of<int8_t>("wz", TP::INT8, {}, {0}));
  q.builder().node(detail::kOpQLinearConvNhwc, {"x", "x.s", "x.z", "w", "ws", "wz", "y.s", "y.z"}, {"y"}, "c",
                   detail::kOctetDomain);
  q.output("y");
  for (const std::string& isa : isas()) {
    CompileOptions o;
    o.isa = isa;
    EXPECT_THROW(CompiledModel::compile(load_model(q.builder()), o), Error) << isa;
  }

  // A fused add (inputs 9-13) whose residual has the wrong shape, or whose sum scale is 0,
  // or so small that the quotient overflows int32: refused with an error, on every level
  // (case 3, all well formed, compiles).
  for (int bad = 0; bad < 4; ++bad) {
    QNet f(false);
    f.input("x", {1, 4, 4, 8});
    f.input("r", {1, 4, 4, bad == 0 ? 7 : 8});
    f.params("y");
    f.params("s", bad == 1 ? 0.0f : bad == 2 ? 1e-9f : 0.05f, 128);
    auto& fb = f.builder();
    fb.initializer(tensor_of<int8_t>("w", TP::INT8, {8, 8, 1, 1}, std::vector<int8_t>(64, 3)));
    fb.initializer(tensor_f32("ws", {}, {0.01f}));
    fb.node(detail::kOpQLinearConvNhwc,
            {"x", "x.s", "x.z", "w", "ws", "", "y.s", "y.z", "", "r", "r.s", "r.z", "s.s", "s.z"}, {"y"}, "c",
            detail::kOctetDomain);
    f.output("y");
    for (const std::string& isa : isas()) {
      if (isa == "ref") continue;  // the reference level has no channels-last kernels at all
      CompileOptions o;
      o.isa = isa;
      if (bad == 3) EXPECT_NO_THROW(CompiledModel::compile(load_model(fb), o)) << isa;
      else EXPECT_THROW(CompiledModel::compile(load_model(fb), o), Error) << isa << " case " << bad;
    }
  }
}

// A fused lookup table (input 14) that is not 256 constant bytes, or fused add parameters
// without the add's input: refused on every level (case 3, well formed, compiles).
TEST(LayoutNhwc, FusedLookupRejectsBadInput) {
  for (int bad = 0; bad < 4; ++bad) {
    QNet f(false);
    f.input("x", {1, 4, 4, 8});
    f.params("y");
    auto& fb = f.builder();
    fb.initializer(tensor_of<int8_t>("w", TP::INT8, {8, 8, 1, 1}, std::vector<int8_t>(64, 3)));
    fb.initializer(tensor_f32("ws", {}, {0.01f}));
    fb.initializer(tensor_of<uint8_t>("t", TP::UINT8, {bad == 0 ? 255 : 256}, std::vector<uint8_t>(bad == 0 ? 255 : 256, 7)));
    fb.initializer(tensor_of<int8_t>("t8", TP::INT8, {256}, std::vector<int8_t>(256, 7)));
    std::vector<std::string> in = {"x", "x.s", "x.z", "w", "ws", "", "y.s", "y.z", "", "", "", "", "", ""};
    if (bad == 1) in.push_back("t8");  // wrong type
    else in.push_back("t");
    if (bad == 2) in[detail::QLinearConvNhwcIn::kSumScale] = "y.s";  // add parameters without the add
    fb.node(detail::kOpQLinearConvNhwc, in, {"y"}, "c", detail::kOctetDomain);
    f.output("y");
    for (const std::string& isa : isas()) {
      if (isa == "ref") continue;  // the reference level has no channels-last kernels at all
      CompileOptions o;
      o.isa = isa;
      if (bad == 3) EXPECT_NO_THROW(CompiledModel::compile(load_model(fb), o)) << isa;
      else EXPECT_THROW(CompiledModel::compile(load_model(fb), o), Error) << isa << " case " << bad;
    }
  }
}

// The SQNR report compares NHWC values through their twins, and the values a fused residual
// add hides on the program without that fusion: the same figures on every ISA.
TEST(LayoutNhwc, SqnrReportUnchanged) {
  const Model m = load_model(conv_net());
  const auto calibration = random_samples("x", {1, 3, 16, 16}, 4, 21);
  const std::vector<LayerError> want = compile_int8(m, calibration, "ref").quantization_report();
  ASSERT_FALSE(want.empty());
  for (const std::string& isa : isas()) {
    if (isa == "ref") continue;
    const CompiledModel c = compile_int8(m, calibration, isa);
    EXPECT_GT(op_types(c).count("QLinearConvNhwc"), 0u) << "the pass must have run:\n" << c.describe();
    // The residual add fused into a conv, so the report ran on the program without that fusion.
    EXPECT_NE(c.describe().find("+qadd"), std::string::npos) << c.describe();
    const std::vector<LayerError> report = c.quantization_report();
    ASSERT_EQ(report.size(), want.size()) << isa;
    for (size_t i = 0; i < report.size(); ++i) {
      EXPECT_EQ(report[i].tensor, want[i].tensor);
      if (std::isnan(want[i].sqnr_db)) EXPECT_TRUE(std::isnan(report[i].sqnr_db)) << report[i].tensor;
      else EXPECT_NEAR(report[i].sqnr_db, want[i].sqnr_db, 1e-9) << report[i].tensor << " on " << isa;
    }
  }
}

}  // namespace
}  // namespace octet::testing
