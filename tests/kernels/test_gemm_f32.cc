// FP32 GEMM: every table (ref, avx2, avx512) against the reference kernel, and the reference
// against a double-precision oracle, on random shapes with ragged tails, every epilogue, both
// B layouts, padded leading dimensions, and 1 vs 2 threads (bit-identical).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "octet/error.h"
#include "octet/kernels/registry.h"
#include "octet/kernels/gemm_f32.h"
#include "octet/kernels/isa.h"

namespace octet::kernels {
namespace {

struct Case {
  int64_t M, N, K;
  bool trans_b = false;
  int64_t lda_pad = 0, ldb_pad = 0, ldc_pad = 0, ldr_pad = 0;
  bool bias = false, residual = false;
  Activation act = Activation::none;
  bool residual_is_c = false;  // residual aliases C (read before write)
  uint32_t seed = 1;
  std::string str() const {
    std::string s = std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K);
    if (trans_b) s += " trans_b";
    if (lda_pad || ldb_pad || ldc_pad) s += " padded";
    if (bias) s += " bias";
    if (residual) s += residual_is_c ? " residual=C" : " residual";
    if (act == Activation::relu) s += " relu";
    if (act == Activation::clip) s += " clip";
    if (act == Activation::hardswish) s += " hardswish";
    return s;
  }
};

// Inputs of one case, generated deterministically from its seed.
struct Data {
  int64_t lda, ldb, ldc, ldr;
  std::vector<float> a, b, bias, residual, c_init;
  EpilogueF32 ep;
};

Data make_data(const Case& t) {
  Data d;
  std::mt19937 rng(t.seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  d.lda = t.K + t.lda_pad;
  d.ldb = (t.trans_b ? t.K : t.N) + t.ldb_pad;
  d.ldc = t.N + t.ldc_pad;
  d.ldr = t.residual_is_c ? d.ldc : t.N + t.ldr_pad;
  d.a.resize(static_cast<size_t>(t.M * d.lda + 1));
  d.b.resize(static_cast<size_t>((t.trans_b ? t.N : t.K) * d.ldb + 1));
  for (auto& x : d.a) x = u(rng);
  for (auto& x : d.b) x = u(rng);
  d.bias.resize(static_cast<size_t>(t.N));
  for (auto& x : d.bias) x = 2.f * u(rng);
  d.residual.resize(static_cast<size_t>(t.M * d.ldr + 1));
  for (auto& x : d.residual) x = 2.f * u(rng);
  // C starts as garbage (or as the residual when it aliases): kernels must overwrite it.
  d.c_init.resize(static_cast<size_t>(t.M * d.ldc + 1));
  for (auto& x : d.c_init) x = t.residual_is_c ? 0.f : 1e6f;
  if (t.residual_is_c)
    for (int64_t m = 0; m < t.M; ++m)
      for (int64_t n = 0; n < t.N; ++n) d.c_init[m * d.ldc + n] = d.residual[m * d.ldr + n];
  d.ep.bias = t.bias ? d.bias.data() : nullptr;
  d.ep.residual = t.residual ? d.residual.data() : nullptr;  // re-pointed at C when aliased
  d.ep.ldr = d.ldr;
  d.ep.act = t.act;
  d.ep.clip_lo = -0.5f;
  d.ep.clip_hi = 0.75f;
  return d;
}

// Runs one table on the case; returns C (with its padding).
std::vector<float> run(const GemmF32Ops& ops, const Case& t, const Data& d, ThreadPool* pool) {
  PackedBF32 packed;
  ops.pack_b(d.b.data(), t.K, t.N, d.ldb, t.trans_b, &packed);
  std::vector<float> c = d.c_init;
  EpilogueF32 ep = d.ep;
  if (t.residual && t.residual_is_c) ep.residual = c.data();
  ops.gemm(t.M, d.a.data(), d.lda, packed, c.data(), d.ldc, ep, pool);
  return c;
}

float b_at(const Case& t, const Data& d, int64_t k, int64_t n) {
  return t.trans_b ? d.b[n * d.ldb + k] : d.b[k * d.ldb + n];
}

// |d| <= 1e-5 * (sum_k |a*b| + |bias| + |residual|) + tiny, per element; padding untouched.
void expect_close(const Case& t, const Data& d, const std::vector<float>& got,
                  const std::vector<float>& want, const char* what) {
  int bad = 0;
  for (int64_t m = 0; m < t.M; ++m) {
    for (int64_t n = 0; n < t.N; ++n) {
      double mag = 0;
      for (int64_t k = 0; k < t.K; ++k) mag += std::fabs(double(d.a[m * d.lda + k]) * b_at(t, d, k, n));
      if (t.bias) mag += std::fabs(d.bias[n]);
      if (t.residual) mag += std::fabs(d.residual[m * d.ldr + n]);
      const double tol = 1e-5 * mag + 1e-30;
      const float g = got[m * d.ldc + n], w = want[m * d.ldc + n];
      if (!(std::fabs(double(g) - w) <= tol) && bad++ < 5)
        ADD_FAILURE() << what << " " << t.str() << " at (" << m << "," << n << "): got " << g
                      << " want " << w << " tol " << tol;
    }
    for (int64_t n = t.N; n < d.ldc && m * d.ldc + n < int64_t(got.size()); ++n)
      if (got[m * d.ldc + n] != d.c_init[m * d.ldc + n] && bad++ < 5)
        ADD_FAILURE() << what << " " << t.str() << " wrote padding at (" << m << "," << n << ")";
  }
}

// The double-precision oracle in the same layout as C.
std::vector<float> oracle(const Case& t, const Data& d) {
  std::vector<float> c = d.c_init;
  for (int64_t m = 0; m < t.M; ++m)
    for (int64_t n = 0; n < t.N; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < t.K; ++k) acc += double(d.a[m * d.lda + k]) * b_at(t, d, k, n);
      if (t.bias) acc += d.bias[n];
      if (t.residual) acc += d.residual[m * d.ldr + n];
      float y = static_cast<float>(acc);
      if (t.act == Activation::relu) y = y < 0 ? 0 : y;
      if (t.act == Activation::clip) y = y < d.ep.clip_lo ? d.ep.clip_lo : (y > d.ep.clip_hi ? d.ep.clip_hi : y);
      if (t.act == Activation::hardswish) y = static_cast<float>(acc * std::min(std::max(acc / 6 + 0.5, 0.0), 1.0));
      c[m * d.ldc + n] = y;
    }
  return c;
}

// Random shapes around the tile sizes of every table (6x16, 14x32) and the K block (256).
std::vector<Case> random_cases(uint32_t seed, int count) {
  std::mt19937 rng(seed);
  const int64_t ms[] = {1, 2, 3, 5, 6, 7, 13, 14, 15, 28, 29, 43, 64, 100};
  const int64_t ns[] = {1, 3, 8, 15, 16, 17, 31, 32, 33, 48, 63, 65, 100};
  const int64_t ks[] = {1, 2, 3, 4, 5, 7, 16, 31, 64, 129, 255, 256, 257, 300, 515, 1100};
  auto pick = [&](const auto& arr) { return arr[rng() % (sizeof(arr) / sizeof(arr[0]))]; };
  std::vector<Case> out;
  for (int i = 0; i < count; ++i) {
    Case t;
    t.M = pick(ms);
    t.N = pick(ns);
    t.K = pick(ks);
    t.trans_b = rng() % 2;
    if (rng() % 3 == 0) {
      t.lda_pad = rng() % 9;
      t.ldb_pad = rng() % 5;
      t.ldc_pad = 1 + rng() % 7;
      t.ldr_pad = rng() % 3;
    }
    t.bias = rng() % 2;
    t.residual = rng() % 3 == 0;
    t.residual_is_c = t.residual && rng() % 2;
    t.act = static_cast<Activation>(rng() % 4);
    t.seed = rng();
    out.push_back(t);
  }
  return out;
}

// Hand-picked edges: K = 1, M = 0, N = 1, A rows 512 bytes apart (the copied-A path), K
// spanning several blocks with a remainder, and each epilogue alone and all combined.
std::vector<Case> edge_cases() {
  std::vector<Case> out;
  out.push_back({0, 17, 9});
  out.push_back({5, 0, 9});
  out.push_back({7, 19, 1});
  out.push_back({9, 1, 33});
  out.push_back({1, 1, 1});
  out.push_back({1, 1000, 70});
  out.push_back({33, 40, 0});  // K = 0: C = epilogue(0)
  {
    Case t{60, 70, 128};  // lda = 128 floats = 512 bytes: the copied-A path
    t.trans_b = true;
    out.push_back(t);
  }
  {
    Case t{45, 50, 1000};  // 4 K blocks, kc not a multiple of the unroll at the end
    out.push_back(t);
  }
  // B too large for L2 (blocked loop nest), with and without copied A; copied A over all K.
  out.push_back({30, 600, 512});
  {
    Case t{50, 1100, 300};
    t.trans_b = true;
    t.bias = true;
    t.act = Activation::clip;
    out.push_back(t);
  }
  {
    Case t{29, 64, 1024};
    t.residual = true;
    out.push_back(t);
  }
  {
    Case t{5, 40, 16502};  // three K blocks
    t.bias = true;
    t.residual = t.residual_is_c = true;
    t.act = Activation::clip;
    out.push_back(t);
  }
  const Activation acts[] = {Activation::none, Activation::relu, Activation::clip, Activation::hardswish};
  for (int bias = 0; bias < 2; ++bias)
    for (int res = 0; res < 3; ++res)
      for (Activation act : acts) {
        Case t{13, 45, 8303};  // two K blocks, the last with a remainder
        t.bias = bias;
        t.residual = res > 0;
        t.residual_is_c = res == 2;
        t.act = act;
        t.ldc_pad = 3;
        t.seed = 100 + bias * 10 + res * 3 + static_cast<int>(act);
        out.push_back(t);
      }
  return out;
}

const GemmF32Ops* ops_for(const std::string& impl, std::string* skip) {
  if (impl == "ref") return gemm_f32_ops_ref();
  Isa isa = impl == "avx2" ? Isa::avx2 : Isa::avx512;
  if (!cpu_supports(isa)) {
    *skip = "this CPU lacks " + impl + " (" + cpu_description() + ")";
    return nullptr;
  }
  const GemmF32Ops* ops = impl == "avx2" ? gemm_f32_ops_avx2() : gemm_f32_ops_avx512();
  if (!ops) *skip = "no " + impl + " FP32 table";
  return ops;
}

class GemmF32 : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string skip;
    ops_ = ops_for(GetParam(), &skip);
    if (!ops_) GTEST_SKIP() << skip;
  }
  void check(const std::vector<Case>& cases) {
    const GemmF32Ops& ref = *gemm_f32_ops_ref();
    for (const Case& t : cases) {
      const Data d = make_data(t);
      const std::vector<float> want = run(ref, t, d, nullptr);
      if (GetParam() == "ref")
        expect_close(t, d, want, oracle(t, d), "ref vs double oracle");
      else
        expect_close(t, d, run(*ops_, t, d, nullptr), want, ops_->name);
      if (HasFailure()) return;
    }
  }
  const GemmF32Ops* ops_ = nullptr;
};

