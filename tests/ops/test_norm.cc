// Norm family: opset-dependent Softmax axis semantics, strided layouts, stats outputs and
// parameter broadcasting, BatchNormalization's training mode (batch statistics, running
// outputs, not folded into a Conv), and the failure modes (bad attributes).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

// These ops are exercised over [-2, 2) unless a test says otherwise.
Tensor random_f32(Shape shape, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  return testing::random_f32(std::move(shape), seed, lo, hi);
}

// Softmax of x seen as [outer, n, inner] along n.
std::vector<double> naive_softmax(const Tensor& x, int64_t outer, int64_t n, int64_t inner) {
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      double sum = 0;
      for (int64_t r = 0; r < n; ++r) sum += std::exp(double(x.data_as<float>()[(o * n + r) * inner + j]));
      for (int64_t r = 0; r < n; ++r) {
        const int64_t i = (o * n + r) * inner + j;
        y[i] = std::exp(double(x.data_as<float>()[i])) / sum;
      }
    }
  return y;
}

TEST(Softmax, AxisSemanticsDependOnOpset) {
  Tensor x = random_f32({2, 3, 4}, 5);
  // Opset 11: axis 1 flattens dims 1.. together: rows of 12.
  auto old = OpTest("Softmax", 11).attr("axis", 1).input("x", x).output("y").run();
  std::vector<double> ref_old = naive_softmax(x, 2, 12, 1);
  // Opset 13: axis 1 is the single axis of 3, with an inner stride of 4.
  auto now = OpTest("Softmax", 13).attr("axis", 1).input("x", x).output("y").run();
  std::vector<double> ref_now = naive_softmax(x, 2, 3, 4);
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_NEAR(old[0].data_as<float>()[i], ref_old[i], 1e-6) << i;
    EXPECT_NEAR(now[0].data_as<float>()[i], ref_now[i], 1e-6) << i;
  }
  // Opset 11's default axis is 1, opset 13's is -1.
  auto old_default = OpTest("Softmax", 11).input("x", x).output("y").run();
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(old_default[0].data_as<float>()[i], ref_old[i], 1e-6);
}

TEST(Softmax, LogSoftmaxAndHardmaxStrided) {
  Tensor x = random_f32({3, 5, 7}, 9);
  auto log = OpTest("LogSoftmax", 13).attr("axis", 1).input("x", x).output("y").run();
  std::vector<double> ref = naive_softmax(x, 3, 5, 7);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(log[0].data_as<float>()[i], std::log(ref[i]), 1e-5) << i;
  auto hard = OpTest("Hardmax", 13).attr("axis", 1).input("x", x).output("y").run();
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t j = 0; j < 7; ++j) {
      int64_t best = 0;
      for (int64_t r = 1; r < 5; ++r)
        if (x.data_as<float>()[(o * 5 + r) * 7 + j] > x.data_as<float>()[(o * 5 + best) * 7 + j]) best = r;
      for (int64_t r = 0; r < 5; ++r)
        EXPECT_EQ(hard[0].data_as<float>()[(o * 5 + r) * 7 + j], r == best ? 1.0f : 0.0f);
    }
}

TEST(Softmax, LargeInputsStayFinite) {
  auto x = make_tensor<float>(DType::f32, {1, 3}, {10000.0f, 10001.0f, 10002.0f});
  auto sm = OpTest("Softmax", 13).input("x", x).output("y").run();
  auto lsm = OpTest("LogSoftmax", 13).input("x", x).output("y").run();
  const double denom = 1 + std::exp(-1.0) + std::exp(-2.0);
  EXPECT_NEAR(sm[0].data_as<float>()[2], 1 / denom, 1e-6);
  EXPECT_NEAR(lsm[0].data_as<float>()[2], -std::log(denom), 1e-6);
  EXPECT_NEAR(lsm[0].data_as<float>()[0], -2 - std::log(denom), 1e-6);
}

