// INT8 GEMM family: the reference against an independent evaluation of the contract in
// gemm_u8s8.h, and every SIMD implementation against the reference on random shapes (ragged
// M/N/K tails, K = 1, M = 0, N = 1, K blocking, both B layouts, padded lda/ldc), every output
// type and epilogue, 1 vs 2 threads. Exact kernels and VNNI must be bit-identical; the fast
// (vpmaddubsw) kernels too when the weights are in [-64, 64] (then no pair can saturate:
// 255 * (64 + 64) = 32640 <= 32767, for every u8 activation), and a separate test shows
// the saturation when they are not.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "octet/error.h"
#include "octet/kernels/gemm_u8s8.h"
#include "octet/kernels/isa.h"
#include "octet/kernels/thread_pool.h"

namespace octet::kernels {
namespace {

struct Impl {
  const char* name;
  const GemmU8S8Ops* (*ops)();
  Isa isa;
  bool fast;
};

const Impl kImpls[] = {
    {"ref", gemm_u8s8_ops_ref, Isa::ref, false},
    {"avx2", gemm_u8s8_ops_avx2, Isa::avx2, false},
    {"avx2_fast", gemm_u8s8_ops_avx2_fast, Isa::avx2, true},
    {"avx512", gemm_u8s8_ops_avx512, Isa::avx512, false},
    {"avx512_fast", gemm_u8s8_ops_avx512_fast, Isa::avx512, true},
    {"vnni", gemm_u8s8_ops_vnni, Isa::vnni, false},
};

void PrintTo(const Impl& impl, std::ostream* os) { *os << impl.name; }

int out_bytes(QOutType t) { return t == QOutType::u8 || t == QOutType::s8 ? 1 : 4; }

// One GEMM problem with every input the kernels read.
struct Problem {
  int64_t M = 0, N = 0, K = 0, lda = 0, ldb = 0, ldc = 0;
  bool trans_b = false;
  std::vector<uint8_t> a;
  std::vector<int8_t> b;
  std::vector<int32_t> bias;
  bool use_bias = false;
  int32_t a_zp = 0;
  std::vector<float> scale;
  std::vector<uint8_t> residual;
  std::vector<uint8_t> add_input;
  bool add_in_place = false;  // the fused add's A2 is the output buffer itself (ld_add == ldc)
  EpilogueQ ep;

