// Fast QLinearConv / QLinearMatMul: constant s8 weights packed once for the INT8 GEMM kernels
// of the node's ISA; the activations go through im2col (convolutions) and the GEMM with its
// requantizing epilogue. Depthwise convolutions (one input channel per group) run a direct
// integer loop instead, with the same epilogue arithmetic.
#include "ops/quant_fast.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "octet/kernels/dispatch.h"
#include "ops/conv_geometry.h"
#include "ops/quant_util.h"

namespace octet::detail {

PackedQGemm::PackedQGemm(const kernels::IsaChoice& isa, const int8_t* b, int64_t K, int64_t N, int64_t ldb,
                         bool trans_b, const int32_t* bias, int32_t a_zero_point, std::vector<float> scale,
                         kernels::QOutType out_type, int32_t out_zero_point)
    : scale_(std::move(scale)) {
  kernels::IsaChoice choice = isa;
  // Exact mode may still take the saturating kernels where no pair of these weights can
  // saturate: the results are then the exact ones.
  if (!choice.fast && (choice.isa == kernels::Isa::avx2 || choice.isa == kernels::Isa::avx512) &&
      kernels::u8s8_fast_is_exact(b, K, N, ldb, trans_b))
    choice.fast = true;
  ops_ = kernels::kernel_table(choice).gemm_u8s8;
  ops_->pack_b(b, K, N, ldb, trans_b, bias, a_zero_point, &packed_);
  ep_.scale = scale_.data();
  ep_.out_type = out_type;
  ep_.out_zero_point = out_zero_point;
  ep_.q_lo = out_type == kernels::QOutType::s8 ? -128 : 0;
  ep_.q_hi = out_type == kernels::QOutType::s8 ? 127 : 255;
}

void PackedQGemm::run(int64_t M, const uint8_t* a, int64_t lda, void* out, int64_t ldc,
                      kernels::ThreadPool* pool) const {
  ops_->gemm(M, a, lda, packed_, out, ldc, ep_, pool);
}

void to_u8(DType t, const void* src, int64_t n, uint8_t* dst) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  if (t == DType::u8) {
    std::memcpy(dst, s, static_cast<size_t>(n));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(s[i] ^ 0x80u);
}

namespace {

// The activation / output parameters of a node, all compile-time constants.
struct ConstQParams {
  float x_scale = 1, y_scale = 1;
  int32_t x_zero = 0, y_zero = 0;  // in the tensors' own domain
  std::vector<float> w_scale;      // 1 or N values
  DType x_type = DType::u8, y_type = DType::u8;
};

// Reads a per-tensor scale / zero-point pair (zero point optional) from constants.
bool const_pair(const NodeContext& ctx, size_t si, size_t zi, float* scale, int32_t* zero) {
  const Tensor* s = ctx.input_const(si);
  if (!s || s->dtype() != DType::f32 || s->numel() != 1) return false;
  *scale = *s->data_as<float>();
  *zero = 0;
  if (ctx.has_input(zi)) {
    const Tensor* z = ctx.input_const(zi);
    if (!z || z->numel() != 1 || !is_q8(z->dtype())) return false;
    *zero = tensor_to_int32s(*z)[0];
  }
  return true;
}

// Constant s8 weights whose zero points are all 0 (absent or explicit).
bool s8_weights_zero_free(const NodeContext& ctx, size_t wi, size_t zi) {
  const Tensor* w = ctx.input_const(wi);
  if (!w || w->dtype() != DType::s8) return false;
  if (!ctx.has_input(zi)) return true;
  const Tensor* z = ctx.input_const(zi);
  if (!z) return false;
  for (int32_t v : tensor_to_int32s(*z))
    if (v != 0) return false;
  return true;
}

// Reads x / w / y parameters of QLinearConv / QLinearMatMul (same input positions).
bool read_qlinear_params(const NodeContext& ctx, int64_t channels, ConstQParams* p) {
  if (!const_pair(ctx, 1, 2, &p->x_scale, &p->x_zero)) return false;
  if (!const_pair(ctx, 6, 7, &p->y_scale, &p->y_zero)) return false;
  const Tensor* ws = ctx.input_const(4);
  if (!ws || ws->dtype() != DType::f32 || (ws->numel() != 1 && ws->numel() != channels)) return false;
  p->w_scale = tensor_to_floats(*ws);
  p->x_type = ctx.input_dtype(0);
  p->y_type = ctx.has_input(7) ? ctx.input_dtype(7) : p->x_type;
  return is_q8(p->x_type) && is_q8(p->y_type);
}

// scale[n] = x_scale * w_scale[n] / y_scale, in float, in that order (the reference's order).
std::vector<float> requant_scales(const ConstQParams& p, int64_t n0, int64_t count) {
  std::vector<float> s(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    s[i] = p.x_scale * p.w_scale[p.w_scale.size() == 1 ? 0 : n0 + i] / p.y_scale;
  return s;
}

int32_t u8_zero(const ConstQParams& p) { return p.x_type == DType::s8 ? p.x_zero + 128 : p.x_zero; }

kernels::QOutType out_type_of(DType t) { return t == DType::s8 ? kernels::QOutType::s8 : kernels::QOutType::u8; }

// The GEMM epilogue for one value (gemm_u8s8.h's contract), for the direct depthwise loop.
struct ScalarEpilogue {
  int32_t zp, q_lo, q_hi;
  float lo, hi;
  ScalarEpilogue(DType out, int32_t zero) : zp(zero) {
    q_lo = out == DType::s8 ? -128 : 0;
    q_hi = out == DType::s8 ? 127 : 255;
    lo = static_cast<float>(q_lo - zp);
    hi = static_cast<float>(q_hi - zp);
  }
  int32_t operator()(int32_t acc, float scale) const {
    float y = static_cast<float>(acc) * scale;
    y = std::min(std::max(y, lo), hi);
    int32_t q = static_cast<int32_t>(std::nearbyint(y)) + zp;
    return std::min(std::max(q, q_lo), q_hi);
  }
};

// --- QLinearConv -----------------------------------------------------------------------------

class FastQLinearConv : public OpKernel {
 public:
  FastQLinearConv(const NodeContext& ctx, WindowGeometry win, ConstQParams p) : win_(win), p_(std::move(p)) {
    const Shape& x = ctx.input_shape(0);
    const Tensor& w = *ctx.input_const(3);
    batch_ = x[0];
    channels_ = x[1];
    out_channels_ = w.shape()[0];
    group_ = ctx.node().attr_i("group", 1);
    cg_ = channels_ / group_;
    mg_ = out_channels_ / group_;
    k_ = cg_ * win_.kernel_size();
    std::vector<int32_t> bias(static_cast<size_t>(out_channels_), 0);
    if (ctx.has_input(8)) bias = tensor_to_int32s(*ctx.input_const(8));
    const int8_t* wd = w.data_as<int8_t>();
    x_zero_u8_ = u8_zero(p_);
    if (cg_ == 1) {
      // Depthwise: weights as int32 per output channel, comp = bias - x_zp * sum(w).
      depthwise_ = true;
      w32_.assign(wd, wd + out_channels_ * k_);
      comp_.resize(static_cast<size_t>(out_channels_));
      for (int64_t m = 0; m < out_channels_; ++m) {
        int64_t sum = 0;
        for (int64_t k = 0; k < k_; ++k) sum += wd[m * k_ + k];
        comp_[m] = static_cast<int32_t>(static_cast<uint32_t>(bias[m]) - static_cast<uint32_t>(x_zero_u8_ * sum));
      }
      scale_ = requant_scales(p_, 0, out_channels_);
      return;
    }
    for (int64_t g = 0; g < group_; ++g)
      gemms_.push_back(std::make_unique<PackedQGemm>(ctx.isa(), wd + g * mg_ * k_, k_, mg_, k_, /*trans_b=*/true,
                                                     bias.data() + g * mg_, x_zero_u8_, requant_scales(p_, g * mg_, mg_),
                                                     out_type_of(p_.y_type), p_.y_zero));
  }

  std::string name() const override { return depthwise_ ? "qconv_depthwise_direct" : gemms_[0]->kernel_name(); }
  size_t weights_bytes() const override {
    size_t b = w32_.size() * 4 + comp_.size() * 4;
    for (const auto& g : gemms_) b += g->bytes();
    return b;
  }

  void run(KernelContext& ctx) const override {
    if (depthwise_) run_depthwise(ctx);
    else run_gemm(ctx);
  }

 private:
  // The group's input channels as u8, padded with the zero point: [cg][D+pads][H+pads][W+pads].
  void pad_input(const uint8_t* x, int64_t cg, std::vector<uint8_t>* out, kernels::ThreadPool* pool) const {
    const auto& g = win_;
    const int64_t pd = g.in[0] + g.pad_begin[0] + g.pad_end[0], ph = g.in[1] + g.pad_begin[1] + g.pad_end[1],
                  pw = g.in[2] + g.pad_begin[2] + g.pad_end[2];
    out->assign(static_cast<size_t>(cg * pd * ph * pw), static_cast<uint8_t>(x_zero_u8_));
    auto rows = [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t d = 0; d < g.in[0]; ++d)
          for (int64_t h = 0; h < g.in[1]; ++h) {
            const uint8_t* src = x + ((c * g.in[0] + d) * g.in[1] + h) * g.in[2];
            uint8_t* dst = out->data() + ((c * pd + d + g.pad_begin[0]) * ph + h + g.pad_begin[1]) * pw + g.pad_begin[2];
            to_u8(p_.x_type, src, g.in[2], dst);
          }
    };
    if (pool && pool->size() > 1 && cg * g.in_size() >= (int64_t(1) << 15)) pool->parallel_for(cg, rows);
    else rows(0, cg);
  }

  void run_gemm(KernelContext& ctx) const {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const auto& g = win_;
    const int64_t P = g.out_size(), in_size = g.in_size();
    const int64_t pd = g.in[0] + g.pad_begin[0] + g.pad_end[0], ph = g.in[1] + g.pad_begin[1] + g.pad_end[1],
                  pw = g.in[2] + g.pad_begin[2] + g.pad_end[2];
    std::vector<uint8_t> padded, col(static_cast<size_t>(P * k_)), out(static_cast<size_t>(P * mg_));
    const uint8_t* xb = static_cast<const uint8_t*>(x.data());
    uint8_t* yb = static_cast<uint8_t*>(y.data());
    for (int64_t n = 0; n < batch_; ++n) {
      for (int64_t grp = 0; grp < group_; ++grp) {
        pad_input(xb + (n * channels_ + grp * cg_) * in_size, cg_, &padded, ctx.pool);
        // col[p][k], k = (c, kd, kh, kw) as in the weights.
        auto cols = [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p) {
            const int64_t od = p / (g.out[1] * g.out[2]), oh = p / g.out[2] % g.out[1], ow = p % g.out[2];
            uint8_t* dst = col.data() + p * k_;
            for (int64_t c = 0; c < cg_; ++c)
              for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                  const uint8_t* src = padded.data() +
                                       ((c * pd + od * g.stride[0] + kd * g.dilation[0]) * ph + oh * g.stride[1] +
                                        kh * g.dilation[1]) * pw + ow * g.stride[2];
                  for (int64_t kw = 0; kw < g.kernel[2]; ++kw) *dst++ = src[kw * g.dilation[2]];
                }
          }
        };
        if (ctx.pool && ctx.pool->size() > 1 && P * k_ >= (int64_t(1) << 15)) ctx.pool->parallel_for(P, cols);
        else cols(0, P);
        gemms_[grp]->run(P, col.data(), k_, out.data(), mg_, ctx.pool);
        // [P, Mg] -> NCHW planes.
        uint8_t* dst = yb + (n * out_channels_ + grp * mg_) * P;
        for (int64_t m = 0; m < mg_; ++m)
          for (int64_t p = 0; p < P; ++p) dst[m * P + p] = out[p * mg_ + m];
      }
    }
  }