TEST(LayerNorm, PartialScaleBroadcastAndStats) {
  Tensor x = random_f32({2, 3, 4}, 3);
  auto scale = make_tensor<float>(DType::f32, {4}, {1, 2, 3, 4});  // broadcast over [3, 4]
  auto out = OpTest("LayerNormalization", 17).attr("axis", 1).attr("epsilon", 1e-3f).input("x", x)
                 .const_input("s", scale).output("y").output("mean").output("inv").run();
  ASSERT_EQ(out[1].shape(), (Shape{2, 1, 1}));
  for (int64_t r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < 12; ++i) mean += x.data_as<float>()[r * 12 + i];
    mean /= 12;
    for (int64_t i = 0; i < 12; ++i) var += std::pow(x.data_as<float>()[r * 12 + i] - mean, 2);
    var /= 12;
    const double inv = 1 / std::sqrt(var + 1e-3);
    EXPECT_NEAR(out[1].data_as<float>()[r], mean, 1e-6);
    EXPECT_NEAR(out[2].data_as<float>()[r], inv, 1e-5);
    for (int64_t i = 0; i < 12; ++i)
      EXPECT_NEAR(out[0].data_as<float>()[r * 12 + i], (x.data_as<float>()[r * 12 + i] - mean) * inv * (i % 4 + 1),
                  1e-5);
  }
  OpTest bad("LayerNormalization", 17);
  bad.attr("axis", 1).input("x", x).const_input("s", random_f32({5}, 1)).output("y");
  EXPECT_THROW(bad.run(), Error);
}

TEST(BatchNorm, RankTwoInput) {
  Tensor x = random_f32({4, 3}, 2);
  auto p = [](std::vector<float> v) { return make_tensor<float>(DType::f32, {3}, v); };
  auto y = OpTest("BatchNormalization", 15).input("x", x).const_input("s", p({1, 2, 3})).const_input("b", p({0, 1, 0}))
               .const_input("m", p({0.5f, 0, -1})).const_input("v", p({1, 4, 0.25f})).output("y").run();
  const float s[] = {1, 2, 3}, b[] = {0, 1, 0}, m[] = {0.5f, 0, -1}, v[] = {1, 4, 0.25f};
  for (int64_t i = 0; i < 12; ++i) {
    const int64_t c = i % 3;
    EXPECT_NEAR(y[0].data_as<float>()[i], (x.data_as<float>()[i] - m[c]) / std::sqrt(v[c] + 1e-5) * s[c] + b[c], 1e-5);
  }
}

// Training mode against the formulas in double: per channel, the batch mean and population
// variance over N and the spatial dims normalise Y; running_mean = input_mean * momentum +
// mean * (1 - momentum), running_var likewise with the population variance.
struct BatchNormTrainingCase {
  Tensor x;
  std::vector<float> scale, bias, mean, var;
  float epsilon = 1e-5f, momentum = 0.9f;
};

void expect_training_outputs(const BatchNormTrainingCase& t, const std::vector<Tensor>& out) {
  const Shape& s = t.x.shape();
  const int64_t n = s[0], channels = s[1], spatial = t.x.numel() / (n * channels);
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0, squares = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < spatial; ++i) sum += t.x.data_as<float>()[(b * channels + c) * spatial + i];
    const double mean = sum / double(n * spatial);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < spatial; ++i) {
        const double d = t.x.data_as<float>()[(b * channels + c) * spatial + i] - mean;
        squares += d * d;
      }
    const double var = squares / double(n * spatial);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < spatial; ++i) {
        const int64_t k = (b * channels + c) * spatial + i;
        const double want = (t.x.data_as<float>()[k] - mean) / std::sqrt(var + t.epsilon) * t.scale[c] + t.bias[c];
        EXPECT_NEAR(out[0].data_as<float>()[k], want, 1e-5 * (1 + std::fabs(want))) << "channel " << c << " element " << k;
      }
    if (out.size() > 1) {
      EXPECT_NEAR(out[1].data_as<float>()[c], t.mean[c] * t.momentum + mean * (1 - t.momentum), 1e-5 * (1 + std::fabs(mean)))
          << "running_mean " << c;
    }
    if (out.size() > 2) {
      EXPECT_NEAR(out[2].data_as<float>()[c], t.var[c] * t.momentum + var * (1 - t.momentum), 1e-5 * (1 + var))
          << "running_var " << c;
    }
  }
}