  void run(const GemmU8S8Ops& ops, std::vector<uint8_t>* out, ThreadPool* pool) const {
    PackedBU8S8 packed;
    ops.pack_b(b.data(), K, N, ldb, trans_b, use_bias ? bias.data() : nullptr, a_zp, &packed);
    out->assign(static_cast<size_t>(std::max<int64_t>(M, 1) * ldc * out_bytes(ep.out_type)), 0xA5);
    if (!add_in_place) {
      ops.gemm(M, a.data(), lda, packed, out->data(), ldc, ep, pool);
      return;
    }
    for (int64_t m = 0; m < M; ++m)  // A2 in the output rows; the padding keeps 0xA5
      std::memcpy(out->data() + m * ldc, add_input.data() + m * ep.ld_add, static_cast<size_t>(N));
    EpilogueQ in_place = ep;
    in_place.add_input = out->data();
    in_place.ld_add = ldc;
    ops.gemm(M, a.data(), lda, packed, out->data(), ldc, in_place, pool);
  }
};

struct Options {
  QOutType out = QOutType::u8;
  Activation act = Activation::none;
  bool residual = false;
  bool add = false;  // the fused QLinearAdd (8-bit output only)
  bool bias = true;
  bool narrow = false;  // narrowed [q_lo, q_hi] (ReLU / clip on the quantized output)
  int w_lo = -127, w_hi = 127;
  int a_zp = 0;
};

Problem make_problem(int64_t M, int64_t N, int64_t K, bool trans_b, const Options& o,
                     uint32_t seed, int64_t lda_pad = 0, int64_t ldc_pad = 0) {
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Problem p;
  p.M = M, p.N = N, p.K = K, p.trans_b = trans_b;
  p.lda = K + lda_pad;
  p.ldc = N + ldc_pad;
  p.ldb = (trans_b ? K : N) + uni(0, 3);
  p.a.resize(static_cast<size_t>(std::max<int64_t>(M * p.lda, 1)));
  for (auto& v : p.a) v = static_cast<uint8_t>(uni(0, 255));
  p.b.resize(static_cast<size_t>(std::max<int64_t>((trans_b ? N : K) * p.ldb, 1)));
  for (auto& v : p.b) v = static_cast<int8_t>(uni(o.w_lo, o.w_hi));
  p.use_bias = o.bias;
  p.bias.resize(static_cast<size_t>(N));
  for (auto& v : p.bias) v = uni(-200000, 200000);
  p.a_zp = o.a_zp;
  // Scales that put y around +-100 for typical accumulators, per channel.
  const double typical = std::sqrt(double(std::max<int64_t>(K, 1))) * 10000.0 + 1.0;
  p.scale.resize(static_cast<size_t>(N));
  for (auto& s : p.scale)
    s = static_cast<float>(100.0 / typical * std::uniform_real_distribution<double>(0.3, 3)(rng));
  p.ep.out_type = o.out;
  p.ep.scale = p.scale.data();
  if (o.out == QOutType::u8) {
    p.ep.out_zero_point = uni(0, 255);
    p.ep.q_lo = 0, p.ep.q_hi = 255;
    if (o.narrow) {
      p.ep.q_lo = uni(0, p.ep.out_zero_point);
      p.ep.q_hi = uni(p.ep.q_lo, 255);
    }
  } else if (o.out == QOutType::s8) {
    p.ep.out_zero_point = uni(-128, 127);
    p.ep.q_lo = -128, p.ep.q_hi = 127;
    if (o.narrow) {
      p.ep.q_lo = uni(-128, p.ep.out_zero_point);
      p.ep.q_hi = uni(p.ep.q_lo, 127);
    }
  }
  p.ep.act = o.act;
  p.ep.clip_lo = -float(uni(0, 50));
  p.ep.clip_hi = float(uni(0, 80));
  if (o.residual) {
    p.ep.ldr = N + uni(0, 5);
    p.residual.resize(static_cast<size_t>(std::max<int64_t>(M * p.ep.ldr, 1)));
    for (auto& v : p.residual) v = static_cast<uint8_t>(uni(0, 255));
    p.ep.residual = p.residual.data();
    p.ep.r_zero_point = uni(0, 255);
    p.ep.r_scale = std::uniform_real_distribution<float>(0.05f, 0.8f)(rng);
  }
  if (o.add) {
    const bool s8 = o.out == QOutType::s8;
    const int lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
    p.ep.ld_add = N + uni(0, 5);
    p.add_input.resize(static_cast<size_t>(std::max<int64_t>(M * p.ep.ld_add, 1)));
    for (auto& v : p.add_input) v = static_cast<uint8_t>(uni(0, 255));
    p.ep.add_input = p.add_input.data();
    p.ep.add.s8 = s8;
    p.ep.add.a_zero = uni(lo, hi);  // often not the output's zero point
    p.ep.add.b_zero = uni(lo, hi);
    p.ep.add.c_zero = uni(lo, hi);
    std::uniform_real_distribution<float> sc(0.02f, 0.5f);
    const float sa = sc(rng), sb = sc(rng);
    p.ep.add.a_mult = sa / sc(rng);
    p.ep.add.b_mult = sb / sc(rng);
  }
  return p;
}

// The M x N outputs (not the ldc padding) of two runs, byte for byte; and the padding
// untouched.
void expect_same(const Problem& p, const std::vector<uint8_t>& want,
                 const std::vector<uint8_t>& got, const std::string& what) {
  const int ob = out_bytes(p.ep.out_type);
  int64_t bad = 0;
  for (int64_t m = 0; m < p.M; ++m) {
    const size_t row = static_cast<size_t>(m * p.ldc * ob);
    for (int64_t n = 0; n < p.N; ++n) {
      if (std::memcmp(&want[row + n * ob], &got[row + n * ob], ob) == 0) continue;
      if (bad++ < 3) {
        int64_t w = 0, g = 0;
        std::memcpy(&w, &want[row + n * ob], ob);
        std::memcpy(&g, &got[row + n * ob], ob);
        ADD_FAILURE() << what << ": differs at m=" << m << " n=" << n << " want 0x" << std::hex
                      << w << " got 0x" << g << std::dec;
      }
    }
    for (int64_t n = p.N * ob; n < p.ldc * ob; ++n)
      if (got[row + n] != 0xA5) {
        ADD_FAILURE() << what << ": wrote into the ldc padding at m=" << m;
        break;
      }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << p.M * p.N << " outputs differ";
}

std::string describe(const Problem& p) {
  static const char* types[] = {"u8", "s8", "s32", "f32"};
  static const char* acts[] = {"none", "relu", "clip"};
  return std::to_string(p.M) + "x" + std::to_string(p.N) + "x" + std::to_string(p.K) +
         (p.trans_b ? " trans_b" : "") + " lda=" + std::to_string(p.lda) +
         " ldc=" + std::to_string(p.ldc) + " out=" + types[int(p.ep.out_type)] +
         " act=" + acts[int(p.ep.act)] + " q=[" + std::to_string(p.ep.q_lo) + "," +
         std::to_string(p.ep.q_hi) + "] zp=" + std::to_string(p.ep.out_zero_point) +
         " a_zp=" + std::to_string(p.a_zp) + (p.use_bias ? " bias" : "") +
         (p.ep.residual ? " residual" : "") + (p.ep.add_input ? " add" : "") +
         (p.add_in_place ? " in place" : "");
}

// ---------------------------------------------------------------------------------------
// The reference against the contract, evaluated here independently (int64 sums, scalar
// float math in the order the contract states).

std::vector<uint8_t> contract_eval(const Problem& p) {
  const int ob = out_bytes(p.ep.out_type);
  std::vector<uint8_t> out(static_cast<size_t>(std::max<int64_t>(p.M, 1) * p.ldc * ob), 0xA5);
  for (int64_t m = 0; m < p.M; ++m)
    for (int64_t n = 0; n < p.N; ++n) {
      int64_t dot = 0, colsum = 0;
      for (int64_t k = 0; k < p.K; ++k) {
        const int w = p.trans_b ? p.b[n * p.ldb + k] : p.b[k * p.ldb + n];
        dot += int64_t(p.a[m * p.lda + k]) * w;
        colsum += w;
      }
      const int32_t acc =
          static_cast<int32_t>(dot + (p.use_bias ? p.bias[n] : 0) - int64_t(p.a_zp) * colsum);
      uint8_t* dst = &out[static_cast<size_t>((m * p.ldc + n) * ob)];
      if (p.ep.out_type == QOutType::s32) {
        std::memcpy(dst, &acc, 4);
        continue;
      }
      volatile float y = float(acc) * p.scale[n];
      if (p.ep.residual) {
        volatile float r =
            float(int32_t(p.residual[m * p.ep.ldr + n]) - p.ep.r_zero_point) * p.ep.r_scale;
        y = y + r;
      }
      float v = y;
      if (p.ep.out_type == QOutType::f32) {
        if (p.ep.act == Activation::relu) v = v < 0.f ? 0.f : v;
        if (p.ep.act == Activation::clip) v = std::min(std::max(v, p.ep.clip_lo), p.ep.clip_hi);
        std::memcpy(dst, &v, 4);
        continue;
      }
      const int32_t zp = p.ep.out_zero_point;
      const float lo = float(p.ep.q_lo - zp), hi = float(p.ep.q_hi - zp);
      if (std::isnan(v)) v = lo;
      v = std::min(std::max(v, lo), hi);
      int32_t q = int32_t(std::nearbyint(v)) + zp;
      if (p.ep.add_input) {  // QLinearAdd(q, A2): mul, mul, add, round half even, saturate
        const QAddQ8Params& a = p.ep.add;
        const uint8_t raw = p.add_input[m * p.ep.ld_add + n];
        const int32_t b = a.s8 ? int32_t(int8_t(raw)) : int32_t(raw);
        volatile float fa = float(q - a.a_zero) * a.a_mult;
        volatile float fb = float(b - a.b_zero) * a.b_mult;
        const float sum = fa + fb;
        const int32_t r = int32_t(std::nearbyint(sum)) + a.c_zero;
        q = std::min(std::max(r, a.s8 ? -128 : 0), a.s8 ? 127 : 255);
      }
      if (p.ep.out_type == QOutType::u8) *dst = static_cast<uint8_t>(q);
      else *reinterpret_cast<int8_t*>(dst) = static_cast<int8_t>(q);
    }
  return out;
}

TEST(GemmU8S8Ref, MatchesContract) {
  std::mt19937 rng(7);
  int cases = 0;
  for (QOutType out : {QOutType::u8, QOutType::s8, QOutType::s32, QOutType::f32})
    for (int variant = 0; variant < 6; ++variant) {
      Options o;
      o.out = out;
      o.residual = variant & 1;
      o.bias = variant != 2;
      o.narrow = variant >= 3;
      o.a_zp = variant % 3 == 0 ? 0 : int(rng() % 256);
      o.act = out == QOutType::f32 ? static_cast<Activation>(variant % 3) : Activation::none;
      const int64_t M = 1 + rng() % 9, N = 1 + rng() % 37, K = 1 + rng() % 70;
      Problem p = make_problem(M, N, K, variant % 2 == 0, o, 100 + cases++, rng() % 3, rng() % 3);
      std::vector<uint8_t> got;
      p.run(*gemm_u8s8_ops_ref(), &got, nullptr);
      expect_same(p, contract_eval(p), got, "ref vs contract, " + describe(p));
    }
  for (QOutType out : {QOutType::u8, QOutType::s8})  // the fused add, narrowed or not
    for (bool narrow : {false, true}) {
      Options o;
      o.out = out;
      o.add = true;
      o.narrow = narrow;
      o.a_zp = int(rng() % 256);
      const int64_t M = 1 + rng() % 9, N = 1 + rng() % 37, K = 1 + rng() % 70;
      Problem p = make_problem(M, N, K, false, o, 100 + cases++, rng() % 3, rng() % 3);
      std::vector<uint8_t> got;
      p.run(*gemm_u8s8_ops_ref(), &got, nullptr);
      expect_same(p, contract_eval(p), got, "ref vs contract, " + describe(p));
    }
}

// Round-half-even and saturation, with hand-computed results: K = 1, A = 1, B = 1, so
// acc = 1 + bias and y = acc * 0.5 lands on halves.
TEST(GemmU8S8Ref, RoundsHalfToEvenAndSaturates) {
  const int N = 8;
  const int32_t bias[N] = {0, 1, 2, 4, -4, -6, 600, -700};  // acc = bias + 1
  const int8_t b[N] = {1, 1, 1, 1, 1, 1, 1, 1};
  const uint8_t a[1] = {1};
  float scale[N];
  for (float& s : scale) s = 0.5f;
  PackedBU8S8 packed;
  const GemmU8S8Ops& ops = *gemm_u8s8_ops_ref();
  ops.pack_b(b, 1, N, N, false, bias, 0, &packed);
  EpilogueQ ep;
  ep.scale = scale;
  ep.out_type = QOutType::s8;
  ep.q_lo = -128, ep.q_hi = 127, ep.out_zero_point = 0;
  int8_t out[N];
  ops.gemm(1, a, 1, packed, out, N, ep, nullptr);
  // y = 0.5, 1, 1.5, 2.5, -1.5, -2.5, 300.5, -349.5
  const int8_t want[N] = {0, 1, 2, 2, -2, -2, 127, -128};
  for (int n = 0; n < N; ++n) EXPECT_EQ(out[n], want[n]) << "n=" << n;

  ep.out_type = QOutType::u8;
  ep.out_zero_point = 10;
  ep.q_lo = 10, ep.q_hi = 200;  // ReLU (q_lo = zp) and a clip on the quantized side
  uint8_t out_u8[N];
  ops.gemm(1, a, 1, packed, out_u8, N, ep, nullptr);
  const uint8_t want_u8[N] = {10, 11, 12, 12, 10, 10, 200, 10};
  for (int n = 0; n < N; ++n) EXPECT_EQ(out_u8[n], want_u8[n]) << "n=" << n;
}

// ---------------------------------------------------------------------------------------
// Every implementation against the reference.

class GemmU8S8 : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    const Impl& impl = GetParam();
    if (!cpu_supports(impl.isa))
      GTEST_SKIP() << impl.name << " needs " << isa_name(impl.isa) << "; this CPU ("
                   << cpu_description() << ") lacks it";
    ops_ = impl.ops();
    ASSERT_NE(ops_, nullptr) << impl.name << " has no kernel";
    if (impl.fast) w_lo_ = -64, w_hi_ = 64;  // no pair can saturate (see the file comment)
  }
  // Runs p on the implementation (1 thread, then 2) and on the reference; all must agree.
  void check(const Problem& p, bool two_threads = true) {
    std::vector<uint8_t> want, got;
    p.run(*gemm_u8s8_ops_ref(), &want, nullptr);
    p.run(*ops_, &got, nullptr);
    expect_same(p, want, got, std::string(GetParam().name) + " vs ref, " + describe(p));
    if (two_threads) {
      std::vector<uint8_t> got2;
      p.run(*ops_, &got2, &pool2_);
      expect_same(p, got, got2, std::string(GetParam().name) + " 2 threads vs 1, " + describe(p));
    }
  }
  Options options() const {
    Options o;
    o.w_lo = w_lo_, o.w_hi = w_hi_;
    return o;
  }
  const GemmU8S8Ops* ops_ = nullptr;
  int w_lo_ = -127, w_hi_ = 127;
  ThreadPool pool2_{2};
};

TEST_P(GemmU8S8, RandomShapesEveryEpilogue) {
  std::mt19937 rng(1234);
  int seed = 0;
  for (QOutType out : {QOutType::u8, QOutType::s8, QOutType::s32, QOutType::f32})
    for (int variant = 0; variant < 8; ++variant) {
      Options o = options();
      o.out = out;
      o.residual = variant & 1;
      o.bias = (variant & 2) != 0;
      o.narrow = (variant & 4) != 0;
      o.a_zp = variant % 3 == 0 ? 0 : int(rng() % 256);
      o.act = out == QOutType::f32 ? static_cast<Activation>(variant % 3) : Activation::none;
      const int64_t M = 1 + rng() % 23, N = 1 + rng() % 150, K = 1 + rng() % 90;
      check(make_problem(M, N, K, rng() % 2, o, 1000 + seed++, rng() % 5, rng() % 5), false);
    }
}

// NaN and infinite scales (a hostile model): a NaN y becomes q_lo, +-inf saturate, on
// every implementation as in the reference; whole 64-column tiles and a ragged tail.
TEST_P(GemmU8S8, NonFiniteScalesSaturate) {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), 0.0f};
  int seed = 0;
  for (QOutType out : {QOutType::u8, QOutType::s8})
    for (bool narrow : {false, true}) {
      Options o = options();
      o.out = out;
      o.narrow = narrow;
      o.residual = seed % 2;
      Problem p = make_problem(13, 150, 40, false, o, 3000 + seed++);
      for (size_t n = 0; n < p.scale.size(); n += 3) p.scale[n] = specials[(n / 3) % 4];
      check(p);
      std::vector<uint8_t> got;
      p.run(*ops_, &got, nullptr);
      for (int64_t m = 0; m < p.M; ++m) {  // the NaN columns: q_lo
        const int32_t v = out == QOutType::u8 ? int32_t(got[m * p.ldc]) : int32_t(int8_t(got[m * p.ldc]));
        EXPECT_EQ(v, p.ep.q_lo) << "NaN scale, row " << m;
      }
    }
}

