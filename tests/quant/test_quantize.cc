// The quantizer: parameter choice, weight quantization, QDQ -> INT8 structure, and how close
// INT8 stays to FP32 on synthetic models.
#include <algorithm>
#include <set>

#include "quant/calibration.h"
#include "quant/quantize_qdq.h"
#include "quant_test_util.h"
#include "runtime/program.h"

namespace octet::testing {
namespace {

std::multiset<std::string> op_types(const CompiledModel& m) {
  std::multiset<std::string> ops;
  for (const auto& n : m.program()->graph.nodes) ops.insert(n.op_type);
  return ops;
}

TEST(QuantParams, U8RangeAlwaysHoldsZeroExactly) {
  for (auto r : {detail::Range{-1.0f, 3.0f}, detail::Range{0.5f, 2.0f}, detail::Range{-4.0f, -1.0f},
                 detail::Range{0.0f, 6.0f}, detail::Range{-0.001f, 1000.0f}}) {
    float scale;
    int32_t zp;
    detail::u8_params(r, &scale, &zp);
    EXPECT_GT(scale, 0);
    EXPECT_GE(zp, 0);
    EXPECT_LE(zp, 255);
    // Real zero is the zero point, and both ends of the range are within half a step.
    const float lo = std::min(r.lo, 0.0f), hi = std::max(r.hi, 0.0f);
    EXPECT_NEAR((0 - zp) * scale, lo, scale * 0.5f + 1e-6f);
    EXPECT_NEAR((255 - zp) * scale, hi, scale * 0.5f + 1e-6f);
  }
  float scale;
  int32_t zp;
  detail::u8_params({0, 0}, &scale, &zp);  // an all-zero tensor
  EXPECT_EQ(zp, 0);
  EXPECT_GT(scale, 0);
}

// QuantizeLinear -> DequantizeLinear through the engine, with calibrated-style parameters.
TEST(QuantParams, QuantizeDequantizeRoundTrip) {
  float scale;
  int32_t zp;
  detail::u8_params({-2.0f, 5.0f}, &scale, &zp);
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {1, 1000});
  b.output("y", TP::FLOAT, {1, 1000});
  b.initializer(tensor_f32("s", {}, {scale}));
  TP z;
  z.set_name("z");
  z.set_data_type(TP::UINT8);
  const uint8_t zb = static_cast<uint8_t>(zp);
  z.set_raw_data(&zb, 1);
  b.initializer(z);
  b.node("QuantizeLinear", {"x", "s", "z"}, {"q"});
  b.node("DequantizeLinear", {"q", "s", "z"}, {"y"});
  std::mt19937 rng(1);
  Tensor x = random_tensor({1, 1000}, rng, -3.0f, 6.0f);
  for (const std::string& isa : isas()) {
    CompileOptions o;
    o.precision = Precision::int8;  // a QDQ model: runs as it is, no calibration needed
    o.isa = isa;
    Tensor y = CompiledModel::compile(load_model(b), o).create_session().run({{"x", x}}).at("y");
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = x.data_as<float>()[i], d = y.data_as<float>()[i];
      const float clamped = std::min(std::max(v, (0 - zp) * scale), (255 - zp) * scale);
      ASSERT_NEAR(d, clamped, scale * 0.5f + 1e-5f) << "x=" << v << " on " << isa;
      // Dequantized values are on the grid: quantizing them again gives them back.
      const float q = std::nearbyint(d / scale) + static_cast<float>(zp);
      ASSERT_FLOAT_EQ((q - zp) * scale, d);
    }
  }
}

