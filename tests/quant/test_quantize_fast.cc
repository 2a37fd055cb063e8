// QuantizeLinear and DequantizeLinear with constant per-tensor parameters: the SIMD kernels
// (quantize_q8.h) against the reference op, bit for bit, on ragged lengths (tails of every
// size, chunks split over 2 threads) and awkward values (exact halves, NaN, infinities,
// values far outside the 8-bit range, -0), u8 and s8, on every ISA the machine has.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "quant_test_util.h"

namespace octet::testing {
namespace {

const std::vector<int64_t> kLengths = {1, 7, 31, 32, 33, 63, 100, 1000, 70001};

std::vector<std::string> simd_isas() {
  std::vector<std::string> out;
  for (const std::string& isa : isas())
    if (isa != "ref") out.push_back(isa);
  return out;
}

// A scalar zero-point initializer named "z" (u8, or s8 when `s8`).
TP zero_point_initializer(int32_t zero, bool s8) {
  TP z;
  z.set_name("z");
  z.set_data_type(s8 ? TP::INT8 : TP::UINT8);
  const auto byte = static_cast<uint8_t>(zero);
  z.set_raw_data(&byte, 1);
  return z;
}

// x: length n; the zero point's dtype picks the output dtype.
Model quantize_model(int64_t n, float scale, int32_t zero, bool s8, bool as_inputs) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {n});
  b.output_untyped("y");
  if (as_inputs) {  // parameters fed at run time: the reference kernel runs on every ISA
    b.input("s", TP::FLOAT, {});
    b.input("z", s8 ? TP::INT8 : TP::UINT8, {});
  } else {
    b.initializer(tensor_f32("s", {}, {scale}));
    b.initializer(zero_point_initializer(zero, s8));
  }
  b.node("QuantizeLinear", {"x", "s", "z"}, {"y"}, "quantize");
  return load_model(b);
}

Model dequantize_model(int64_t n, float scale, int32_t zero, bool s8) {
  ModelBuilder b(13);
  b.input("q", s8 ? TP::INT8 : TP::UINT8, {n});
  b.output_untyped("y");
  b.initializer(tensor_f32("s", {}, {scale}));
  b.initializer(zero_point_initializer(zero, s8));
  b.node("DequantizeLinear", {"q", "s", "z"}, {"y"}, "dequantize");
  return load_model(b);
}

std::map<std::string, Tensor> run_on(const Model& m, const std::string& isa, int threads,
                                     const std::map<std::string, Tensor>& feeds, std::string* describe) {
  CompileOptions o;
  o.isa = isa;
  o.threads = threads;
  CompiledModel c = CompiledModel::compile(m, o);
  *describe = c.describe();
  return c.create_session().run(feeds);
}

// Values around the rounding and saturation edges of `scale`, plus the special floats.
std::vector<float> awkward_values(int64_t n, float scale, std::mt19937& rng) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> special = {nan, inf, -inf, -0.0f, 0.0f, 1e30f, -1e30f, 3e9f, -3e9f,
                                      std::numeric_limits<float>::denorm_min()};
  std::uniform_real_distribution<float> wide(-400.0f, 400.0f);
  std::uniform_int_distribution<int> half(-300, 300);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (i % 5) {
      case 0: v[i] = (static_cast<float>(half(rng)) + 0.5f) * scale; break;  // ties: to even
      case 1: v[i] = special[static_cast<size_t>(i / 5) % special.size()]; break;
      default: v[i] = wide(rng) * scale; break;
    }
  }
  return v;
}

TEST(QuantizeFast, QuantizeLinearMatchesReference) {
  const std::vector<std::string> targets = simd_isas();
  if (targets.empty()) GTEST_SKIP() << "no AVX2 on this CPU: only the reference QuantizeLinear runs here";
  std::mt19937 rng(5);
  struct Param {
    float scale;
    int32_t zero;
    bool s8;
  };
  const std::vector<Param> params = {{0.02f, 128, false}, {0.0173f, 0, false}, {3e-5f, 255, false},
                                     {0.5f, 0, true},     {0.011f, -128, true}, {7.0f, 127, true}};
  for (const Param& p : params)
    for (int64_t n : kLengths) {
      Tensor x(DType::f32, {n});
      const std::vector<float> v = awkward_values(n, p.scale, rng);
      std::copy(v.begin(), v.end(), x.data_as<float>());
      Tensor s(DType::f32, {});
      *s.data_as<float>() = p.scale;
      Tensor z(p.s8 ? DType::s8 : DType::u8, {});
      *static_cast<uint8_t*>(z.data()) = static_cast<uint8_t>(p.zero);
      std::string describe;
      const auto want = run_on(quantize_model(n, p.scale, p.zero, p.s8, true), "ref", 1,
                               {{"x", x}, {"s", s}, {"z", z}}, &describe);
      for (const std::string& isa : targets)
        for (int threads : {1, 2}) {
          const auto got = run_on(quantize_model(n, p.scale, p.zero, p.s8, false), isa, threads, {{"x", x}}, &describe);
          EXPECT_NE(describe.find("quantize_f32_q8_avx2"), std::string::npos) << describe;
          EXPECT_TRUE(bit_identical(want, got))
              << "n " << n << " scale " << p.scale << " zero " << p.zero << (p.s8 ? " s8" : " u8") << " on " << isa
              << " threads " << threads;
        }
    }
}

TEST(QuantizeFast, DequantizeLinearMatchesReference) {
  const std::vector<std::string> targets = simd_isas();
  if (targets.empty()) GTEST_SKIP() << "no AVX2 on this CPU: only the reference DequantizeLinear runs here";
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> byte(0, 255);
  for (bool s8 : {false, true})
    for (int64_t n : kLengths) {
      const float scale = 0.0371f;
      const int32_t zero = s8 ? -3 : 131;
      Tensor q(s8 ? DType::s8 : DType::u8, {n});
      for (int64_t i = 0; i < n; ++i) static_cast<uint8_t*>(q.data())[i] = static_cast<uint8_t>(byte(rng));
      std::string describe;
      const Model m = dequantize_model(n, scale, zero, s8);
      const auto want = run_on(m, "ref", 1, {{"q", q}}, &describe);
      EXPECT_EQ(describe.find("dequantize_q8_f32_avx2"), std::string::npos) << describe;
      for (const std::string& isa : targets)
        for (int threads : {1, 2}) {
          const auto got = run_on(m, isa, threads, {{"q", q}}, &describe);
          EXPECT_NE(describe.find("dequantize_q8_f32_avx2"), std::string::npos) << describe;
          EXPECT_TRUE(bit_identical(want, got)) << "n " << n << (s8 ? " s8" : " u8") << " on " << isa;
        }
    }
}

}  // namespace
}  // namespace octet::testing