OpTest batchnorm_training(const BatchNormTrainingCase& t, int64_t opset, int outputs) {
  auto vec = [](const std::vector<float>& v) { return make_tensor<float>(DType::f32, {int64_t(v.size())}, v); };
  OpTest op("BatchNormalization", opset);
  op.attr("training_mode", 1).attr("epsilon", t.epsilon).attr("momentum", t.momentum);
  op.input("x", t.x).const_input("s", vec(t.scale)).const_input("b", vec(t.bias)).input("m", vec(t.mean))
      .input("v", vec(t.var));
  const char* names[] = {"y", "running_mean", "running_var"};
  for (int i = 0; i < outputs; ++i) op.output(names[i]);
  return op;
}

TEST(BatchNorm, TrainingModeNormalisesWithTheBatchStatistics) {
  BatchNormTrainingCase t;
  t.x = random_f32({3, 3, 4, 5}, 40);
  // Channel 1 sits far from 0: the batch mean dwarfs its spread.
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t i = 0; i < 20; ++i) t.x.data_as<float>()[(b * 3 + 1) * 20 + i] += 1000.0f;
  t.scale = {1.5f, -0.5f, 2};
  t.bias = {0.25f, 1, -3};
  t.mean = {0.1f, 999, -2};
  t.var = {1, 0.5f, 3};
  t.epsilon = 1e-3f;
  t.momentum = 0.8f;
  for (int64_t opset : {14, 15})
    for (int threads : {1, 2}) {
      SCOPED_TRACE("opset " + std::to_string(opset) + ", threads " + std::to_string(threads));
      const std::vector<Tensor> out = batchnorm_training(t, opset, 3).run("auto", threads);
      ASSERT_EQ(out.size(), 3u);
      EXPECT_EQ(out[1].shape(), Shape{3});
      EXPECT_EQ(out[2].shape(), Shape{3});
      expect_training_outputs(t, out);
    }
  // Y alone; and a rank-2 (N, C) input, whose statistics are over N only.
  expect_training_outputs(t, batchnorm_training(t, 15, 1).run());
  BatchNormTrainingCase r;
  r.x = random_f32({6, 2}, 41);
  r.scale = {1, 2};
  r.bias = {0, 1};
  r.mean = {0, 0};
  r.var = {1, 1};
  expect_training_outputs(r, batchnorm_training(r, 15, 3).run());
}

TEST(BatchNorm, TrainingModeRunningStatisticsTakeTheirInputsDtype) {
  // Opset 15: input_mean / input_var (and so the running outputs) may be f64 beside an f32 X.
  const Tensor x = make_tensor<float>(DType::f32, {2, 1, 2}, {1, 2, 3, 6});  // mean 3, variance 3.5
  const Tensor one = make_tensor<float>(DType::f32, {1}, {1}), zero = make_tensor<float>(DType::f32, {1}, {0});
  OpTest op("BatchNormalization", 15);
  op.attr("training_mode", 1).input("x", x).const_input("s", one).const_input("b", zero)
      .const_input("m", make_tensor<double>(DType::f64, {1}, {10})).const_input("v", make_tensor<double>(DType::f64, {1}, {2}))
      .output("y").output("running_mean").output("running_var");
  const std::vector<Tensor> out = op.run();
  ASSERT_EQ(out[1].dtype(), DType::f64);
  ASSERT_EQ(out[2].dtype(), DType::f64);
  const double momentum = 0.9f;  // the attribute's default, a float
  EXPECT_NEAR(out[1].data_as<double>()[0], 10 * momentum + 3 * (1 - momentum), 1e-12);
  EXPECT_NEAR(out[2].data_as<double>()[0], 2 * momentum + 3.5 * (1 - momentum), 1e-12);
  EXPECT_NEAR(out[0].data_as<float>()[3], (6 - 3) / std::sqrt(3.5 + 1e-5), 1e-5);
}

