// FP32 MatMul with both operands computed at run time (attention's QK^T and softmax x V) on
// the gemm_f32 table (matmul_runtime_b_gemm), at every SIMD level the CPU has, against the
// reference MatMul: ragged M/N/K (1..67 and 128), batch 1..3, broadcast batch dims, 1-D
// operands, 1 and 2 threads; and the nodes it declines (ref level, non-f32, constant B).
//
// Bound: each of the two results is the exact sum within gamma_K * sum_k |a_ik b_kj|
// (gamma_K < K * FLT_EPSILON for any summation order, with or without FMA), so they differ
// by at most 2 * K * FLT_EPSILON * sum_k |a_ik b_kj|.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "octet/kernels/isa.h"
#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::OpTest;
using testing::random_f32;

// The SIMD levels this machine has, within OCTET_MAX_ISA.
std::vector<std::string> simd_isas() {
  std::vector<std::string> out;
  for (const kernels::IsaChoice& c : kernels::available_isas())
    if (!c.fast && (c.isa == kernels::Isa::avx512 || c.isa == kernels::Isa::avx2)) out.push_back(c.name());
  return out;
}

// The kernel chosen for a one-MatMul graph (a, b at their shapes; b constant or not).
std::string chosen_kernel(const Tensor& a, const Tensor& b, const std::string& isa, bool b_const) {
  auto g = std::make_shared<detail::Graph>();
  g->opsets[""] = 17;
  auto add_input = [&](const std::string& name, const Tensor& t) {
    const int id = g->add_value(name);
    g->values[id].dtype = t.dtype();
    g->values[id].shape = t.shape();
    g->values[id].shape_known = true;
    g->inputs.push_back(id);
    return id;
  };
  detail::Node n;
  n.op_type = "MatMul";
  n.name = "mm";
  n.inputs = {add_input("a", a), b_const ? g->add_const("b", b) : add_input("b", b)};
  n.outputs = {g->add_value("y")};
  g->outputs.push_back(n.outputs[0]);
  g->nodes.push_back(n);
  g->toposort();
  CompileOptions opt;
  opt.isa = isa;
  const std::string d = CompiledModel::compile(Model(g), opt).describe();
  const size_t k = d.find("kernel=");
  return k == std::string::npos ? "" : d.substr(k + 7, d.find('\n', k) - k - 7);
}

// Expects fast within the bound above of ref; a and b broadcast as MatMul does, given as
// [batches, M, K] / [batches, K, N] index functions.
void expect_within_bound(const Tensor& fast, const Tensor& ref, const std::vector<double>& abs_sums, int64_t K) {
  ASSERT_EQ(fast.shape(), ref.shape());
  ASSERT_EQ(static_cast<size_t>(ref.numel()), abs_sums.size());
  const double bound = 2.0 * double(K) * FLT_EPSILON;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double f = fast.data_as<float>()[i], r = ref.data_as<float>()[i];
    ASSERT_LE(std::abs(f - r), bound * abs_sums[static_cast<size_t>(i)] + 1e-30) << "element " << i;
  }
}

// sum_k |a_ik b_kj| per output element for broadcast batch dims (reference loops in double).
std::vector<double> abs_product_sums(const Tensor& a, const Tensor& b) {
  Shape as = a.shape(), bs = b.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  const size_t rank = std::max(as.size(), bs.size());
  as.insert(as.begin(), rank - as.size(), 1);
  bs.insert(bs.begin(), rank - bs.size(), 1);
  std::vector<int64_t> batch(rank - 2);
  int64_t batches = 1;
  for (size_t d = 0; d + 2 < rank; ++d) batches *= (batch[d] = std::max(as[d], bs[d]));
  std::vector<double> out;
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t rem = bi, ao = 0, bo = 0, astr = 1, bstr = 1;
    for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
      const int64_t i = rem % batch[d];
      rem /= batch[d];
      ao += (as[d] == 1 ? 0 : i) * astr;
      bo += (bs[d] == 1 ? 0 : i) * bstr;
      astr *= as[d];
      bstr *= bs[d];
    }
    const float* pa = a.data_as<float>() + ao * M * K;
    const float* pb = b.data_as<float>() + bo * K * N;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += std::abs(double(pa[i * K + k]) * pb[k * N + j]);
        out.push_back(s);
      }
  }
  return out;
}

