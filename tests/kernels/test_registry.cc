// The walk over the kernel registry (registry.h): for every level this CPU has (available_isas,
// _fast variants included), every family of its table is one this test knows, is named after
// that level or one below it, and gives the reference level's results on small ragged shapes
// (odd sizes, tails that are not multiples of the vector widths): bit for bit for the INT8
// families and the ones documented exact, within a stated bound for the FP32 arithmetic ones.
// A family added to the registry without a check here fails the walk by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "octet/kernels/isa.h"
#include "octet/kernels/registry.h"

namespace octet::kernels {
namespace {

const KernelRegistry& ref_table() { return kernel_registry(IsaChoice{Isa::ref, false}); }

struct Rng {
  std::mt19937 gen;
  explicit Rng(unsigned seed) : gen(seed) {}
  int in(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); }
  float real(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen); }
  template <class T>
  std::vector<T> ints(int64_t n, int lo, int hi) {
    std::vector<T> v(static_cast<size_t>(std::max<int64_t>(n, 1)));
    for (T& x : v) x = static_cast<T>(in(lo, hi));
    return v;
  }
  std::vector<float> reals(int64_t n, float lo = -1, float hi = 1) {
    std::vector<float> v(static_cast<size_t>(std::max<int64_t>(n, 1)));
    for (float& x : v) x = real(lo, hi);
    return v;
  }
};

// Index of the first element that differs (bytes compared for floats too), or -1.
template <class T>
int64_t first_diff(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return static_cast<int64_t>(i);
  return -1;
}

// The highest level whose token ("_avx2" ending the name or followed by '_') the name holds, or -1.
int level_named(const std::string& name) {
  int found = -1;
  for (int l = 0; l < 4; ++l) {
    const std::string tok = std::string("_") + isa_name(static_cast<Isa>(l));
    for (size_t at = name.find(tok); at != std::string::npos; at = name.find(tok, at + 1)) {
      const size_t end = at + tok.size();
      if (end == name.size() || name[end] == '_') found = std::max(found, l);
    }
  }
  return found;
}

const int64_t kLengths[] = {1, 7, 31, 33, 100, 257};
const int64_t kChannels[] = {3, 17, 70};

// ---- GEMM --------------------------------------------------------------------------------

void check_gemm_f32(const KernelRegistry& r, Rng& rng) {
  const GemmF32Ops& ops = *r.gemm_f32;
  const GemmF32Ops& ref = *ref_table().gemm_f32;
  ASSERT_TRUE(ops.pack_b && ops.gemm && ops.gemm_segmented) << ops.name;
  struct Shape { int64_t M, N, K; };
  int t = 0;
  for (const Shape s : {Shape{1, 1, 1}, Shape{7, 13, 5}, Shape{33, 70, 19}, Shape{5, 257, 33}, Shape{15, 31, 100}}) {
    for (int segmented = 0; segmented < 2; ++segmented, ++t) {
      const bool trans_b = t % 2;
      // Segmented: A rows overlap (lda < K), K = 3 segments of seg_k = K, `stride` apart.
      const int64_t K = segmented ? 3 * s.K : s.K, lda = segmented ? 2 : s.K + 3, stride = s.K + 5;
      const int64_t ldb = (trans_b ? K : s.N) + 1, ldc = s.N + 2, ldr = s.N + 1;
      const std::vector<float> a = rng.reals(segmented ? (s.M - 1) * lda + 2 * stride + s.K : s.M * lda);
      const std::vector<float> b = rng.reals((trans_b ? s.N : K) * ldb), bias = rng.reals(s.N);
      const std::vector<float> residual = rng.reals(s.M * ldr);
      EpilogueF32 ep;
      ep.bias = t % 3 ? bias.data() : nullptr;
      ep.residual = t % 4 >= 2 ? residual.data() : nullptr;
      ep.ldr = ldr;
      ep.act = static_cast<Activation>(t % 4);
      ep.clip_lo = -0.5f, ep.clip_hi = 0.7f;
      PackedBF32 pr, pl;
      ref.pack_b(b.data(), K, s.N, ldb, trans_b, &pr);
      ops.pack_b(b.data(), K, s.N, ldb, trans_b, &pl);
      std::vector<float> want(static_cast<size_t>(s.M * ldc), -7.f), got = want;
      const ASegments seg{3, s.K, stride};
      if (segmented) {
        ref.gemm_segmented(s.M, a.data(), lda, seg, pr, want.data(), ldc, ep, nullptr);
        ops.gemm_segmented(s.M, a.data(), lda, seg, pl, got.data(), ldc, ep, nullptr);
      } else {
        ref.gemm(s.M, a.data(), lda, pr, want.data(), ldc, ep, nullptr);
        ops.gemm(s.M, a.data(), lda, pl, got.data(), ldc, ep, nullptr);
      }
      // Bound: FP32 rounding of a sum of K products reordered (FMA chains), relative to the
      // sum of magnitudes; the padding columns of C are untouched.
      int bad = 0;
      for (int64_t m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < ldc; ++n) {
          const float w = want[m * ldc + n], g = got[m * ldc + n];
          if (n >= s.N) {
            if (std::memcmp(&w, &g, sizeof w) != 0 && bad++ < 3) ADD_FAILURE() << ops.name << ": wrote past N";
            continue;
          }
          double mag = (ep.bias ? std::fabs(bias[n]) : 0) + (ep.residual ? std::fabs(residual[m * ldr + n]) : 0);
          for (int64_t k = 0; k < K; ++k) {
            const float av = segmented ? a[m * lda + (k / s.K) * stride + k % s.K] : a[m * lda + k];
            mag += std::fabs(double(av) * b[trans_b ? n * ldb + k : k * ldb + n]);
          }
          if (!(std::fabs(double(g) - w) <= 2e-5 * mag + 1e-30) && bad++ < 3)
            ADD_FAILURE() << ops.name << (segmented ? " segmented" : "") << " M,N,K " << s.M << "," << s.N << ","
                          << K << " act " << t % 4 << " at " << m << "," << n << ": " << g << " want " << w;
        }
    }
  }
}