TEST(QuantParams, WeightsPerChannelSymmetric) {
  std::mt19937 rng(3);
  Tensor w = random_tensor({4, 3, 3, 3}, rng, -1, 1);
  w.data_as<float>()[27] = 5.0f;  // channel 1 has a large weight
  for (int64_t i = 54; i < 81; ++i) w.data_as<float>()[i] = 0.0f;  // channel 2 is all zero
  Tensor q, s;
  detail::quantize_weights_s8(w, 0, &q, &s);
  ASSERT_EQ(q.dtype(), DType::s8);
  ASSERT_EQ(s.numel(), 4);
  for (int64_t c = 0; c < 4; ++c) {
    const float scale = s.data_as<float>()[c];
    int max_q = 0;
    for (int64_t i = 0; i < 27; ++i) {
      const int v = q.data_as<int8_t>()[c * 27 + i];
      EXPECT_GE(v, -127);
      EXPECT_LE(v, 127);
      max_q = std::max(max_q, std::abs(v));
      EXPECT_NEAR(v * scale, w.data_as<float>()[c * 27 + i], scale * 0.5f + 1e-7f);
    }
    if (c != 2) {
      EXPECT_EQ(max_q, 127) << "channel " << c << " does not use the full range";
    }
  }
  EXPECT_FLOAT_EQ(s.data_as<float>()[1], 5.0f / 127.0f);
  // Along axis 1 (MatMul / Gemm weights [K, N]): one scale per column.
  Tensor w2 = random_tensor({5, 7}, rng), q2, s2;
  detail::quantize_weights_s8(w2, 1, &q2, &s2);
  ASSERT_EQ(s2.numel(), 7);
  for (int64_t k = 0; k < 5; ++k)
    for (int64_t n = 0; n < 7; ++n)
      EXPECT_NEAR(q2.data_as<int8_t>()[k * 7 + n] * s2.data_as<float>()[n], w2.data_as<float>()[k * 7 + n],
                  s2.data_as<float>()[n] * 0.5f + 1e-7f);
}

TEST(QuantParams, SevenBitWeightsUseTheirWholeRange) {
  std::mt19937 rng(4);
  Tensor w = random_tensor({3, 2, 3, 3}, rng, -1, 1), q, s;
  detail::quantize_weights_s8(w, 0, &q, &s, 7);
  for (int64_t c = 0; c < 3; ++c) {
    int max_q = 0;
    for (int64_t i = 0; i < 18; ++i) {
      const int v = q.data_as<int8_t>()[c * 18 + i];
      EXPECT_GE(v, -63);
      EXPECT_LE(v, 63);
      max_q = std::max(max_q, std::abs(v));
      EXPECT_NEAR(v * s.data_as<float>()[c], w.data_as<float>()[c * 18 + i], s.data_as<float>()[c] * 0.5f + 1e-7f);
    }
    EXPECT_EQ(max_q, 63) << "channel " << c;
  }
  EXPECT_THROW(detail::quantize_weights_s8(w, 0, &q, &s, 6), Error);
  CompileOptions o;
  o.precision = Precision::int8;
  o.calibration_data = random_samples("x", {1, 3, 16, 16}, 2, 1);
  o.weight_bits = 9;
  EXPECT_THROW(CompiledModel::compile(load_model(conv_net()), o), Error);
}

// Every quantizable op of the conv net becomes its INT8 form; Relu / Clip are folded away;
// Softmax stays FP32 and reads the f32 output of QGemm.
TEST(Quantize, ConvNetBecomesInt8Graph) {
  Model m = load_model(conv_net());
  CompiledModel q = compile_int8(m, random_samples("x", {1, 3, 16, 16}, 8, 5), "ref");
  const auto ops = op_types(q);
  EXPECT_EQ(ops.count("QLinearConv"), 7u) << q.describe();
  EXPECT_EQ(ops.count("QLinearAdd"), 1u) << q.describe();
  EXPECT_EQ(ops.count("QLinearAveragePool"), 1u) << q.describe();
  EXPECT_EQ(ops.count("QLinearGlobalAveragePool"), 1u) << q.describe();
  EXPECT_EQ(ops.count("QGemm"), 1u) << q.describe();
  EXPECT_EQ(ops.count("Concat") + ops.count("QLinearConcat"), 1u) << q.describe();
  for (const char* gone : {"Conv", "Relu", "Clip", "Add", "Gemm", "AveragePool", "GlobalAveragePool", "DequantizeLinear"})
    EXPECT_EQ(ops.count(gone), 0u) << gone << " left in\n" << q.describe();
  EXPECT_EQ(ops.count("QuantizeLinear"), 1u) << "only the graph input should be quantized by a Q node\n" << q.describe();
  EXPECT_EQ(ops.count("Softmax"), 1u);
  // 8-bit data movement.
  for (const auto& n : q.program()->graph.nodes)
    if (n.op_type == "MaxPool" || n.op_type == "Resize" || n.op_type == "Flatten" || n.op_type == "Concat") {
      EXPECT_EQ(q.program()->graph.values[n.outputs[0]].dtype, DType::u8) << n.op_type;
    }
  // The report covers every quantized activation with a finite SQNR.
  const auto report = q.quantization_report();
  ASSERT_FALSE(report.empty());
  int float_outputs = 0;
  for (const auto& e : report) {
    EXPECT_FALSE(std::isnan(e.sqnr_db)) << e.tensor;
    EXPECT_GT(e.sqnr_db, 15.0) << e.tensor;
    if (e.scale == 0) {
      ++float_outputs;  // the QGemm's f32 output
      EXPECT_EQ(e.op, "Gemm");
      EXPECT_FALSE(e.note.empty());
    }
  }
  EXPECT_EQ(float_outputs, 1);
}