TEST_P(GemmF32, EdgeShapesAndEveryEpilogue) { check(edge_cases()); }

// The edge cases above rely on K = 8303 spanning several K blocks of every SIMD table (the
// path where later blocks resume from C); fail loudly if tuning changes that.
TEST_P(GemmF32, EdgeCasesSpanSeveralKBlocks) {
  if (GetParam() == "ref") GTEST_SKIP() << "the reference does not block K";
  std::vector<float> b(8303 * 4, 1.f);
  PackedBF32 packed;
  ops_->pack_b(b.data(), 8303, 4, 4, false, &packed);
  EXPECT_LT(packed.kc, 8303);
  EXPECT_GT(packed.kc, 0);
}

TEST_P(GemmF32, RandomShapes) { check(random_cases(12345, 120)); }

TEST_P(GemmF32, OneAndTwoThreadsBitIdentical) {
  ThreadPool pool(2);
  // Large enough to be threaded: split over M, over N (small M), and with ragged tails.
  std::vector<Case> cases = {{200, 96, 300}, {20, 600, 200}, {1, 2000, 600}, {97, 203, 517},
                             {40, 1100, 512}};
  cases[1].bias = true;
  cases[1].act = Activation::relu;
  cases[3].residual = true;
  cases[3].trans_b = true;
  for (const Case& t : cases) {
    const Data d = make_data(t);
    const std::vector<float> one = run(*ops_, t, d, nullptr);
    const std::vector<float> two = run(*ops_, t, d, &pool);
    ASSERT_EQ(one.size(), two.size());
    size_t diff = 0;
    for (size_t i = 0; i < one.size(); ++i)
      if (std::memcmp(&one[i], &two[i], sizeof(float)) != 0) ++diff;
    EXPECT_EQ(diff, 0u) << t.str() << ": 1 and 2 threads differ";
    expect_close(t, d, two, run(*gemm_f32_ops_ref(), t, d, nullptr), ops_->name);
  }
}