  void run_depthwise(KernelContext& ctx) const {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const auto& g = win_;
    const int64_t P = g.out_size(), in_size = g.in_size();
    const int64_t pd = g.in[0] + g.pad_begin[0] + g.pad_end[0], ph = g.in[1] + g.pad_begin[1] + g.pad_end[1],
                  pw = g.in[2] + g.pad_begin[2] + g.pad_end[2];
    const ScalarEpilogue epi(p_.y_type, p_.y_zero);
    const uint8_t* xb = static_cast<const uint8_t*>(x.data());
    uint8_t* yb = static_cast<uint8_t*>(y.data());
    const bool s8_out = p_.y_type == DType::s8;
    // One task per (image, input channel): pad the plane, then every output channel of it.
    auto planes = [&](int64_t t0, int64_t t1) {
      std::vector<uint8_t> padded;
      std::vector<int32_t> acc(static_cast<size_t>(P));
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t n = t / channels_, c = t % channels_;
        pad_input(xb + (n * channels_ + c) * in_size, 1, &padded, nullptr);
        for (int64_t j = 0; j < mg_; ++j) {
          const int64_t m = c * mg_ + j;
          const int32_t* w = w32_.data() + m * k_;
          std::fill(acc.begin(), acc.end(), comp_[m]);
          int64_t k = 0;
          for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k) {
                const int32_t wv = w[k];
                int32_t* a = acc.data();
                for (int64_t od = 0; od < g.out[0]; ++od)
                  for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                    const uint8_t* src = padded.data() +
                                         ((od * g.stride[0] + kd * g.dilation[0]) * ph + oh * g.stride[1] +
                                          kh * g.dilation[1]) * pw + kw * g.dilation[2];
                    const int64_t sw = g.stride[2];
                    for (int64_t ow = 0; ow < g.out[2]; ++ow) *a++ += static_cast<int32_t>(src[ow * sw]) * wv;
                  }
              }
          uint8_t* dst = yb + (n * out_channels_ + m) * P;
          const float s = scale_[m];
          for (int64_t p = 0; p < P; ++p) {
            const int32_t q = epi(acc[p], s);
            dst[p] = s8_out ? static_cast<uint8_t>(static_cast<int8_t>(q)) : static_cast<uint8_t>(q);
          }
        }
      }
    };
    (void)pd;
    const int64_t tasks = batch_ * channels_;
    if (ctx.pool && ctx.pool->size() > 1 && tasks > 1) ctx.pool->parallel_for(tasks, planes);
    else planes(0, tasks);
  }

  WindowGeometry win_;
  ConstQParams p_;
  int64_t batch_ = 0, channels_ = 0, out_channels_ = 0, group_ = 1, cg_ = 0, mg_ = 0, k_ = 0;
  int32_t x_zero_u8_ = 0;
  bool depthwise_ = false;
  std::vector<int32_t> w32_, comp_;
  std::vector<float> scale_;
  std::vector<std::unique_ptr<PackedQGemm>> gemms_;
};