// The fused QLinearAdd (a conv's residual add) on every implementation: whole 64-column
// panels and ragged tails, u8 and s8, narrowed ranges, K blocking, A2 read from its own
// buffer or from the output itself (in place), 1 and 2 threads.
TEST_P(GemmU8S8, FusedAddMatchesReference) {
  struct Shape { int64_t M, N, K; };
  const Shape shapes[] = {{13, 150, 40}, {6, 64, 64}, {1, 1, 1}, {25, 63, 7}, {7, 200, 513}, {40, 256, 5000}};
  int seed = 0;
  for (const Shape& s : shapes)
    for (QOutType out : {QOutType::u8, QOutType::s8})
      for (int variant = 0; variant < 2; ++variant) {
        Options o = options();
        o.out = out;
        o.add = true;
        o.narrow = variant == 1;
        o.a_zp = 7 * seed;
        Problem p = make_problem(s.M, s.N, s.K, seed % 2, o, 5000 + seed, seed % 3, seed % 4);
        ++seed;
        check(p);
        p.add_in_place = true;
        std::vector<uint8_t> want, got;
        p.run(*gemm_u8s8_ops_ref(), &want, nullptr);
        p.run(*ops_, &got, &pool2_);
        expect_same(p, want, got, std::string(GetParam().name) + " vs ref, " + describe(p));
      }
}