void expect_error(OpTest t, const std::string& part) {
  try {
    t.run();
    ADD_FAILURE() << "no error; expected one containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(BatchNorm, TrainingModeErrors) {
  BatchNormTrainingCase t;
  t.x = random_f32({2, 2, 3}, 42);
  t.scale = t.bias = t.mean = t.var = {1, 1};
  expect_error(batchnorm_training(t, 15, 3).attr("training_mode", 2), "training_mode must be 0 or 1");
  expect_error(batchnorm_training(t, 12, 1), "training_mode exists from opset 14 on");
  OpTest four = batchnorm_training(t, 15, 3);
  four.output("saved_mean");
  expect_error(four, "at most 3 outputs");
  expect_error(batchnorm_training(t, 15, 3).attr("training_mode", 0), "running mean/var outputs exist only with training_mode=1");
}

TEST(BatchNorm, TrainingModeIsNotFoldedIntoAConv) {
  // Conv -> BatchNormalization(training_mode=1) with constant parameters: the fold pass must
  // leave it (the batch statistics are not the constant ones), so optimised and unoptimised
  // runs agree and the node stays.
  auto g = std::make_shared<detail::Graph>();
  g->opsets[""] = 15;
  const int x = g->add_value("x");
  g->values[x].dtype = DType::f32;
  g->values[x].shape = {2, 2, 5, 5};
  g->values[x].shape_known = true;
  g->inputs.push_back(x);
  auto node = [&](const std::string& op, std::vector<int> ins, const std::string& out) -> detail::Node& {
    detail::Node n;
    n.name = op + "_" + out;
    n.op_type = op;
    n.inputs = std::move(ins);
    n.outputs = {g->add_value(out)};
    g->nodes.push_back(n);
    return g->nodes.back();
  };
  const int w = g->add_const("w", random_f32({3, 2, 3, 3}, 43));
  const int conv = node("Conv", {x, w}, "conv").outputs[0];
  auto c3 = [&](const std::string& name, std::vector<float> v) { return g->add_const(name, make_tensor<float>(DType::f32, {3}, v)); };
  detail::Node& bn = node("BatchNormalization", {conv, c3("s", {1, 2, 0.5f}), c3("b", {0, 1, -1}), c3("m", {5, 5, 5}), c3("v", {9, 9, 9})}, "y");
  detail::Attribute training;
  training.kind = detail::Attribute::Kind::int_;
  training.i = 1;
  bn.attrs["training_mode"] = training;
  g->outputs.push_back(bn.outputs[0]);
  g->toposort();
  const Model model(g);
  const std::map<std::string, Tensor> feeds{{"x", random_f32({2, 2, 5, 5}, 44)}};
  std::vector<Tensor> results;
  for (bool optimize : {false, true}) {
    CompileOptions opt;
    opt.isa = "ref";
    opt.optimize = optimize;
    CompiledModel cm = CompiledModel::compile(model, opt);
    EXPECT_NE(cm.describe().find("BatchNormalization"), std::string::npos) << "optimize=" << optimize;
    results.push_back(cm.create_session().run(feeds).at("y"));
  }
  ASSERT_EQ(results[0].shape(), results[1].shape());
  for (int64_t i = 0; i < results[0].numel(); ++i)
    EXPECT_NEAR(results[0].data_as<float>()[i], results[1].data_as<float>()[i], 1e-5) << i;
  // Batch statistics: each output channel of Y has mean B[c] (whatever the constant mean was).
  for (int64_t c = 0; c < 3; ++c) {
    double sum = 0;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < 9; ++i) sum += results[1].data_as<float>()[(b * 3 + c) * 9 + i];
    EXPECT_NEAR(sum / 18, c == 0 ? 0.0 : c == 1 ? 1.0 : -1.0, 1e-5) << c;
  }
}