// --- QLinearMatMul ---------------------------------------------------------------------------

class FastQLinearMatMul : public OpKernel {
 public:
  FastQLinearMatMul(const NodeContext& ctx, ConstQParams p) : p_(std::move(p)) {
    const Tensor& b = *ctx.input_const(3);
    const int64_t K = b.shape()[0], N = b.shape()[1];
    gemm_ = std::make_unique<PackedQGemm>(ctx.isa(), b.data_as<int8_t>(), K, N, N, false, nullptr, u8_zero(p_),
                                          requant_scales(p_, 0, N), out_type_of(p_.y_type), p_.y_zero);
  }
  std::string name() const override { return gemm_->kernel_name(); }
  size_t weights_bytes() const override { return gemm_->bytes(); }

  void run(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const int64_t K = gemm_->K(), rows = K > 0 ? a.numel() / K : 0;
    const uint8_t* src = static_cast<const uint8_t*>(a.data());
    std::vector<uint8_t> converted;
    if (p_.x_type == DType::s8) {
      converted.resize(static_cast<size_t>(a.numel()));
      to_u8(DType::s8, src, a.numel(), converted.data());
      src = converted.data();
    }
    gemm_->run(rows, src, K, ctx.output(0).data(), gemm_->N(), ctx.pool);
  }