// A in segments (an implicit-GEMM convolution: rows that overlap, one segment per kernel
// row) against the plain GEMM on the same A gathered into rows, where the implementation has
// it (the reference and VNNI; the others leave it null and are not asked).
TEST_P(GemmU8S8, SegmentedAMatchesGatheredRows) {
  if (!ops_->gemm_segmented) {
    EXPECT_TRUE(GetParam().isa != Isa::ref && GetParam().isa != Isa::vnni) << GetParam().name;
    return;
  }
  struct Case { int64_t M, N, count, seg_k, lda, stride; };
  const Case cases[] = {{56, 64, 3, 192, 64, 3712}, {13, 150, 3, 36, 12, 100}, {1, 16, 7, 28, 4, 300},
                        {7, 200, 2, 4, 8, 40},      {28, 256, 3, 384, 256, 7680}, {40, 72, 9, 8, 8, 96}};
  int seed = 0;
  for (const Case& c : cases)
    for (QOutType out : {QOutType::u8, QOutType::s32, QOutType::f32, QOutType::s8}) {
      Options o = options();
      o.out = out;
      o.add = out == QOutType::u8 || out == QOutType::s8;
      o.a_zp = 11 * seed;
      const int64_t K = c.count * c.seg_k;
      Problem p = make_problem(c.M, c.N, K, seed % 2, o, 7000 + seed, 0, seed % 3);
      ++seed;
      // The image the segments read, and the same A gathered into plain rows.
      std::mt19937 rng(seed);
      std::vector<uint8_t> image(static_cast<size_t>((c.M - 1) * c.lda + (c.count - 1) * c.stride + c.seg_k));
      for (auto& v : image) v = static_cast<uint8_t>(rng());
      for (int64_t m = 0; m < c.M; ++m)
        for (int64_t k = 0; k < K; ++k)
          p.a[m * p.lda + k] = image[m * c.lda + (k / c.seg_k) * c.stride + k % c.seg_k];
      std::vector<uint8_t> want;
      p.run(*gemm_u8s8_ops_ref(), &want, nullptr);
      PackedBU8S8 packed;
      ops_->pack_b(p.b.data(), K, c.N, p.ldb, p.trans_b, p.bias.data(), p.a_zp, &packed);
      const ASegments seg{c.count, c.seg_k, c.stride};
      for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2_}) {
        std::vector<uint8_t> got(want.size(), 0xA5);
        ops_->gemm_segmented(c.M, image.data(), c.lda, seg, packed, got.data(), p.ldc, p.ep, pool);
        expect_same(p, want, got, std::string(GetParam().name) + " segmented, " + describe(p) +
                                      (pool ? " 2 threads" : ""));
      }
    }
  // Malformed segments are refused: seg_k not a multiple of 4, count * seg_k != K.
  Problem p = make_problem(4, 16, 24, false, options(), 1);
  PackedBU8S8 packed;
  ops_->pack_b(p.b.data(), 24, 16, p.ldb, false, nullptr, 0, &packed);
  std::vector<uint8_t> img(256), out(64 * 4);
  EXPECT_THROW(ops_->gemm_segmented(4, img.data(), 4, ASegments{4, 6, 8}, packed, out.data(), 16, p.ep, nullptr),
               Error);
  EXPECT_THROW(ops_->gemm_segmented(4, img.data(), 4, ASegments{2, 8, 8}, packed, out.data(), 16, p.ep, nullptr),
               Error);
}