TEST(GroupNorm, MatchesNaiveWithPerGroupAndPerChannelScale) {
  Tensor x = random_f32({2, 4, 3}, 4);
  auto per_group = make_tensor<float>(DType::f32, {2}, {2.0f, 0.5f});
  auto bias = make_tensor<float>(DType::f32, {2}, {1.0f, -1.0f});
  auto y = OpTest("GroupNormalization", 18).attr("num_groups", 2).input("x", x).const_input("s", per_group)
               .const_input("b", bias).output("y").run();
  auto per_channel = make_tensor<float>(DType::f32, {4}, {2.0f, 2.0f, 0.5f, 0.5f});
  auto bias_c = make_tensor<float>(DType::f32, {4}, {1.0f, 1.0f, -1.0f, -1.0f});
  auto yc = OpTest("GroupNormalization", 21).attr("num_groups", 2).input("x", x).const_input("s", per_channel)
                .const_input("b", bias_c).output("y").run();
  for (int64_t blk = 0; blk < 4; ++blk) {  // (n, group) blocks of 6 contiguous values
    const float* xb = x.data_as<float>() + blk * 6;
    double mean = 0, var = 0;
    for (int i = 0; i < 6; ++i) mean += xb[i];
    mean /= 6;
    for (int i = 0; i < 6; ++i) var += (xb[i] - mean) * (xb[i] - mean);
    var /= 6;
    const int g = blk % 2;
    for (int i = 0; i < 6; ++i) {
      double ref = (xb[i] - mean) / std::sqrt(var + 1e-5) * (g ? 0.5 : 2.0) + (g ? -1.0 : 1.0);
      EXPECT_NEAR(y[0].data_as<float>()[blk * 6 + i], ref, 1e-5);
      EXPECT_NEAR(yc[0].data_as<float>()[blk * 6 + i], ref, 1e-5);
    }
  }
  OpTest bad("GroupNormalization", 18);
  bad.attr("num_groups", 3).input("x", x).const_input("s", per_group).const_input("b", bias).output("y");
  EXPECT_THROW(bad.run(), Error);
}

TEST(LpNorm, L1AndZeroVector) {
  auto x = make_tensor<float>(DType::f32, {2, 3}, {1, -2, 1, 0, 0, 0});
  auto y = OpTest("LpNormalization", 13).attr("p", 1).input("x", x).output("y").run();
  const float expected[] = {0.25f, -0.5f, 0.25f, 0, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y[0].data_as<float>()[i], expected[i]);
  OpTest bad("LpNormalization", 13);
  bad.attr("p", 3).input("x", x).output("y");
  EXPECT_THROW(bad.run(), Error);
}

TEST(Mvn, CustomAxes) {
  Tensor x = random_f32({2, 3, 4}, 8);
  auto y = OpTest("MeanVarianceNormalization", 13).attr("axes", std::vector<int64_t>{0, 2}).input("x", x)
               .output("y").run();
  for (int64_t c = 0; c < 3; ++c) {
    double mean = 0, sq = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 4; ++i) {
        const double v = x.data_as<float>()[(n * 3 + c) * 4 + i];
        mean += v;
        sq += v * v;
      }
    mean /= 8;
    const double sd = std::sqrt(sq / 8 - mean * mean);
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 4; ++i) {
        const int64_t k = (n * 3 + c) * 4 + i;
        EXPECT_NEAR(y[0].data_as<float>()[k], (x.data_as<float>()[k] - mean) / (sd + 1e-9), 1e-5);
      }
  }
}

TEST(Lrn, EvenWindowSize) {
  Tensor x = random_f32({1, 5, 2}, 6);
  const float alpha = 0.1f, beta = 0.75f, bias = 2.0f;
  auto y = OpTest("LRN", 13).attr("size", 4).attr("alpha", alpha).attr("beta", beta).attr("bias", bias)
               .input("x", x).output("y").run();
  for (int64_t c = 0; c < 5; ++c)
    for (int64_t i = 0; i < 2; ++i) {
      double sq = 0;  // window [c - 1, c + 2]
      for (int64_t k = std::max<int64_t>(0, c - 1); k <= std::min<int64_t>(4, c + 2); ++k)
        sq += std::pow(x.data_as<float>()[k * 2 + i], 2);
      const double ref = x.data_as<float>()[c * 2 + i] / std::pow(bias + alpha / 4 * sq, beta);
      EXPECT_NEAR(y[0].data_as<float>()[c * 2 + i], ref, 1e-6);
    }
}

}  // namespace
}  // namespace octet