 private:
  ConstQParams p_;
  std::unique_ptr<PackedQGemm> gemm_;
};

}  // namespace

std::unique_ptr<OpKernel> create_fast_qlinear_conv(const NodeContext& ctx) {
  if (ctx.isa().isa == kernels::Isa::ref || ctx.num_inputs() < 8) return nullptr;
  if (!s8_weights_zero_free(ctx, 3, 5)) return nullptr;
  if (ctx.has_input(8) && (!ctx.input_const(8) || ctx.input_dtype(8) != DType::s32)) return nullptr;
  const Shape& x = ctx.input_shape(0);
  const Shape& w = ctx.input_shape(3);
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) return nullptr;
  const int64_t group = ctx.node().attr_i("group", 1);
  if (group < 1 || x[1] % group || w[0] % group || w[1] != x[1] / group) return nullptr;
  ConstQParams p;
  if (!read_qlinear_params(ctx, w[0], &p)) return nullptr;
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  WindowGeometry g = window_geometry(ctx, x, kernel, /*ceil_mode=*/false);
  return std::make_unique<FastQLinearConv>(ctx, g, std::move(p));
}

std::unique_ptr<OpKernel> create_fast_qlinear_matmul(const NodeContext& ctx) {
  if (ctx.isa().isa == kernels::Isa::ref || ctx.num_inputs() < 8) return nullptr;
  if (!s8_weights_zero_free(ctx, 3, 5) || ctx.input_shape(3).size() != 2) return nullptr;
  const Shape& a = ctx.input_shape(0);
  if (a.size() < 2 || a.back() != ctx.input_shape(3)[0]) return nullptr;
  ConstQParams p;
  if (!read_qlinear_params(ctx, ctx.input_shape(3)[1], &p)) return nullptr;
  return std::make_unique<FastQLinearMatMul>(ctx, std::move(p));
}

}  // namespace octet::detail