// Bit for bit against the reference, every output type, residual and fused add included.
// Weights in [w_lo, w_hi] (the _fast tables are exact for [-64, 64] only).
void check_gemm_u8s8(const GemmU8S8Ops* ops, int w_lo, int w_hi, Rng& rng) {
  ASSERT_NE(ops, nullptr);
  ASSERT_TRUE(ops->pack_b && ops->gemm) << ops->name;
  const GemmU8S8Ops& ref = *ref_table().gemm_u8s8;
  struct Shape { int64_t M, N, K; };
  int t = 0;
  for (const Shape s : {Shape{1, 1, 1}, Shape{7, 13, 5}, Shape{33, 70, 19}, Shape{4, 100, 64}, Shape{9, 257, 3}})
    for (QOutType out : {QOutType::u8, QOutType::s8, QOutType::s32, QOutType::f32})
      for (int segmented = 0; segmented < (ops->gemm_segmented ? 2 : 1); ++segmented, ++t) {
        const bool trans_b = t % 2;
        const int64_t seg_k = 4 * ((s.K + 3) / 4), stride = seg_k + 9;  // segments: seg_k a multiple of 4
        const int64_t K = segmented ? 2 * seg_k : s.K, lda = segmented ? 4 : s.K + 3;
        const int64_t ldb = (trans_b ? K : s.N) + 1, ldc = s.N + 2;
        const int64_t a_size = segmented ? (s.M - 1) * lda + stride + seg_k : s.M * lda;
        const std::vector<uint8_t> a = rng.ints<uint8_t>(a_size, 0, 255);
        const std::vector<int8_t> b = rng.ints<int8_t>((trans_b ? s.N : K) * ldb, w_lo, w_hi);
        const std::vector<int32_t> bias = rng.ints<int32_t>(s.N, -20000, 20000);
        const std::vector<uint8_t> residual = rng.ints<uint8_t>(s.M * ldc, 0, 255);
        const std::vector<uint8_t> add = rng.ints<uint8_t>(s.M * ldc, 0, 255);
        const int32_t a_zp = rng.in(0, 255);
        std::vector<float> scale(static_cast<size_t>(s.N));
        const float typical = static_cast<float>(100.0 / (std::sqrt(double(K)) * 8000.0 + 1));  // y around +-100
        for (float& v : scale) v = typical * rng.real(0.3f, 3.f);
        EpilogueQ ep;
        ep.scale = scale.data();
        ep.out_type = out;
        const bool s8 = out == QOutType::s8;
        ep.q_lo = s8 ? -128 : 0, ep.q_hi = s8 ? 127 : 255;
        ep.out_zero_point = s8 ? rng.in(-20, 20) : rng.in(0, 255);
        if (out == QOutType::u8 && t % 2) {
          ep.q_lo = ep.out_zero_point;  // a ReLU
          ep.residual = residual.data(), ep.ldr = ldc, ep.r_zero_point = rng.in(0, 255), ep.r_scale = 0.3f;
        } else if (out == QOutType::u8 || s8) {
          ep.add_input = add.data(), ep.ld_add = ldc;
          ep.add = qadd_q8_params(0.05f, rng.in(0, 20), 0.03f, rng.in(0, 20), 0.07f, rng.in(0, 20), s8);
        }
        ep.act = out == QOutType::f32 ? static_cast<Activation>(t % 3) : Activation::none;
        ep.clip_lo = -5, ep.clip_hi = 30;
        PackedBU8S8 pr, pl;
        ref.pack_b(b.data(), K, s.N, ldb, trans_b, t % 3 ? bias.data() : nullptr, a_zp, &pr);
        ops->pack_b(b.data(), K, s.N, ldb, trans_b, t % 3 ? bias.data() : nullptr, a_zp, &pl);
        const int64_t elem = out == QOutType::u8 || s8 ? 1 : 4;
        std::vector<uint8_t> want(static_cast<size_t>(s.M * ldc * elem), 0xA5), got = want;
        if (segmented) {
          const ASegments seg{2, seg_k, stride};
          ref.gemm_segmented(s.M, a.data(), lda, seg, pr, want.data(), ldc, ep, nullptr);
          ops->gemm_segmented(s.M, a.data(), lda, seg, pl, got.data(), ldc, ep, nullptr);
        } else {
          ref.gemm(s.M, a.data(), lda, pr, want.data(), ldc, ep, nullptr);
          ops->gemm(s.M, a.data(), lda, pl, got.data(), ldc, ep, nullptr);
        }
        const int64_t at = first_diff(want, got);
        EXPECT_EQ(at, -1) << ops->name << (segmented ? " segmented" : "") << " M,N,K " << s.M << "," << s.N << ","
                          << K << " out " << static_cast<int>(out) << " trans_b " << trans_b
                          << (ep.residual ? " residual" : "") << (ep.add_input ? " add" : "") << ": byte " << at;
      }
}