void check_shapes(const Shape& as, const Shape& bs, uint32_t seed) {
  SCOPED_TRACE(shape_str(as) + " x " + shape_str(bs));
  const Tensor a = random_f32(as, seed, -2.0f, 2.0f), b = random_f32(bs, seed + 1000, -2.0f, 2.0f);
  const Tensor ref = OpTest("MatMul").input("a", a).input("b", b).output("y").run("ref", 1)[0];
  const std::vector<double> sums = abs_product_sums(a, b);
  const int64_t K = as.back();
  for (const std::string& isa : simd_isas()) {
    SCOPED_TRACE(isa);
    EXPECT_NE(chosen_kernel(a, b, isa, false).find("_runtime_b"), std::string::npos);
    const Tensor one = OpTest("MatMul").input("a", a).input("b", b).output("y").run(isa, 1)[0];
    const Tensor two = OpTest("MatMul").input("a", a).input("b", b).output("y").run(isa, 2)[0];
    expect_within_bound(one, ref, sums, K);
    // The table's results do not depend on the thread count, so neither do these.
    ASSERT_EQ(one.nbytes(), two.nbytes());
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.nbytes()), 0);
  }
}

TEST(MatMulRuntimeB, RaggedShapesWithinBoundOfTheReference) {
  if (simd_isas().empty()) GTEST_SKIP() << "the CPU has no SIMD level (avx2 or avx512)";
  const int64_t dims[] = {1, 2, 7, 16, 17, 33, 67, 128};
  uint32_t seed = 1;
  // M, N and K over the list, rotated against each other so every value meets every edge
  // case without the full cube; batch 1..3.
  for (size_t i = 0; i < std::size(dims); ++i)
    for (size_t j = 0; j < std::size(dims); j += 3) {
      const int64_t M = dims[i], N = dims[(i + j) % std::size(dims)], K = dims[(i + 2 * j + 1) % std::size(dims)];
      const int64_t batch = 1 + static_cast<int64_t>(seed % 3);
      check_shapes({batch, M, K}, {batch, K, N}, seed++);
    }
}

TEST(MatMulRuntimeB, AttentionShapesAndBroadcastBatchDims) {
  if (simd_isas().empty()) GTEST_SKIP() << "the CPU has no SIMD level (avx2 or avx512)";
  check_shapes({1, 12, 128, 26}, {1, 12, 26, 128}, 1);  // QK^T, sst2-tinybert-like
  check_shapes({1, 12, 67, 67}, {1, 12, 67, 26}, 2);     // softmax x V, ragged sequence
  check_shapes({2, 1, 5, 7}, {3, 7, 4}, 3);              // both broadcast
  check_shapes({5, 7}, {3, 7, 4}, 4);                    // A shared by every batch item
  check_shapes({2, 3, 5, 7}, {7, 4}, 5);                 // a run-time 2-D B shared: one GEMM
  check_shapes({1, 3, 5, 17}, {2, 1, 17, 33}, 6);        // rank 4, broadcast both ways
  check_shapes({3, 2, 2, 1, 9}, {3, 1, 2, 9, 5}, 7);     // rank 5, M = 1
  check_shapes({7}, {3, 7, 4}, 8);                       // 1-D A, promoted and dropped
  check_shapes({3, 5, 7}, {7}, 9);                       // 1-D B
}

TEST(MatMulRuntimeB, DeclinesRefLevelOtherDtypesAndConstantB) {
  if (simd_isas().empty()) GTEST_SKIP() << "the CPU has no SIMD level (avx2 or avx512)";
  const std::string isa = simd_isas().front();
  const Tensor a = random_f32({2, 5, 7}, 1), b = random_f32({2, 7, 4}, 2);
  EXPECT_NE(chosen_kernel(a, b, isa, false).find("_runtime_b"), std::string::npos);
  // The ref level runs the reference kernel.
  EXPECT_EQ(chosen_kernel(a, b, "ref", false), "ref");
  // f64 is not the FP32 GEMM's.
  Tensor a64(DType::f64, {2, 5, 7}), b64(DType::f64, {2, 7, 4});
  EXPECT_EQ(chosen_kernel(a64, b64, isa, false), "ref");
  // A constant 2-D B is packed once by matmul_packed_gemm instead.
  const Tensor w = random_f32({7, 4}, 3);
  const std::string packed = chosen_kernel(a, w, isa, true);
  EXPECT_EQ(packed.find("_runtime_b"), std::string::npos);
  EXPECT_NE(packed.find("gemm_f32"), std::string::npos);
  // K = 0: the reference writes the zeros.
  const Tensor a0(DType::f32, {2, 5, 0}), b0(DType::f32, {2, 0, 4});
  EXPECT_EQ(chosen_kernel(a0, b0, isa, false), "ref");
}

}  // namespace
}  // namespace octet