TEST_P(GemmU8S8, RaggedTailsAndEdgeShapes) {
  struct Shape { int64_t M, N, K; };
  const Shape shapes[] = {
      {1, 1, 1},   {0, 16, 8},   {0, 0, 0},    {3, 0, 5},    {7, 1, 33},   {1, 64, 4},
      {2, 65, 5},  {6, 64, 64},  {13, 17, 3},  {5, 48, 2},   {12, 80, 1},  {1, 1000, 37},
      {25, 63, 7}, {31, 129, 6}, {4, 16, 255}, {9, 33, 257}, {2, 200, 513}, {1, 7, 0},
  };
  int seed = 0;
  for (const Shape& s : shapes)
    for (bool trans_b : {false, true}) {
      Options o = options();
      o.out = seed % 2 ? QOutType::u8 : QOutType::s32;
      o.a_zp = 3 * seed;
      o.residual = seed % 3 == 0;
      const int64_t lda_pad = seed % 3, ldc_pad = seed % 4;
      check(make_problem(s.M, s.N, s.K, trans_b, o, 2000 + seed, lda_pad, ldc_pad), false);
      ++seed;
    }
}

// K above every implementation's K block (partial sums between blocks, K remainder in the
// last one), M above the row block, several panels, and 2 threads.
TEST_P(GemmU8S8, BlockedKAndThreads) {
  struct Shape { int64_t M, N, K; };
  const Shape shapes[] = {{70, 200, 1027}, {203, 70, 300}, {1, 300, 2051},
                          {40, 1000, 68}, {13, 70, 4611}, {20, 40, 9300}};
  int seed = 0;
  for (const Shape& s : shapes)
    for (QOutType out : {QOutType::u8, QOutType::s32, QOutType::f32, QOutType::s8}) {
      Options o = options();
      o.out = out;
      o.a_zp = 128;
      o.residual = seed % 2;
      o.narrow = true;
      o.act = out == QOutType::f32 ? Activation::clip : Activation::none;
      check(make_problem(s.M, s.N, s.K, seed % 2, o, 3000 + seed, 1, 3));
      ++seed;
    }
}