void check_gemm_u8s8_table(const KernelRegistry& r, Rng& rng) {
  const bool fast = r.choice.fast && (r.choice.isa == Isa::avx2 || r.choice.isa == Isa::avx512);
  check_gemm_u8s8(r.gemm_u8s8, fast ? -64 : -128, fast ? 64 : 127, rng);
}

void check_gemm_u8s8_where_exact(const KernelRegistry& r, Rng& rng) {
  if (!r.gemm_u8s8_where_exact) return;  // "-": nothing to run
  check_gemm_u8s8(r.gemm_u8s8_where_exact, -64, 64, rng);
}

// A pure copy: exact, padding included.
void check_im2col_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.im2col_f32.run, nullptr);
  struct Geo { int64_t C, H, W, k, stride, pad; };
  for (const Geo g : {Geo{3, 5, 7, 3, 1, 1}, Geo{17, 9, 13, 3, 2, 1}, Geo{2, 5, 33, 5, 1, 2}, Geo{5, 7, 5, 1, 1, 0}})
    for (int64_t nr : {16, 32, 33}) {
      const int64_t OH = (g.H + 2 * g.pad - g.k) / g.stride + 1, OW = (g.W + 2 * g.pad - g.k) / g.stride + 1;
      Im2colF32 geo;
      geo.in_h = g.H, geo.in_w = g.W, geo.out_w = OW, geo.stride_h = g.stride, geo.stride_w = g.stride;
      geo.pointwise = g.k == 1 && g.stride == 1 && g.pad == 0;
      std::vector<Im2colRowF32> rows;  // as the FP32 conv builds them
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t kh = 0; kh < g.k; ++kh)
          for (int64_t kw = 0; kw < g.k; ++kw) {
            Im2colRowF32 row{c * g.H * g.W, kh - g.pad, kw - g.pad, 0, 0};
            row.ow_lo = std::min(row.w_off >= 0 ? 0 : (-row.w_off + g.stride - 1) / g.stride, OW);
            row.ow_hi = std::clamp(g.W - 1 - row.w_off >= 0 ? (g.W - 1 - row.w_off) / g.stride + 1 : 0, row.ow_lo, OW);
            rows.push_back(row);
          }
      const int64_t K = static_cast<int64_t>(rows.size()), P = OH * OW;
      const std::vector<float> x = rng.reals(g.C * g.H * g.W);
      for (int64_t p = 0; p < P; p += nr) {
        const int64_t cols = std::min(nr, P - p);
        std::vector<float> want(static_cast<size_t>(K * nr), std::numeric_limits<float>::quiet_NaN()), got = want;
        ref_table().im2col_f32.run(geo, rows.data(), K, x.data(), p, cols, nr, want.data());
        r.im2col_f32.run(geo, rows.data(), K, x.data(), p, cols, nr, got.data());
        ASSERT_EQ(first_diff(want, got), -1) << r.im2col_f32.name << " C " << g.C << " " << g.H << "x" << g.W
                                             << " k " << g.k << " stride " << g.stride << " nr " << nr << " p " << p;
      }
    }
}

// ---- Depthwise convolution ----------------------------------------------------------------

struct Window { int64_t H, W, k, stride, dilation, pad; };
const Window kWindows[] = {{5, 7, 3, 1, 1, 1}, {9, 33, 5, 2, 1, 2}, {1, 70, 3, 1, 2, 2}, {6, 5, 3, 2, 1, 3}};

NhwcWindow nhwc_window(const Window& w, int64_t channels) {
  NhwcWindow n;
  n.in_h = w.H, n.in_w = w.W, n.channels = channels;
  n.kernel_h = w.H == 1 ? 1 : w.k, n.kernel_w = w.k;
  n.stride_h = n.stride_w = w.stride, n.dilation_h = n.dilation_w = w.dilation;
  n.pad_top = w.H == 1 ? 0 : w.pad, n.pad_left = w.pad;
  n.out_h = (n.in_h + 2 * n.pad_top - ((n.kernel_h - 1) * w.dilation + 1)) / w.stride + 1;
  n.out_w = (n.in_w + 2 * n.pad_left - ((n.kernel_w - 1) * w.dilation + 1)) / w.stride + 1;
  return n;
}

// Calls body(p, C, t) for a P holding each window of kWindows with each channel count of
// kChannels; t counts the cases (it picks the options a case varies).
template <class P, class Body>
void for_each_nhwc_case(Body body) {
  int t = 0;
  for (const Window& w : kWindows)
    for (int64_t C : kChannels) {
      P p;
      static_cast<NhwcWindow&>(p) = nhwc_window(w, C);
      body(p, C, t++);
    }
}