TEST(Quantize, Int8StaysCloseToFp32) {
  for (int which = 0; which < 2; ++which) {
    const ModelBuilder b = which == 0 ? conv_net() : matmul_net();
    const Shape shape = which == 0 ? Shape{1, 3, 16, 16} : Shape{1, 4, 8};
    Model m = load_model(b);
    // Calibrated on the very samples it runs: no clipping, only rounding error remains.
    const auto samples = random_samples("x", shape, 8, 99);
    CompiledModel f = CompiledModel::compile(m);
    CompiledModel q = compile_int8(m, samples, "auto");
    Session fs = f.create_session(), qs = q.create_session();
    for (const auto& sample : samples) {
      const auto a = fs.run(sample), c = qs.run(sample);
      for (const auto& kv : a) {
        float peak = 0;
        for (int64_t i = 0; i < kv.second.numel(); ++i) peak = std::max(peak, std::fabs(kv.second.data_as<float>()[i]));
        EXPECT_LT(max_abs_diff(kv.second, c.at(kv.first)), 0.08f * peak + 1e-3f) << kv.first << " model " << which;
      }
    }
  }
}

TEST(Quantize, MatMulBiasBecomesGemmAndActivationMatMulStaysFp32) {
  CompiledModel q = compile_int8(load_model(matmul_net()), random_samples("x", {1, 4, 8}, 8, 2), "ref");
  const auto ops = op_types(q);
  EXPECT_EQ(ops.count("QGemm"), 1u) << q.describe();
  EXPECT_EQ(ops.count("QLinearMatMul"), 1u) << q.describe();
  EXPECT_EQ(ops.count("MatMul"), 2u) << q.describe();  // activation x activation
}

TEST(Quantize, NeedsCalibrationData) {
  CompileOptions o;
  o.precision = Precision::int8;
  try {
    CompiledModel::compile(load_model(conv_net()), o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("calibration"), std::string::npos) << e.what();
  }
  // Samples that do not match the model's input are an Error too, not a crash.
  o.calibration_data = random_samples("not_x", {1, 3, 16, 16}, 1, 1);
  EXPECT_THROW(CompiledModel::compile(load_model(conv_net()), o), Error);
}

TEST(Quantize, EveryMethodProducesAWorkingModel) {
  Model m = load_model(conv_net());
  const auto calibration = random_samples("x", {1, 3, 16, 16}, 8, 5);
  const auto sample = random_samples("x", {1, 3, 16, 16}, 1, 77)[0];
  const Tensor ref = CompiledModel::compile(m).create_session().run(sample).at("logits");
  for (CalibrationMethod method : {CalibrationMethod::minmax, CalibrationMethod::percentile,
                                   CalibrationMethod::entropy, CalibrationMethod::mse}) {
    CompiledModel q = compile_int8(m, calibration, "auto", method);
    const Tensor y = q.create_session().run(sample).at("logits");
    float peak = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) peak = std::max(peak, std::fabs(ref.data_as<float>()[i]));
    // A sanity bound (random weights, 8 samples): a broken range would be far off.
    EXPECT_LT(max_abs_diff(ref, y), 0.4f * peak) << "method " << static_cast<int>(method);
  }
}

}  // namespace
}  // namespace octet::testing