// Buffers that end exactly at an inaccessible page: a kernel that reads or writes past the
// last row of A, the residual, the scales or the output (e.g. a whole group of 4 k for a
// K remainder) faults.
class GuardedBytes {
 public:
  explicit GuardedBytes(size_t bytes) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    span_ = (bytes + page_ - 1) / page_ * page_ + page_;
    base_ = static_cast<uint8_t*>(
        mmap(nullptr, span_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) throw std::runtime_error("mmap failed");
    mprotect(base_ + span_ - page_, page_, PROT_NONE);
    data_ = base_ + span_ - page_ - bytes;
  }
  ~GuardedBytes() { munmap(base_, span_); }
  uint8_t* data() { return data_; }

 private:
  size_t page_ = 0, span_ = 0;
  uint8_t *base_ = nullptr, *data_ = nullptr;
};

TEST_P(GemmU8S8, StaysInsideBuffers) {
  for (int64_t K : {1, 2, 3, 5, 6, 7, 130, 259})
    for (QOutType out : {QOutType::u8, QOutType::f32, QOutType::s32}) {
      const int64_t M = 7, N = 37;
      Options o = options();
      o.out = out;
      o.residual = out != QOutType::s32;
      Problem p = make_problem(M, N, K, false, o, 4000 + int(K));
      GuardedBytes a(p.a.size()), res(std::max<size_t>(p.residual.size(), 1)),
          scale(N * sizeof(float)), dst(size_t(M * N * out_bytes(out)));
      std::memcpy(a.data(), p.a.data(), p.a.size());
      if (!p.residual.empty()) std::memcpy(res.data(), p.residual.data(), p.residual.size());
      std::memcpy(scale.data(), p.scale.data(), N * sizeof(float));
      PackedBU8S8 packed;
      ops_->pack_b(p.b.data(), K, N, p.ldb, false, p.bias.data(), 0, &packed);
      EpilogueQ ep = p.ep;
      ep.scale = reinterpret_cast<const float*>(scale.data());
      if (o.residual) ep.residual = res.data();
      ops_->gemm(M, a.data(), p.lda, packed, dst.data(), N, ep, nullptr);
      std::vector<uint8_t> want;
      p.ldc = N;
      p.run(*gemm_u8s8_ops_ref(), &want, nullptr);
      EXPECT_EQ(std::memcmp(want.data(), dst.data(), size_t(M * N * out_bytes(out))), 0)
          << GetParam().name << " K=" << K;
    }
}