// A channels-last kernel over output rows: the reference over all rows into `want`, the
// level's kernel in two calls (rows split in half) into `got`. `extra`: its scratch, if any.
template <class P, class Fn, class T, class... Extra>
void run_rows(P& p, Fn ref, Fn level, T* want, T* got, Extra... extra) {
  p.out = want;
  ref(p, 0, p.out_h, extra...);
  p.out = got;
  level(p, 0, p.out_h / 2, extra...);
  level(p, p.out_h / 2, p.out_h, extra...);
}

template <class T>
void expect_near(const std::vector<T>& want, const std::vector<T>& got, double tol, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_TRUE(std::fabs(double(got[i]) - want[i]) <= tol) << what << " element " << i << ": " << got[i] << " want "
                                                            << want[i];
}

void check_dwconv_f32(const KernelRegistry& r, Rng& rng) {
  const DwConvF32Ops& ops = *r.dwconv_f32;
  ASSERT_TRUE(ops.accepts && ops.plane) << ops.name;
  int t = 0;
  for (const Window& w : kWindows) {
    const NhwcWindow n = nhwc_window(w, 1);
    DwConvF32Shape s;
    s.in_h = n.in_h, s.in_w = n.in_w, s.out_h = n.out_h, s.out_w = n.out_w, s.kernel_h = n.kernel_h,
    s.kernel_w = n.kernel_w, s.stride_h = s.stride_w = w.stride, s.dilation_h = s.dilation_w = w.dilation,
    s.pad_top = n.pad_top, s.pad_left = n.pad_left;
    ASSERT_TRUE(ref_table().dwconv_f32->accepts(s));
    if (!ops.accepts(s)) continue;  // the caller runs the level below: nothing of this level's runs
    for (int act = 0; act < 4; ++act, ++t) {
      const std::vector<float> x = rng.reals(s.in_h * s.in_w), wt = rng.reals(s.kernel_h * s.kernel_w);
      const std::vector<float> res = rng.reals(s.out_h * s.out_w);
      const float bias = rng.real(-1, 1);
      std::vector<float> want(static_cast<size_t>(s.out_h * s.out_w)), got = want;
      const float* residual = t % 2 ? res.data() : nullptr;
      ref_table().dwconv_f32->plane(s, x.data(), wt.data(), bias, residual, static_cast<Activation>(act), -0.5f,
                                    0.6f, want.data());
      ops.plane(s, x.data(), wt.data(), bias, residual, static_cast<Activation>(act), -0.5f, 0.6f, got.data());
      // Inputs in [-1, 1], at most 25 taps: FMA contraction moves a result by a few ulp of ~10.
      expect_near(want, got, 1e-5, std::string(ops.name) + " window " + std::to_string(t));
    }
  }
}

void check_dwconv_nhwc_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.dwconv_nhwc_f32.run, nullptr);
  for_each_nhwc_case<DwConvNhwcF32>([&](DwConvNhwcF32& p, int64_t C, int t) {
    const std::vector<float> x = rng.reals(p.in_h * p.in_w * C), wt = rng.reals(p.kernel_h * p.kernel_w * C),
                             bias = rng.reals(C), res = rng.reals(p.out_h * p.out_w * C);
    p.in = x.data(), p.weights = wt.data(), p.bias = t % 3 ? bias.data() : nullptr;
    p.residual = t % 2 ? res.data() : nullptr;
    p.act = static_cast<Activation>(t % 4), p.clip_lo = -0.5f, p.clip_hi = 0.6f;
    std::vector<float> want(static_cast<size_t>(p.out_h * p.out_w * C)), got = want, scratch(static_cast<size_t>(C));
    run_rows(p, ref_table().dwconv_nhwc_f32.run, r.dwconv_nhwc_f32.run, want.data(), got.data(), scratch.data());
    expect_near(want, got, 1e-5, std::string(r.dwconv_nhwc_f32.name) + " C " + std::to_string(C));
  });
}

void check_dwconv_u8s8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.dwconv_u8s8.run, nullptr);
  int t = 0;
  for (const Window& w : kWindows) {
    const NhwcWindow n = nhwc_window(w, 1);
    DwConvU8S8Plane p;  // the plane comes padded
    p.in_h = n.in_h + 2 * n.pad_top, p.in_w = n.in_w + 2 * n.pad_left, p.out_h = n.out_h, p.out_w = n.out_w;
    p.kernel_h = n.kernel_h, p.kernel_w = n.kernel_w, p.stride_h = p.stride_w = w.stride;
    p.dilation_h = p.dilation_w = w.dilation;
    for (int s8 = 0; s8 < 2; ++s8, ++t) {
      const std::vector<uint8_t> in = rng.ints<uint8_t>(p.in_h * p.in_w, 0, 255);
      const std::vector<int32_t> wt = rng.ints<int32_t>(p.kernel_h * p.kernel_w, -128, 127);
      p.in = in.data(), p.weights = wt.data(), p.comp = rng.in(-100000, 100000), p.scale = rng.real(0.0005f, 0.02f);
      p.q_lo = s8 ? -128 : 0, p.q_hi = s8 ? 127 : 255, p.zero_point = s8 ? rng.in(-20, 20) : rng.in(0, 255);
      std::vector<uint8_t> want(static_cast<size_t>(p.out_h * p.out_w), 0xAB), got = want;
      std::vector<char> scratch(static_cast<size_t>(dwconv_u8s8_scratch_bytes(p)));
      p.out = want.data();
      ref_table().dwconv_u8s8.run(p, scratch.data());
      p.out = got.data();
      r.dwconv_u8s8.run(p, scratch.data());
      ASSERT_EQ(first_diff(want, got), -1) << r.dwconv_u8s8.name << " plane " << p.in_h << "x" << p.in_w << " k "
                                           << p.kernel_w << " stride " << w.stride << " s8 " << s8;
    }
  }
}