// A in segments (an implicit-GEMM convolution: rows that overlap, one segment per kernel
// row) gives the same bits as the same table's plain GEMM on that A gathered into rows, on 1
// and 2 threads, with every epilogue; malformed segments are refused.
TEST_P(GemmF32, SegmentedAMatchesGatheredRows) {
  ASSERT_NE(ops_->gemm_segmented, nullptr) << ops_->name;
  struct Seg { int64_t M, N, count, seg_k, lda, stride; };
  const Seg segs[] = {{147, 64, 3, 96, 32, 4768}, {13, 150, 3, 9, 6, 100}, {1, 16, 7, 28, 4, 300},
                      {7, 200, 2, 5, 8, 40},      {35, 96, 5, 320, 64, 2500}, {40, 72, 9, 8, 8, 96},
                      {289, 40, 7, 3, 3, 51},     {71, 33, 3, 241, 80, 5900}};
  ThreadPool pool(2);
  uint32_t seed = 900;
  for (const Seg& sg : segs)
    for (int epi = 0; epi < 4; ++epi) {
      Case t{sg.M, sg.N, sg.count * sg.seg_k};
      t.bias = epi % 2;
      t.residual = epi >= 2;
      t.residual_is_c = epi == 3;
      t.act = static_cast<Activation>((epi + seed) % 4);
      t.ldc_pad = epi;
      t.seed = ++seed;
      Data d = make_data(t);
      std::mt19937 rng(seed);
      std::uniform_real_distribution<float> u(-1.f, 1.f);
      std::vector<float> image(static_cast<size_t>((sg.M - 1) * sg.lda + (sg.count - 1) * sg.stride + sg.seg_k));
      for (auto& v : image) v = u(rng);
      for (int64_t m = 0; m < t.M; ++m)
        for (int64_t k = 0; k < t.K; ++k) d.a[m * d.lda + k] = image[m * sg.lda + (k / sg.seg_k) * sg.stride + k % sg.seg_k];
      PackedBF32 packed;
      ops_->pack_b(d.b.data(), t.K, t.N, d.ldb, t.trans_b, &packed);
      const ASegments seg{sg.count, sg.seg_k, sg.stride};
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        const std::vector<float> want = run(*ops_, t, d, p);
        std::vector<float> got = d.c_init;
        EpilogueF32 ep = d.ep;
        if (t.residual_is_c) ep.residual = got.data();
        ops_->gemm_segmented(t.M, image.data(), sg.lda, seg, packed, got.data(), d.ldc, ep, p);
        size_t diff = 0;
        for (size_t i = 0; i < want.size(); ++i)
          if (std::memcmp(&want[i], &got[i], sizeof(float)) != 0) ++diff;
        EXPECT_EQ(diff, 0u) << ops_->name << " segmented vs gathered rows, " << t.str() << (p ? ", 2 threads" : "");
        expect_close(t, d, got, run(*gemm_f32_ops_ref(), t, d, nullptr), "segmented vs ref");
      }
      if (HasFailure()) return;
    }
  std::vector<float> b(24 * 16, 1.f), img(256, 1.f), out(16 * 4);
  PackedBF32 packed;
  ops_->pack_b(b.data(), 24, 16, 16, false, &packed);
  EXPECT_THROW(ops_->gemm_segmented(4, img.data(), 4, ASegments{2, 8, 8}, packed, out.data(), 16, EpilogueF32{}, nullptr),
               Error);  // 2 x 8 != K
  EXPECT_THROW(ops_->gemm_segmented(4, img.data(), 4, ASegments{0, 24, 8}, packed, out.data(), 16, EpilogueF32{}, nullptr),
               Error);
  EXPECT_THROW(ops_->gemm_segmented(4, img.data(), 4, ASegments{3, 8, -8}, packed, out.data(), 16, EpilogueF32{}, nullptr),
               Error);
  std::vector<float> big_b(9000 * 16, 1.f), big_img(9000 + 64, 1.f);
  ops_->pack_b(big_b.data(), 9000, 16, 16, false, &packed);
  if (packed.kc < 9000)  // K over one block: refused
    EXPECT_THROW(ops_->gemm_segmented(4, big_img.data(), 4, ASegments{2, 4500, 16}, packed, out.data(), 16,
                                      EpilogueF32{}, nullptr),
                 Error);
}