// An in-place residual add: the residual is the u8 output itself.
TEST_P(GemmU8S8, ResidualMayAliasOutput) {
  for (int64_t K : {5, 300}) {
    Options o = options();
    o.residual = true;
    Problem p = make_problem(17, 70, K, false, o, 5000 + int(K));
    p.ep.ldr = p.ldc;
    p.residual.assign(size_t(p.M * p.ldc), 0);
    for (size_t i = 0; i < p.residual.size(); ++i) p.residual[i] = uint8_t(i * 37 + 11);
    p.ep.residual = p.residual.data();
    std::vector<uint8_t> want;
    p.run(*gemm_u8s8_ops_ref(), &want, nullptr);

    PackedBU8S8 packed;
    ops_->pack_b(p.b.data(), K, p.N, p.ldb, false, p.bias.data(), 0, &packed);
    std::vector<uint8_t> inout = p.residual;
    EpilogueQ ep = p.ep;
    ep.residual = inout.data();
    ops_->gemm(p.M, p.a.data(), p.lda, packed, inout.data(), p.ldc, ep, nullptr);
    for (int64_t m = 0; m < p.M; ++m)
      ASSERT_EQ(std::memcmp(&want[size_t(m * p.ldc)], &inout[size_t(m * p.ldc)], size_t(p.N)), 0)
          << GetParam().name << " K=" << K << " row " << m;
  }
}

TEST_P(GemmU8S8, RejectsForeignPackingAndBadRanges) {
  const int8_t b[4] = {1, 2, 3, 4};
  const uint8_t a[2] = {1, 2};
  float scale[2] = {1, 1};
  uint8_t out[4];
  EpilogueQ ep;
  ep.scale = scale;
  const GemmU8S8Ops* other =
      GetParam().isa == Isa::ref ? gemm_u8s8_ops_avx2() : gemm_u8s8_ops_ref();
  PackedBU8S8 foreign;  // packing needs no particular ISA
  other->pack_b(b, 2, 2, 2, false, nullptr, 0, &foreign);
  EXPECT_THROW(ops_->gemm(1, a, 2, foreign, out, 2, ep, nullptr), Error);
  PackedBU8S8 packed;
  ops_->pack_b(b, 2, 2, 2, false, nullptr, 0, &packed);
  ep.q_lo = 10, ep.q_hi = 5;
  EXPECT_THROW(ops_->gemm(1, a, 2, packed, out, 2, ep, nullptr), Error);
  ep.q_lo = 0, ep.q_hi = 255, ep.out_zero_point = 300;
  EXPECT_THROW(ops_->gemm(1, a, 2, packed, out, 2, ep, nullptr), Error);
  ep.out_zero_point = 0;
  EXPECT_THROW(ops_->gemm(1, a, 1, packed, out, 2, ep, nullptr), Error);  // lda < K
  EXPECT_THROW(ops_->pack_b(b, 2, 2, 1, false, nullptr, 0, &packed), Error);  // ldb < N
  ep.scale = nullptr;
  EXPECT_THROW(ops_->gemm(1, a, 2, packed, out, 2, ep, nullptr), Error);
}

INSTANTIATE_TEST_SUITE_P(All, GemmU8S8, ::testing::ValuesIn(kImpls),
                         [](const ::testing::TestParamInfo<Impl>& info) {
                           return std::string(info.param.name);
                         });