// Through dwconv_nhwc_u8s8_prepare, as the engine runs it: weights in s8 (a packing level
// packs them) and beyond it (its packing declines and the level below runs).
void check_dwconv_nhwc_u8s8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.dwconv_nhwc_u8s8, nullptr);
  for_each_nhwc_case<DwConvU8S8Nhwc>([&](DwConvU8S8Nhwc& p, int64_t C, int t) {
    const int64_t taps = p.kernel_h * p.kernel_w;
    const bool wide = t % 5 == 4;
    const std::vector<uint8_t> in = rng.ints<uint8_t>(p.in_h * p.in_w * C, 0, 255);
    const std::vector<int32_t> wt = rng.ints<int32_t>(taps * C, wide ? -300 : -128, wide ? 300 : 127);
    const std::vector<int32_t> comp = rng.ints<int32_t>(C, -100000, 100000);
    std::vector<float> scale = rng.reals(C, 0.0005f, 0.02f);
    const bool s8 = t % 2;
    p.in = in.data(), p.weights = wt.data(), p.comp = comp.data(), p.scale = scale.data();
    p.x_zero = static_cast<uint8_t>(rng.in(0, 255));
    p.q_lo = s8 ? -128 : 0, p.q_hi = s8 ? 127 : 255, p.zero_point = s8 ? rng.in(-20, 20) : rng.in(0, 255);
    std::vector<uint8_t> want(static_cast<size_t>(p.out_h * p.out_w * C), 0xAB), got = want, packed;
    std::vector<uint8_t> scratch(static_cast<size_t>(dwconv_nhwc_u8s8_scratch_bytes(p)));
    const DwConvNhwcU8S8Ops& ops =
        dwconv_nhwc_u8s8_prepare(*r.dwconv_nhwc_u8s8, wt.data(), comp.data(), scale.data(), taps, C, &packed);
    ASSERT_NE(ops.run, nullptr) << ops.name;
    EXPECT_EQ(wide && r.dwconv_nhwc_u8s8->pack, &ops != r.dwconv_nhwc_u8s8) << ops.name;
    p.vnni_packed = packed.empty() ? nullptr : packed.data();  // read by the vnni kernel only
    run_rows(p, ref_table().dwconv_nhwc_u8s8->run, ops.run, want.data(), got.data(), scratch.data());
    ASSERT_EQ(first_diff(want, got), -1) << ops.name << " C " << C << " " << p.in_h << "x" << p.in_w << " k "
                                         << p.kernel_w << " stride " << p.stride_w << (wide ? " wide weights" : "");
  });
}

// ---- Pooling ------------------------------------------------------------------------------

void check_avgpool_nhwc_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.avgpool_nhwc_f32.run, nullptr);
  for_each_nhwc_case<AvgPoolNhwcF32>([&](AvgPoolNhwcF32& p, int64_t C, int t) {
    p.pad_bottom = p.pad_top, p.pad_right = p.pad_left, p.count_include_pad = t % 2;
    const std::vector<float> x = rng.reals(p.in_h * p.in_w * C, -100, 100);
    std::vector<float> want(static_cast<size_t>(p.out_h * p.out_w * C), -1.f), got = want;
    p.in = x.data();
    run_rows(p, ref_table().avgpool_nhwc_f32.run, r.avgpool_nhwc_f32.run, want.data(), got.data());
    // Documented exact: every build adds and divides in the same order.
    ASSERT_EQ(first_diff(want, got), -1) << r.avgpool_nhwc_f32.name << " C " << C << " window " << p.kernel_w;
  });
}

void check_avgpool_nhwc_q8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.avgpool_nhwc_q8.run, nullptr);
  int t = 0;
  for (const Window& w : kWindows)
    for (int64_t C : kChannels) {
      const NhwcWindow n = nhwc_window(w, C);
      if (n.dilation_h != 1) continue;  // no dilation in this family
      AvgPoolNhwcQ8 p;
      p.in_h = n.in_h, p.in_w = n.in_w, p.channels = C, p.out_h = n.out_h, p.out_w = n.out_w;
      p.kernel_h = n.kernel_h, p.kernel_w = n.kernel_w, p.stride_h = n.stride_h, p.stride_w = n.stride_w;
      p.pad_top = p.pad_bottom = n.pad_top, p.pad_left = p.pad_right = n.pad_left;
      p.count_include_pad = t % 2, p.s8_in = t++ % 3 == 1;
      p.x_zero = p.s8_in ? rng.in(-20, 20) : rng.in(0, 255), p.y_zero = p.s8_in ? rng.in(-20, 20) : rng.in(0, 255);
      p.q_lo = p.s8_in ? -128 : 0, p.q_hi = p.s8_in ? 127 : 255, p.ratio = rng.real(0.25f, 2.f);
      const std::vector<uint8_t> x = rng.ints<uint8_t>(p.in_h * p.in_w * C, 0, 255);
      std::vector<uint8_t> want(static_cast<size_t>(p.out_h * p.out_w * C), 0xAB), got = want;
      std::vector<uint8_t> scratch(static_cast<size_t>(avgpool_nhwc_q8_scratch_bytes(p)));
      p.in = x.data();
      run_rows(p, ref_table().avgpool_nhwc_q8.run, r.avgpool_nhwc_q8.run, want.data(), got.data(),
               static_cast<void*>(scratch.data()));
      ASSERT_EQ(first_diff(want, got), -1) << r.avgpool_nhwc_q8.name << " C " << C << " s8 " << p.s8_in;
    }
}