TEST_P(GemmF32, NanPropagatesThroughReluAndClip) {
  for (Activation act : {Activation::relu, Activation::clip}) {
    Case t{3, 20, 4};
    t.act = act;
    Data d = make_data(t);
    d.a[1 * d.lda + 2] = std::numeric_limits<float>::quiet_NaN();  // poisons row 1
    const std::vector<float> c = run(*ops_, t, d, nullptr);
    for (int64_t n = 0; n < t.N; ++n) {
      EXPECT_TRUE(std::isnan(c[1 * d.ldc + n])) << "column " << n;
      EXPECT_FALSE(std::isnan(c[0 * d.ldc + n]));
    }
  }
}

TEST_P(GemmF32, RejectsBPackedByAnotherTable) {
  const GemmF32Ops* other = ops_ == gemm_f32_ops_ref() ? (gemm_f32_ops_avx2() ? gemm_f32_ops_avx2() : nullptr)
                                                       : gemm_f32_ops_ref();
  if (!other) GTEST_SKIP() << "only one FP32 table on this CPU";
  std::vector<float> b(6 * 5, 1.f), a(4 * 6, 1.f), c(4 * 5);
  PackedBF32 packed;
  other->pack_b(b.data(), 6, 5, 5, false, &packed);
  EXPECT_THROW(ops_->gemm(4, a.data(), 6, packed, c.data(), 5, EpilogueF32{}, nullptr), Error);
}

TEST_P(GemmF32, RejectsBadSizes) {
  std::vector<float> b(16, 1.f);
  PackedBF32 packed;
  EXPECT_THROW(ops_->pack_b(b.data(), -1, 4, 4, false, &packed), Error);
  EXPECT_THROW(ops_->pack_b(b.data(), 4, 4, 3, false, &packed), Error);  // ldb < N
}

INSTANTIATE_TEST_SUITE_P(Impl, GemmF32, ::testing::Values("ref", "avx2", "avx512"),
                         [](const auto& info) { return info.param; });

// The kernel registry binds the FP32 kernel of their level (or the one below).
TEST(GemmF32Dispatch, TablesBindTheirLevel) {
  for (const IsaChoice& choice : available_isas()) {
    const GemmF32Ops* ops = kernel_registry(choice).gemm_f32;
    ASSERT_NE(ops, nullptr) << choice.name();
    std::string name = ops->name;
    const char* want = choice.isa == Isa::ref ? "ref" : choice.isa == Isa::avx2 ? "avx2" : "avx512";
    EXPECT_NE(name.find(want), std::string::npos) << choice.name() << " bound " << name;
  }
}

}  // namespace
}  // namespace octet::kernels