// Packed weights are what an INT8 model keeps in memory: every table stores B as s8 (the
// AVX2 exact kernel widens it as it loads), so a weight costs one byte plus panel and k-group
// padding. The AVX-512 exact table (AVX-512 CPUs without VNNI) still stores s16 pairs.
// Packing runs on any CPU, so this checks every table.
TEST(GemmU8S8Packing, OneBytePerWeight) {
  const int64_t K = 259, N = 37;
  std::vector<int8_t> b(size_t(K * N), 1);
  for (const Impl& impl : kImpls) {
    ASSERT_NE(impl.ops(), nullptr) << impl.name;
    PackedBU8S8 packed;
    impl.ops()->pack_b(b.data(), K, N, N, false, nullptr, 0, &packed);
    const int64_t columns = (N + packed.nr - 1) / packed.nr * packed.nr;
    const int64_t one_byte = columns * ((K + 3) / 4 * 4);  // k padded to the widest group
    const bool s16 = impl.isa == Isa::avx512 && !impl.fast;
    EXPECT_LE(int64_t(packed.data.size()), s16 ? 2 * one_byte : one_byte)
        << impl.name << ": " << packed.data.size() << " bytes for " << K << " x " << N;
    EXPECT_GE(int64_t(packed.data.size()), K * N) << impl.name;
  }
}

// ---------------------------------------------------------------------------------------
// The fast kernels saturate: with a = 255 and w = 127 (or -128) every pair
// a*w0 + a*w1 = +-64770 / -65280 clips to 32767 / -32768 in vpmaddubsw, so the result moves
// toward zero by a known amount, where the reference (and the exact kernels) do not.
TEST(GemmU8S8Fast, SaturatesWherePairsOverflow) {
  for (const Impl* impl : {&kImpls[2], &kImpls[4]}) {
    if (!cpu_supports(impl->isa)) {
      std::printf("[ SKIPPED  ] %s: CPU lacks %s\n", impl->name, isa_name(impl->isa));
      continue;
    }
    const int64_t K = 10, N = 3;  // 5 pairs: 2 whole groups of 4 k and a remainder of 2
    std::vector<uint8_t> a(K, 255);
    std::vector<int8_t> b(K * N);
    for (int64_t k = 0; k < K; ++k) {
      b[k * N + 0] = 127;                // pairs of 255*127*2 = 64770 -> 32767
      b[k * N + 1] = -128;               // pairs of -65280 -> -32768
      b[k * N + 2] = k % 2 ? 64 : -64;   // pairs of 0: exact
    }
    EXPECT_FALSE(u8s8_fast_is_exact(b.data(), K, N, N, false));
    std::vector<int8_t> col2(K);
    for (int64_t k = 0; k < K; ++k) col2[k] = b[k * N + 2];
    EXPECT_TRUE(u8s8_fast_is_exact(col2.data(), K, 1, 1, false));

    EpilogueQ ep;
    ep.out_type = QOutType::s32;
    int32_t want[N], got[N];
    PackedBU8S8 pr, pf;
    gemm_u8s8_ops_ref()->pack_b(b.data(), K, N, N, false, nullptr, 0, &pr);
    impl->ops()->pack_b(b.data(), K, N, N, false, nullptr, 0, &pf);
    gemm_u8s8_ops_ref()->gemm(1, a.data(), K, pr, want, N, ep, nullptr);
    impl->ops()->gemm(1, a.data(), K, pf, got, N, ep, nullptr);
    EXPECT_EQ(want[0], 10 * 255 * 127);
    EXPECT_EQ(got[0], 5 * 32767) << impl->name << " saturates each positive pair";
    EXPECT_EQ(want[1], -10 * 255 * 128);
    EXPECT_EQ(got[1], 5 * -32768) << impl->name << " saturates each negative pair";
    EXPECT_EQ(got[2], want[2]) << impl->name << " exact where pairs fit int16";

    // The exact kernel of the same ISA does not saturate.
    const GemmU8S8Ops* exact =
        impl->isa == Isa::avx2 ? gemm_u8s8_ops_avx2() : gemm_u8s8_ops_avx512();
    PackedBU8S8 pe;
    exact->pack_b(b.data(), K, N, N, false, nullptr, 0, &pe);
    int32_t got_exact[N];
    exact->gemm(1, a.data(), K, pe, got_exact, N, ep, nullptr);
    EXPECT_EQ(std::memcmp(got_exact, want, sizeof want), 0);
  }
}

TEST(GemmU8S8Fast, ExactnessCheck) {
  std::vector<int8_t> b = {64, 64, -64, -64};
  EXPECT_TRUE(u8s8_fast_is_exact(b.data(), 4, 1, 1, false));
  b = {-128, 0, 127, 1};  // -32640 fits; 255 * 128 = 32640 fits
  EXPECT_TRUE(u8s8_fast_is_exact(b.data(), 4, 1, 1, false));
  b = {127, 2, 0, 0};  // 255 * 129 = 32895 > 32767
  EXPECT_FALSE(u8s8_fast_is_exact(b.data(), 4, 1, 1, false));
  b = {0, 127, 2, 0};  // k = 1 and 2 are not a pair
  EXPECT_TRUE(u8s8_fast_is_exact(b.data(), 4, 1, 1, false));
}

}  // namespace
}  // namespace octet::kernels