void check_maxpool_nhwc(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.maxpool_nhwc.run, nullptr);
  for (MaxPoolElem elem : {MaxPoolElem::u8, MaxPoolElem::s8, MaxPoolElem::f32})
    for_each_nhwc_case<MaxPoolNhwc>([&](MaxPoolNhwc& p, int64_t C, int) {
      p.elem = elem;
      const int64_t count = p.in_h * p.in_w * C, out = p.out_h * p.out_w * C, size = elem == MaxPoolElem::f32 ? 4 : 1;
      std::vector<uint8_t> x = rng.ints<uint8_t>(count * size, 0, 255);
      if (elem == MaxPoolElem::f32) {
        const std::vector<float> v = rng.reals(count, -100, 100);
        std::memcpy(x.data(), v.data(), v.size() * 4);
      }
      std::vector<uint8_t> want(static_cast<size_t>(out * size), 0xAB), got = want;
      p.in = x.data();
      run_rows(p, ref_table().maxpool_nhwc.run, r.maxpool_nhwc.run, static_cast<void*>(want.data()),
               static_cast<void*>(got.data()));
      ASSERT_EQ(first_diff(want, got), -1) << r.maxpool_nhwc.name << " elem " << static_cast<int>(elem) << " C "
                                           << C << " window " << p.kernel_w << " stride " << p.stride_w;
    });
}

// ---- Element-wise and data movement -------------------------------------------------------

void check_max_u8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.max_u8.run, nullptr);
  for (int64_t n : kLengths) {
    const std::vector<uint8_t> x = rng.ints<uint8_t>(n + 1, 0, 255), acc = rng.ints<uint8_t>(n + 1, 0, 255);
    std::vector<uint8_t> want = acc, got = acc;
    ref_table().max_u8.run(want.data(), x.data(), n);
    r.max_u8.run(got.data(), x.data(), n);
    ASSERT_EQ(first_diff(want, got), -1) << r.max_u8.name << " n " << n;
  }
}

void check_qadd_q8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.qadd_q8.run, nullptr);
  for (int s8 = 0; s8 < 2; ++s8)
    for (int64_t n : kLengths) {
      const int lo = s8 ? -20 : 0, hi = s8 ? 20 : 255;
      const QAddQ8Params p = qadd_q8_params(rng.real(0.01f, 0.1f), rng.in(lo, hi), rng.real(0.01f, 0.1f),
                                            rng.in(lo, hi), rng.real(0.02f, 0.2f), rng.in(lo, hi), s8);
      ASSERT_TRUE(qadd_q8_params_ok(p));
      const std::vector<uint8_t> a = rng.ints<uint8_t>(n + 1, 0, 255), b = rng.ints<uint8_t>(n + 1, 0, 255);
      std::vector<uint8_t> want(a.size(), 0xAB), got = want, in_place = a;
      ref_table().qadd_q8.run(a.data(), b.data(), want.data(), n, p);
      r.qadd_q8.run(a.data(), b.data(), got.data(), n, p);
      ASSERT_EQ(first_diff(want, got), -1) << r.qadd_q8.name << " n " << n << " s8 " << s8;
      r.qadd_q8.run(in_place.data(), b.data(), in_place.data(), n, p);  // y aliasing a
      in_place.back() = 0xAB;
      ASSERT_EQ(first_diff(want, in_place), -1) << r.qadd_q8.name << " in place, n " << n;
    }
}

void check_quantize_f32_q8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.quantize_f32_q8.run, nullptr);
  for (int s8 = 0; s8 < 2; ++s8)
    for (int64_t n : kLengths) {
      std::vector<float> x = rng.reals(n, -12, 12);
      const float scale = 0.05f;
      for (int64_t i = 0; i < n; i += 5) x[i] = 0.05f * (static_cast<float>(rng.in(-300, 300)) + 0.5f);  // ties
      if (n > 3) x[1] = std::numeric_limits<float>::quiet_NaN(), x[2] = std::numeric_limits<float>::infinity();
      const int32_t zero = s8 ? rng.in(-20, 20) : rng.in(0, 255);
      std::vector<uint8_t> want(static_cast<size_t>(n + 1), 0xAB), got = want;
      ref_table().quantize_f32_q8.run(x.data(), want.data(), n, scale, zero, s8);
      r.quantize_f32_q8.run(x.data(), got.data(), n, scale, zero, s8);
      ASSERT_EQ(first_diff(want, got), -1) << r.quantize_f32_q8.name << " n " << n << " s8 " << s8;
    }
}

