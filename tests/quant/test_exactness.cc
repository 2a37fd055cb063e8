// Exactness across ISAs: in exact mode an INT8 model gives the same bits on ref, avx2, avx512
// and vnni (whatever the machine has), on synthetic nets and on the zoo models. Calibration
// runs on the reference FP32 kernels, so each ISA also builds the very same quantization.

#include "quant_test_util.h"
#include "zoo_models.h"

namespace octet::testing {
namespace {

void expect_identical_across_isas(const Model& m, const std::vector<Sample>& calibration,
                                  const std::vector<Sample>& samples, const std::string& what,
                                  int weight_bits = 8) {
  std::vector<std::map<std::string, Tensor>> reference;
  for (const std::string& isa : isas()) {
    CompiledModel q = compile_int8(m, calibration, isa, CalibrationMethod::minmax, weight_bits);
    Session s = q.create_session();
    for (size_t i = 0; i < samples.size(); ++i) {
      auto out = s.run(samples[i]);
      if (reference.size() <= i) reference.push_back(out);
      else EXPECT_TRUE(bit_identical(reference[i], out)) << what << ": sample " << i << " on " << isa
                                                         << " differs from " << isas().front();
    }
  }
}

TEST(Exactness, SyntheticNets) {
  expect_identical_across_isas(load_model(conv_net()), random_samples("x", {1, 3, 16, 16}, 8, 1),
                               random_samples("x", {1, 3, 16, 16}, 4, 2), "conv net");
  expect_identical_across_isas(load_model(matmul_net()), random_samples("x", {1, 4, 8}, 8, 3),
                               random_samples("x", {1, 4, 8}, 4, 4), "matmul net");
}

// 7-bit weights: u8 x s7 pairs never saturate vpmaddubsw, so the exact avx2 / avx512 levels
// run their GEMMs on the fast kernels and still give the reference's bits.
TEST(Exactness, SevenBitWeightsTakeTheFastGemmAndStayExact) {
  expect_identical_across_isas(load_model(conv_net()), random_samples("x", {1, 3, 16, 16}, 8, 1),
                               random_samples("x", {1, 3, 16, 16}, 4, 2), "conv net, 7-bit", 7);
  expect_identical_across_isas(load_model(matmul_net()), random_samples("x", {1, 4, 8}, 8, 3),
                               random_samples("x", {1, 4, 8}, 4, 4), "matmul net, 7-bit", 7);
  int exact_simd_levels = 0;
  for (const std::string& isa : isas()) {
    if (isa == "ref" || isa == "vnni") continue;  // ref has no fast kernel; vnni is exact on 8 bits
    ++exact_simd_levels;
    const Model m = load_model(matmul_net());
    const auto calibration = random_samples("x", {1, 4, 8}, 8, 3);
    EXPECT_NE(compile_int8(m, calibration, isa, CalibrationMethod::minmax, 7).describe().find("_fast"),
              std::string::npos)
        << isa << ": 7-bit weights did not take the vpmaddubsw GEMM";
  }
  if (exact_simd_levels == 0) GTEST_SKIP() << "no avx2 / avx512 level on this machine: only the bits were compared";
}

TEST(Exactness, FastVariantRunsAndStaysClose) {
  const auto all = isas(true);
  Model m = load_model(conv_net());
  const auto calibration = random_samples("x", {1, 3, 16, 16}, 8, 1);
  const auto sample = random_samples("x", {1, 3, 16, 16}, 1, 9)[0];
  const Tensor exact = compile_int8(m, calibration, "ref").create_session().run(sample).at("logits");
  int fast_variants = 0;
  for (const std::string& isa : all) {
    if (isa.find("_fast") == std::string::npos) continue;
    ++fast_variants;
    CompiledModel q = compile_int8(m, calibration, isa);
    EXPECT_NE(q.describe().find("fast"), std::string::npos) << q.describe();
    // Saturation may move a few values; the logits stay close to the exact ones.
    const Tensor y = q.create_session().run(sample).at("logits");
    float peak = 0;
    for (int64_t i = 0; i < exact.numel(); ++i) peak = std::max(peak, std::fabs(exact.data_as<float>()[i]));
    EXPECT_LT(max_abs_diff(exact, y), 0.25f * peak + 1e-3f) << isa;
  }
  if (fast_variants == 0) GTEST_SKIP() << "no AVX2 on this machine: no fast variant to run";
}

// The samples of a zoo model: its test_data_set_0 inputs, and a perturbed copy.
std::vector<Sample> zoo_samples(const ZooModel& model, const std::vector<TensorInfo>& infos) {
  const Sample s = zoo_test_inputs(model, infos);
  Sample noisy;
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.0f, 0.05f);
  for (const auto& kv : s) {
    Tensor t = kv.second.clone();
    if (t.dtype() == DType::f32)
      for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] += d(rng);
    noisy[kv.first] = t;
  }
  return {s, noisy};
}

TEST(Exactness, ZooModels) {
  if (zoo_dir().empty()) GTEST_SKIP() << "../shared/zoo is absent";
  int models = 0;
  for (const ZooModel& zoo_model : zoo_models_with_test_data()) {
    Model m = Model::load(zoo_model.path);
    const auto samples = zoo_samples(zoo_model, m.inputs());
    expect_identical_across_isas(m, samples, samples, zoo_model.name);
    ++models;
  }
  EXPECT_GT(models, 0);
}

}  // namespace
}  // namespace octet::testing