void check_dequantize_q8_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.dequantize_q8_f32.run, nullptr);
  for (int s8 = 0; s8 < 2; ++s8)
    for (int64_t n : kLengths) {
      const std::vector<uint8_t> q = rng.ints<uint8_t>(n, 0, 255);
      const float scale = rng.real(0.001f, 0.5f);
      const int32_t zero = s8 ? rng.in(-20, 20) : rng.in(0, 255);
      std::vector<float> want(static_cast<size_t>(n + 1), -3.f), got = want;
      ref_table().dequantize_q8_f32.run(q.data(), want.data(), n, scale, zero, s8);
      r.dequantize_q8_f32.run(q.data(), got.data(), n, scale, zero, s8);
      ASSERT_EQ(first_diff(want, got), -1) << r.dequantize_q8_f32.name << " n " << n << " s8 " << s8;
    }
}

void check_lookup_q8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.lookup_q8.run, nullptr);
  const std::vector<uint8_t> table = rng.ints<uint8_t>(256, 0, 255);
  for (int64_t n : kLengths) {
    const std::vector<uint8_t> x = rng.ints<uint8_t>(n, 0, 255);
    std::vector<uint8_t> want(static_cast<size_t>(n + 1), 0xAB), got = want;
    ref_table().lookup_q8.run(table.data(), x.data(), want.data(), n);
    r.lookup_q8.run(table.data(), x.data(), got.data(), n);
    ASSERT_EQ(first_diff(want, got), -1) << r.lookup_q8.name << " n " << n;
  }
}

// Blocks of 16 x 16 and their tails, rows < 16 with cols > 32, both masks.
void check_transpose_u8(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.transpose_u8.run, nullptr);
  struct Shape { int64_t rows, cols; };
  for (const Shape s : {Shape{1, 1}, Shape{7, 33}, Shape{15, 40}, Shape{3, 257}, Shape{17, 31}, Shape{33, 70},
                        Shape{100, 5}, Shape{64, 64}})
    for (int mask : {0x00, 0x80}) {
      const int64_t lds = s.cols + 3, ldd = s.rows + 5;
      const std::vector<uint8_t> src = rng.ints<uint8_t>(s.rows * lds, 0, 255);
      std::vector<uint8_t> want(static_cast<size_t>(s.cols * ldd), 0xAB), got = want;
      ref_table().transpose_u8.run(src.data(), s.rows, s.cols, lds, want.data(), ldd, static_cast<uint8_t>(mask));
      r.transpose_u8.run(src.data(), s.rows, s.cols, lds, got.data(), ldd, static_cast<uint8_t>(mask));
      ASSERT_EQ(first_diff(want, got), -1) << r.transpose_u8.name << " " << s.rows << "x" << s.cols << " mask " << mask;
    }
}

void check_stripe_hash(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.stripe_hash.run, nullptr);
  for (int64_t stripes : {0, 1, 2, 3, 7, 64, 1001}) {
    const std::vector<uint8_t> data = rng.ints<uint8_t>(stripes * 64 + 1, 0, 255);
    std::vector<uint64_t> want(8), got(8);
    for (int j = 0; j < 8; ++j) want[j] = got[j] = 0x9e3779b97f4a7c15ULL * (j + 1);
    ref_table().stripe_hash.run(want.data(), data.data() + 1, static_cast<size_t>(stripes));  // unaligned
    r.stripe_hash.run(got.data(), data.data() + 1, static_cast<size_t>(stripes));
    ASSERT_EQ(want, got) << r.stripe_hash.name << " " << stripes << " stripes";
  }
}

// The GEMV on the level's own gemm_f32 packing: bit for bit the GEMM's one-row product, on
// ragged N, with and without a bias, whole and split into two panel ranges.
void check_gemv_packed_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.gemv_packed_f32.run, nullptr);
  const GemmF32Ops& ops = *r.gemm_f32;
  struct Shape { int64_t N, K; };
  int t = 0;
  for (const Shape s : {Shape{1, 1}, Shape{13, 5}, Shape{70, 19}, Shape{257, 33}, Shape{31, 100}, Shape{96, 7}}) {
    for (int with_bias = 0; with_bias < 2; ++with_bias, ++t) {
      const std::vector<float> x = rng.reals(s.K), b = rng.reals(s.K * s.N), bias = rng.reals(s.N);
      PackedBF32 packed;
      ops.pack_b(b.data(), s.K, s.N, s.N, false, &packed);
      EpilogueF32 ep;
      ep.bias = with_bias ? bias.data() : nullptr;
      std::vector<float> want(static_cast<size_t>(s.N + 1), -7.f), got = want;
      ops.gemm(1, x.data(), s.K, packed, want.data(), s.N, ep, nullptr);
      const int64_t panels = (s.N + packed.nr - 1) / packed.nr, split = t % 2 ? panels / 2 : panels;
      r.gemv_packed_f32.run(x.data(), packed, ep.bias, got.data(), 0, split);
      r.gemv_packed_f32.run(x.data(), packed, ep.bias, got.data(), split, panels);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
          << r.gemv_packed_f32.name << " on " << ops.name << " N=" << s.N << " K=" << s.K << " bias " << with_bias;
    }
  }
}

// The transformer float families: within loose bounds of the reference (the tight bounds and
// ragged lengths are test_transformer_f32.cc's).
void check_layernorm_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.layernorm_f32.run, nullptr);
  for (int64_t n : kLengths) {
    const std::vector<float> x = rng.reals(2 * n, -3, 3), scale = rng.reals(n), bias = rng.reals(n);
    std::vector<float> want(x.size()), got(x.size());
    ref_table().layernorm_f32.run(x.data(), want.data(), 2, n, scale.data(), bias.data(), 1e-5f);
    r.layernorm_f32.run(x.data(), got.data(), 2, n, scale.data(), bias.data(), 1e-5f);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4f) << r.layernorm_f32.name << " n " << n;
  }
}

void check_gelu_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.gelu_f32.run, nullptr);
  for (GeluForm form : {GeluForm::erf, GeluForm::tanh})
    for (int64_t n : kLengths) {
      const std::vector<float> x = rng.reals(n, -6, 6);
      std::vector<float> want(x.size()), got(x.size());
      ref_table().gelu_f32.run(x.data(), want.data(), n, form);
      r.gelu_f32.run(x.data(), got.data(), n, form);
      for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f) << r.gelu_f32.name << " n " << n;
    }
}

void check_softmax_f32(const KernelRegistry& r, Rng& rng) {
  ASSERT_NE(r.softmax_f32.run, nullptr);
  for (int64_t n : kLengths) {
    const std::vector<float> x = rng.reals(2 * n, -20, 20);
    std::vector<float> want(x.size()), got(x.size());
    ref_table().softmax_f32.run(x.data(), want.data(), 2, n);
    r.softmax_f32.run(x.data(), got.data(), 2, n);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6f) << r.softmax_f32.name << " n " << n;
  }
}

// Every family this test knows, with its check. A family registry_entries lists that is not
// here fails the walk.
const std::map<std::string, void (*)(const KernelRegistry&, Rng&)>& known_families() {
  static const std::map<std::string, void (*)(const KernelRegistry&, Rng&)> m = {
      {"gemm_f32", check_gemm_f32},
      {"gemm_u8s8", check_gemm_u8s8_table},
      {"gemm_u8s8_where_exact", check_gemm_u8s8_where_exact},
      {"gemv_packed_f32", check_gemv_packed_f32},
      {"im2col_f32", check_im2col_f32},
      {"dwconv_f32", check_dwconv_f32},
      {"dwconv_nhwc_f32", check_dwconv_nhwc_f32},
      {"dwconv_u8s8", check_dwconv_u8s8},
      {"dwconv_nhwc_u8s8", check_dwconv_nhwc_u8s8},
      {"avgpool_nhwc_f32", check_avgpool_nhwc_f32},
      {"avgpool_nhwc_q8", check_avgpool_nhwc_q8},
      {"maxpool_nhwc", check_maxpool_nhwc},
      {"layernorm_f32", check_layernorm_f32},
      {"gelu_f32", check_gelu_f32},
      {"softmax_f32", check_softmax_f32},
      {"max_u8", check_max_u8},
      {"qadd_q8", check_qadd_q8},
      {"quantize_f32_q8", check_quantize_f32_q8},
      {"dequantize_q8_f32", check_dequantize_q8_f32},
      {"lookup_q8", check_lookup_q8},
      {"transpose_u8", check_transpose_u8},
      {"stripe_hash", check_stripe_hash},
  };
  return m;
}

TEST(RegistryWalk, EveryFamilyAtEveryLevelTheCpuHasMatchesTheReference) {
  for (const IsaChoice& choice : available_isas()) {
    SCOPED_TRACE("level " + choice.name());
    const KernelRegistry& r = kernel_registry(choice);
    EXPECT_EQ(r.choice.isa, choice.isa);
    EXPECT_EQ(r.choice.fast, choice.fast);
    std::vector<std::pair<std::string, std::string>> entries;
    ASSERT_NO_THROW(entries = registry_entries(r)) << "a null name in the table";
    EXPECT_EQ(entries.size(), known_families().size());
    for (const auto& [family, name] : entries) {
      SCOPED_TRACE("family " + family + " (" + name + ")");
      const auto check = known_families().find(family);
      if (check == known_families().end()) {
        ADD_FAILURE() << "family " << family << " (" << name << ") is not walked by test_registry.cc: add its check";
        continue;
      }
      if (name != "-" || family != "gemm_u8s8_where_exact") {
        const int level = level_named(name);
        EXPECT_GE(level, 0) << name << " names no level";
        EXPECT_LE(level, static_cast<int>(choice.isa)) << name << " is above level " << choice.name();
      }
      if (family == "gemm_u8s8" && choice.fast && choice.isa != Isa::vnni) {
        EXPECT_NE(name.find("_fast"), std::string::npos) << name << " on a _fast level";
      }
      Rng rng(1234);
      check->second(r, rng);
    }
  }
}

TEST(RegistryWalk, LevelsNotWalkedHere) {
  std::string missing;
  for (Isa l : {Isa::avx2, Isa::avx512, Isa::vnni}) {
    if (!cpu_supports(l))
      missing += std::string(missing.empty() ? "" : ", ") + isa_name(l);
    else if (static_cast<int>(l) > static_cast<int>(env_max_isa()))
      missing += std::string(missing.empty() ? "" : ", ") + isa_name(l) + " (capped by OCTET_MAX_ISA)";
  }
  if (!missing.empty())
    GTEST_SKIP() << "this CPU (" << cpu_description() << ") lacks or caps " << missing
                 << ": their tables were not walked";
}

}  // namespace
}  // namespace octet::kernels
