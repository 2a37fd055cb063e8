// Fast QLinearConv / QLinearMatMul: constant s8 weights packed once for the INT8 GEMM kernels
// of the node's ISA; the activations go through the GEMM (pixel-major for convolutions, in
// bounded im2col blocks for K x K) with its requantizing epilogue. Depthwise convolutions
// (one input channel per group) run the dwconv_u8s8 plane kernels (a direct integer loop for
// 3-D) with the same epilogue arithmetic.
#include "ops/quant_fast.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "octet/kernels/dispatch.h"
#include "octet/kernels/dwconv_u8s8.h"
#include "octet/kernels/lookup_q8.h"
#include "octet/kernels/qadd_q8.h"
#include "ops/conv_geometry.h"
#include "ops/octet_ops.h"
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

kernels::EpilogueQ PackedQGemm::epilogue(const uint8_t* add_rows, int64_t ld_add) const {
  kernels::EpilogueQ ep = ep_;
  ep.add_input = add_rows;
  ep.ld_add = ld_add;
  return ep;
}

void PackedQGemm::run(int64_t M, const uint8_t* a, int64_t lda, void* out, int64_t ldc, kernels::ThreadPool* pool,
                      const uint8_t* add_rows, int64_t ld_add) const {
  ops_->gemm(M, a, lda, packed_, out, ldc, epilogue(add_rows, ld_add), pool);
}

void PackedQGemm::run_segmented(int64_t M, const uint8_t* a, int64_t lda, const kernels::ASegments& seg, void* out,
                                int64_t ldc, const uint8_t* add_rows, int64_t ld_add) const {
  ops_->gemm_segmented(M, a, lda, seg, packed_, out, ldc, epilogue(add_rows, ld_add), nullptr);
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

// Convolution as GEMM on pixel rows: the image is transposed once to pixel-major
// ("NHWC", [P_in, C] u8, s8 shifted to u8); the weights are repacked per group with k ordered
// (kd, kh, kw, c) so that one kernel tap of one pixel is cg contiguous bytes. A 1x1 stride-1
// unpadded convolution is then one GEMM on the transposed image in place; every other shape
// gathers a bounded block of output pixels at a time. The GEMM writes [P, M] rows, transposed
// back to NCHW. With enough pixels, one (parallel) loop runs blocks of pixels through all of it
// in cache (blocks of about kColBlockBytes); a small layer instead gathers at most
// kWholeColBytes at once and lets the GEMMs split over the pool. Results do not depend on the
// blocking or the thread count: every output is one exact int32 sum and the same epilogue.
class FastQLinearConv : public OpKernel {
 public:
  static constexpr int64_t kColBlockBytes = 192 << 10, kWholeColBytes = 1 << 20;

  // x: the input's shape as [N, C, spatial...]; channels_last: input and output are
  // [N, H, W, C] tensors (octet.QLinearConvNhwc), so no transposes run at all.
  FastQLinearConv(const NodeContext& ctx, const Shape& x, WindowGeometry win, ConstQParams p, bool channels_last)
      : win_(win), p_(std::move(p)), channels_last_(channels_last) {
    const Tensor& w = *ctx.input_const(3);
    if (channels_last_ && ctx.has_input(QLinearConvNhwcIn::kResidual)) {
      // The fused QLinearAdd (octet.QLinearConvNhwc inputs 9-13): output = add(conv, residual).
      float r_scale = 1, s_scale = 1;
      int32_t r_zero = 0, s_zero = 0;
      const_pair(ctx, QLinearConvNhwcIn::kResidualScale, QLinearConvNhwcIn::kResidualZero, &r_scale, &r_zero);
      const_pair(ctx, QLinearConvNhwcIn::kSumScale, QLinearConvNhwcIn::kSumZero, &s_scale, &s_zero);
      fused_add_ = true;
      add_ = kernels::qadd_q8_params(p_.y_scale, p_.y_zero, r_scale, r_zero, s_scale, s_zero, p_.y_type == DType::s8);
      // VNNI adds in the GEMM's registers; the other levels' epilogues work on rows of a
      // 16- or 64-column tile, too short for their add kernels, so the add runs after the
      // GEMM on whole output rows while they are in cache.
      add_in_gemm_ = ctx.isa().isa == kernels::Isa::vnni;
      add_after_ = ctx.isa().isa == kernels::Isa::avx2 ? kernels::qadd_q8_avx2 : kernels::qadd_q8_avx512;
    }
    if (channels_last_ && ctx.has_input(QLinearConvNhwcIn::kLookupTable)) {
      // The fused lookup (octet.LookupQ8, a HardSwish).
      const uint8_t* table = ctx.input_const(QLinearConvNhwcIn::kLookupTable)->data_as<uint8_t>();
      lookup_.assign(table, table + 256);
    }
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
      planar_ = win_.kernel[0] == 1 && win_.out[0] == 1 && win_.in[0] == 1;
      dw_kernel_ = kernels::dwconv_u8s8_kernel(ctx.isa().isa);
      dw_name_ = planar_ ? kernels::dwconv_u8s8_name(ctx.isa().isa) : "qconv_depthwise_direct";
      if (channels_last_) {  // one output channel per input channel: w32_ as [tap][channel]
        std::vector<int32_t> by_tap(w32_.size());
        for (int64_t m = 0; m < out_channels_; ++m)
          for (int64_t t = 0; t < k_; ++t) by_tap[t * out_channels_ + m] = w32_[m * k_ + t];
        w32_ = std::move(by_tap);
        kernels::Isa isa = ctx.isa().isa;
        if (isa == kernels::Isa::vnni) {
          dw_vnni_.resize(static_cast<size_t>(kernels::dwconv_nhwc_u8s8_vnni_bytes(k_, out_channels_)));
          if (!kernels::dwconv_nhwc_u8s8_pack_vnni(w32_.data(), comp_.data(), scale_.data(), k_, out_channels_,
                                                   dw_vnni_.data())) {
            dw_vnni_.clear();
            isa = kernels::Isa::avx512;
          }
        }
        dw_nhwc_kernel_ = kernels::dwconv_nhwc_u8s8_kernel(isa);
        dw_name_ = kernels::dwconv_nhwc_u8s8_name(isa);
      }
      return;
    }
    const auto& g = win_;
    pointwise_ = g.kernel_size() == 1 && g.stride[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 &&
                 g.pad_begin == std::array<int64_t, 3>{0, 0, 0} && g.pad_end == std::array<int64_t, 3>{0, 0, 0};
    const int64_t taps = g.kernel_size();
    std::vector<int8_t> repacked(static_cast<size_t>(mg_ * k_));
    for (int64_t grp = 0; grp < group_; ++grp) {
      // [m][c][tap] -> [m][tap][c]
      const int8_t* src = wd + grp * mg_ * k_;
      for (int64_t m = 0; m < mg_; ++m)
        for (int64_t c = 0; c < cg_; ++c)
          for (int64_t t = 0; t < taps; ++t) repacked[m * k_ + t * cg_ + c] = src[(m * cg_ + c) * taps + t];
      gemms_.push_back(std::make_unique<PackedQGemm>(ctx.isa(), repacked.data(), k_, mg_, k_, /*trans_b=*/true,
                                                     bias.data() + grp * mg_, x_zero_u8_,
                                                     requant_scales(p_, grp * mg_, mg_), out_type_of(p_.y_type),
                                                     p_.y_zero));
    }
    if (fused_add_)
      for (auto& gemm : gemms_) gemm->set_fused_add(add_);
    // Small layers gather all their pixels at once and let the GEMM split the work; big ones
    // run blocks of kColBlockBytes, one per task.
    block_ = g.out_size() * k_ <= kWholeColBytes ? g.out_size()
                                                 : std::max<int64_t>(16, kColBlockBytes / std::max<int64_t>(k_, 1));
    block_ = std::max<int64_t>(1, std::min(block_, g.out_size()));
    // Implicit GEMM (channels-last, one group, 2-D, kw taps contiguous): the GEMM reads each
    // output row's pixels straight from a zero-point-padded copy of the image, one kernel row
    // of taps (k_w * C bytes) per A segment, instead of gathered im2col blocks. Rows of at
    // least four tiles (each row's GEMM streams all of B once: on resnet-50's 14-pixel rows
    // that measured slower than the gather) and stride 1 (with stride 2 the padded image is
    // four times the output, and that measured slower too).
    implicit_ = channels_last_ && !pointwise_ && group_ == 1 && g.kernel[0] == 1 && g.in[0] == 1 &&
                g.stride[1] == 1 && g.stride[2] == 1 && g.dilation[2] == 1 && (g.kernel[2] * cg_) % 4 == 0 &&
                g.out[2] >= 4 * gemms_[0]->mr() && (!fused_add_ || add_in_gemm_) &&
                gemms_[0]->segmented();
  }

  std::string name() const override {
    const std::string lookup = lookup_.empty() ? "" : "+lookup";
    if (depthwise_) return std::string("qconv_depthwise+") + dw_name_ + lookup;
    if (channels_last_)
      return std::string(pointwise_ ? "qconv1x1_nhwc_io+" : implicit_ ? "qconv_implicit_nhwc_io+" : "qconv_blocked_nhwc_io+") +
             gemms_[0]->kernel_name() + (fused_add_ ? "+qadd" : "") + lookup;
    return std::string(pointwise_ ? "qconv1x1_nhwc+" : "qconv_blocked_nhwc+") + gemms_[0]->kernel_name();
  }
  size_t weights_bytes() const override {
    size_t b = w32_.size() * 4 + comp_.size() * 4 + dw_vnni_.size() + lookup_.size();
    for (const auto& g : gemms_) b += g->bytes();
    return b;
  }
  // The weights are packed (GEMM or depthwise layout) and the bias folded at creation.
  bool owns_copy_of_input(size_t i) const override { return i == 3 || i == 8 || i == 14; }

  void run(KernelContext& ctx) const override {
    if (depthwise_ && channels_last_) run_depthwise_channels_last(ctx);
    else if (depthwise_) run_depthwise(ctx);
    else if (channels_last_) run_gemm_channels_last(ctx);
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

  // Rows [p0, p1) of the im2col matrix of group grp from the pixel-major image xt [P_in, C]:
  // col[p - p0][(tap, c)], zero point outside the image.
  void gather(const uint8_t* xt, int64_t grp, int64_t p0, int64_t p1, uint8_t* col) const {
    im2col_nhwc_rows<uint8_t>(win_, xt, channels_, grp * cg_, cg_, p0, p1, static_cast<uint8_t>(x_zero_u8_), col);
  }

  void run_gemm(KernelContext& ctx) const {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const auto& g = win_;
    const int64_t P = g.out_size(), in_size = g.in_size();
    const uint8_t mask = p_.x_type == DType::s8 ? 0x80 : 0;
    kernels::ThreadPool* pool = ctx.pool && ctx.pool->size() > 1 ? ctx.pool : nullptr;
    // Scratch without zero-filling: every byte is written before it is read.
    std::unique_ptr<uint8_t[]> xt, out;
    const uint8_t* xb = static_cast<const uint8_t*>(x.data());
    uint8_t* yb = static_cast<uint8_t*>(y.data());
    // Splits [0, rows) into pieces of 64 for the pool when big enough to pay for it.
    auto split = [&](int64_t rows, int64_t bytes, const std::function<void(int64_t, int64_t)>& fn) {
      const int64_t pieces = (rows + 63) / 64;
      if (pool && pieces > 1 && bytes >= (int64_t(1) << 15))
        pool->parallel_for(pieces, [&](int64_t a, int64_t b) { fn(a * 64, std::min(rows, b * 64)); });
      else
        fn(0, rows);
    };
    // Enough pixels for every thread: one parallel loop over pixel blocks, each block going
    // through (transpose in or gather) -> single-threaded GEMM -> transpose out in cache.
    const int64_t threads = pool ? pool->size() : 1;
    const bool tiled = P >= 64 * threads;
    const PixelTasks tasks(P, std::max({k_, channels_, out_channels_}), threads, 16, kColBlockBytes);
    for (int64_t n = 0; n < batch_; ++n) {
      const uint8_t* xn = xb + n * channels_ * in_size;
      uint8_t* yn = yb + n * out_channels_ * P;
      // NCHW [C, P_in] -> [P_in, C]: the whole image, except for a tiled 1x1 (per block).
      if (!(tiled && pointwise_)) {
        if (!xt) xt.reset(new uint8_t[static_cast<size_t>(in_size * channels_)]);
        split(in_size, in_size * channels_, [&](int64_t r0, int64_t r1) {
          transpose_u8(xn + r0, channels_, r1 - r0, in_size, xt.get() + r0 * channels_, channels_, mask);
        });
      }
      if (tiled) {
        auto run_tasks = [&](int64_t t0, int64_t t1) {
          std::vector<uint8_t> a(static_cast<size_t>(tasks.max_rows * (pointwise_ ? channels_ : k_)));
          std::vector<uint8_t> o(static_cast<size_t>(tasks.max_rows * out_channels_));
          for (int64_t t = t0; t < t1; ++t) {
            int64_t p0, p1;
            tasks.rows(t, &p0, &p1);
            const int64_t rows = p1 - p0;
            if (pointwise_) transpose_u8(xn + p0, channels_, rows, in_size, a.data(), channels_, mask);
            for (int64_t grp = 0; grp < group_; ++grp) {
              if (pointwise_) {
                gemms_[grp]->run(rows, a.data() + grp * cg_, channels_, o.data() + grp * mg_, out_channels_, nullptr);
              } else {
                gather(xt.get(), grp, p0, p1, a.data());
                gemms_[grp]->run(rows, a.data(), k_, o.data() + grp * mg_, out_channels_, nullptr);
              }
            }
            transpose_u8(o.data(), rows, out_channels_, out_channels_, yn + p0, P);
          }
        };
        if (pool) pool->parallel_for(tasks.count, run_tasks);
        else run_tasks(0, tasks.count);
        continue;
      }
      // Few pixels: the GEMMs split the work over the pool.
      if (!out) out.reset(new uint8_t[static_cast<size_t>(P * out_channels_)]);
      if (pointwise_) {
        for (int64_t grp = 0; grp < group_; ++grp)
          gemms_[grp]->run(P, xt.get() + grp * cg_, channels_, out.get() + grp * mg_, out_channels_, pool);
      } else {
        std::vector<uint8_t> col(static_cast<size_t>(block_ * k_));
        for (int64_t p0 = 0; p0 < P; p0 += block_) {
          const int64_t p1 = std::min(P, p0 + block_);
          for (int64_t grp = 0; grp < group_; ++grp) {
            gather(xt.get(), grp, p0, p1, col.data());
            gemms_[grp]->run(p1 - p0, col.data(), k_, out.get() + p0 * out_channels_ + grp * mg_, out_channels_, pool);
          }
        }
      }
      // [P, M] -> NCHW [M, P]
      split(P, P * out_channels_, [&](int64_t r0, int64_t r1) {
        transpose_u8(out.get() + r0 * out_channels_, r1 - r0, out_channels_, out_channels_, yn + r0, P);
      });
    }
  }

  // Input [N, P_in, C] and output [N, P, M]: the GEMM reads the image (or its gathered
  // blocks) and writes the output rows in place. Same blocking and arithmetic as run_gemm.
  void run_gemm_channels_last(KernelContext& ctx) const {
    const auto& g = win_;
    const int64_t P = g.out_size(), in_size = g.in_size();
    kernels::ThreadPool* pool = ctx.pool && ctx.pool->size() > 1 ? ctx.pool : nullptr;
    const uint8_t* xb = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* yb = static_cast<uint8_t*>(ctx.output(0).data());
    std::unique_ptr<uint8_t[]> shifted;  // s8 input as u8 (x ^ 0x80), one image
    const int64_t threads = pool ? pool->size() : 1;
    const bool tiled = P >= 64 * threads;
    const PixelTasks tasks(P, std::max(k_, out_channels_), threads, gemms_[0]->mr(), kColBlockBytes);
    const uint8_t* rb =
        fused_add_ ? static_cast<const uint8_t*>(ctx.input(QLinearConvNhwcIn::kResidual).data()) : nullptr;
    for (int64_t n = 0; n < batch_; ++n) {
      const uint8_t* xn = xb + n * in_size * channels_;
      uint8_t* yn = yb + n * P * out_channels_;
      const uint8_t* rn = rb ? rb + n * P * out_channels_ : nullptr;
      // The fused add's rows for output pixel p0 and group grp, when the GEMM does the add
      // (null otherwise); finish_rows runs it on output pixels [p0, p1) when the GEMM does not.
      auto add_rows = [&](int64_t p0, int64_t grp) {
        return rn && add_in_gemm_ ? rn + p0 * out_channels_ + grp * mg_ : nullptr;
      };
      // What follows the GEMM on output pixels [p0, p1): the add when the GEMM does not do it,
      // then the fused lookup.
      auto finish_rows = [&](int64_t p0, int64_t p1) {
        if (rn && !add_in_gemm_)
          add_after_(yn + p0 * out_channels_, rn + p0 * out_channels_, yn + p0 * out_channels_,
                     (p1 - p0) * out_channels_, add_);
        apply_lookup(yn + p0 * out_channels_, (p1 - p0) * out_channels_);
      };
      if (p_.x_type == DType::s8) {
        if (!shifted) shifted.reset(new uint8_t[static_cast<size_t>(in_size * channels_)]);
        to_u8(DType::s8, xn, in_size * channels_, shifted.get());
        xn = shifted.get();
      }
      if (implicit_) {  // VNNI only (segmented A): the add is in the GEMM
        run_implicit(xn, yn, rn, pool);
        continue;
      }
      if (tiled) {
        auto run_tasks = [&](int64_t t0, int64_t t1) {
          // Not zero-filled: the gather writes every byte before the GEMM reads it.
          std::unique_ptr<uint8_t[]> a(pointwise_ ? nullptr : new uint8_t[static_cast<size_t>(tasks.max_rows * k_)]);
          for (int64_t t = t0; t < t1; ++t) {
            int64_t p0, p1;
            tasks.rows(t, &p0, &p1);
            const int64_t rows = p1 - p0;
            for (int64_t grp = 0; grp < group_; ++grp) {
              uint8_t* out = yn + p0 * out_channels_ + grp * mg_;
              if (pointwise_) {
                gemms_[grp]->run(rows, xn + p0 * channels_ + grp * cg_, channels_, out, out_channels_, nullptr,
                                 add_rows(p0, grp), out_channels_);
              } else {
                gather(xn, grp, p0, p1, a.get());
                gemms_[grp]->run(rows, a.get(), k_, out, out_channels_, nullptr, add_rows(p0, grp), out_channels_);
              }
            }
            finish_rows(p0, p1);
          }
        };
        if (pool) pool->parallel_for(tasks.count, run_tasks);
        else run_tasks(0, tasks.count);
        continue;
      }
      // Few pixels: the GEMMs split the work over the pool.
      if (pointwise_) {
        for (int64_t grp = 0; grp < group_; ++grp)
          gemms_[grp]->run(P, xn + grp * cg_, channels_, yn + grp * mg_, out_channels_, pool, add_rows(0, grp),
                           out_channels_);
      } else {
        std::unique_ptr<uint8_t[]> col(new uint8_t[static_cast<size_t>(block_ * k_)]);
        for (int64_t p0 = 0; p0 < P; p0 += block_) {
          const int64_t p1 = std::min(P, p0 + block_);
          for (int64_t grp = 0; grp < group_; ++grp) {
            // The gather is split over the pool too (layer4 of resnet-50: 49 rows of 4608 bytes).
            auto gather_rows = [&](int64_t r0, int64_t r1) { gather(xn, grp, p0 + r0, p0 + r1, col.get() + r0 * k_); };
            if (pool && (p1 - p0) * k_ >= (int64_t(1) << 15)) pool->parallel_for(p1 - p0, gather_rows);
            else gather_rows(0, p1 - p0);
            gemms_[grp]->run(p1 - p0, col.get(), k_, yn + p0 * out_channels_ + grp * mg_, out_channels_, pool,
                             add_rows(p0, grp), out_channels_);
          }
        }
      }
      if ((rn && !add_in_gemm_) || !lookup_.empty()) {  // one pass over the output for both
        if (pool) pool->parallel_for(P, finish_rows);
        else finish_rows(0, P);
      }
    }
  }

  // The fused lookup on `elems` output bytes in place (nothing without one).
  void apply_lookup(uint8_t* y, int64_t elems) const {
    if (!lookup_.empty()) kernels::lookup_q8(lookup_.data(), y, y, elems);
  }

  // One image of the implicit-GEMM path: the zero-point-padded image (the rows and columns
  // the windows reach), then one segmented GEMM per output row, rows split over the pool.
  void run_implicit(const uint8_t* x, uint8_t* y, const uint8_t* residual, kernels::ThreadPool* pool) const {
    const auto& g = win_;
    const int64_t C = channels_, N = out_channels_, in_h = g.in[1], in_w = g.in[2], out_h = g.out[1],
                  out_w = g.out[2];
    const PaddedImage pad(g);
    const int64_t ph = pad.height, pw = pad.width;
    // Not zero-filled: every byte is written below.
    std::unique_ptr<uint8_t[]> padded(new uint8_t[static_cast<size_t>(ph * pw * C)]);
    auto pad_rows = [&](int64_t r0, int64_t r1) {
      pad.fill_rows(x, in_h, in_w, C, static_cast<uint8_t>(x_zero_u8_), padded.get(), r0, r1);
    };
    const kernels::ASegments seg{g.kernel[1], g.kernel[2] * C, g.dilation[1] * pw * C};
    auto out_rows = [&](int64_t r0, int64_t r1) {
      for (int64_t oh = r0; oh < r1; ++oh) {
        gemms_[0]->run_segmented(out_w, padded.get() + oh * g.stride[1] * pw * C, g.stride[2] * C, seg,
                                 y + oh * out_w * N, N, residual ? residual + oh * out_w * N : nullptr, N);
        apply_lookup(y + oh * out_w * N, out_w * N);
      }
    };
    if (pool) {
      pool->parallel_for(ph, pad_rows);
      pool->parallel_for(out_h, out_rows);
    } else {
      pad_rows(0, ph);
      out_rows(0, out_h);
    }
  }

  // [N, H, W, C] in and out, one output channel per input channel: output rows over the pool.
  void run_depthwise_channels_last(KernelContext& ctx) const {
    const auto& g = win_;
    const ScalarEpilogue epi(p_.y_type, p_.y_zero);
    kernels::DwConvU8S8Nhwc p;
    static_cast<kernels::NhwcWindow&>(p) = nhwc_window(g, channels_);
    p.weights = w32_.data();
    p.vnni_packed = dw_vnni_.empty() ? nullptr : dw_vnni_.data();
    p.comp = comp_.data();
    p.scale = scale_.data();
    p.x_zero = static_cast<uint8_t>(x_zero_u8_);
    p.zero_point = epi.zp;
    p.q_lo = epi.q_lo;
    p.q_hi = epi.q_hi;
    const int64_t in_bytes = g.in_size() * channels_, out_bytes = g.out_size() * channels_;
    const uint8_t* xb = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* yb = static_cast<uint8_t*>(ctx.output(0).data());
    std::unique_ptr<uint8_t[]> shifted;  // s8 input as u8 (x ^ 0x80), one image
    const size_t scratch_bytes = static_cast<size_t>(kernels::dwconv_nhwc_u8s8_scratch_bytes(p));
    const bool threaded = ctx.pool && ctx.pool->size() > 1 && p.out_h > 1 && out_bytes * k_ >= (int64_t(1) << 15);
    for (int64_t n = 0; n < batch_; ++n) {
      p.in = xb + n * in_bytes;
      if (p_.x_type == DType::s8) {
        if (!shifted) shifted.reset(new uint8_t[static_cast<size_t>(in_bytes)]);
        to_u8(DType::s8, p.in, in_bytes, shifted.get());
        p.in = shifted.get();
      }
      p.out = yb + n * out_bytes;
      auto rows = [&](int64_t r0, int64_t r1) {
        std::vector<uint8_t> scratch(scratch_bytes);
        dw_nhwc_kernel_(p, r0, r1, scratch.data());
        apply_lookup(p.out + r0 * p.out_w * channels_, (r1 - r0) * p.out_w * channels_);
      };
      if (threaded) ctx.pool->parallel_for(p.out_h, rows);
      else rows(0, p.out_h);
    }
  }

  void run_depthwise(KernelContext& ctx) const {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const auto& g = win_;
    const int64_t P = g.out_size(), in_size = g.in_size();
    const int64_t ph = g.in[1] + g.pad_begin[1] + g.pad_end[1], pw = g.in[2] + g.pad_begin[2] + g.pad_end[2];
    const ScalarEpilogue epi(p_.y_type, p_.y_zero);
    const uint8_t* xb = static_cast<const uint8_t*>(x.data());
    uint8_t* yb = static_cast<uint8_t*>(y.data());
    const bool s8_out = p_.y_type == DType::s8;
    kernels::DwConvU8S8Plane plane;
    plane.in_h = ph;
    plane.in_w = pw;
    plane.out_h = g.out[1];
    plane.out_w = g.out[2];
    plane.kernel_h = g.kernel[1];
    plane.kernel_w = g.kernel[2];
    plane.stride_h = g.stride[1];
    plane.stride_w = g.stride[2];
    plane.dilation_h = g.dilation[1];
    plane.dilation_w = g.dilation[2];
    plane.zero_point = epi.zp;
    plane.q_lo = epi.q_lo;
    plane.q_hi = epi.q_hi;
    // One task per (image, input channel): pad the plane, then every output channel of it.
    auto planes = [&](int64_t t0, int64_t t1) {
      std::vector<uint8_t> padded;
      std::vector<int32_t> acc(static_cast<size_t>(planar_ ? 0 : P));
      std::vector<int64_t> scratch(static_cast<size_t>(kernels::dwconv_u8s8_scratch_bytes(plane) / 8 + 1));
      kernels::DwConvU8S8Plane pl = plane;
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t n = t / channels_, c = t % channels_;
        pad_input(xb + (n * channels_ + c) * in_size, 1, &padded, nullptr);
        for (int64_t j = 0; j < mg_; ++j) {
          const int64_t m = c * mg_ + j;
          const int32_t* w = w32_.data() + m * k_;
          uint8_t* dst = yb + (n * out_channels_ + m) * P;
          if (planar_) {
            pl.in = padded.data();
            pl.weights = w;
            pl.comp = comp_[m];
            pl.scale = scale_[m];
            pl.out = dst;
            dw_kernel_(pl, scratch.data());
            continue;
          }
          // 3-D: the direct integer loop.
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
          const float s = scale_[m];
          for (int64_t p = 0; p < P; ++p) {
            const int32_t q = epi(acc[p], s);
            dst[p] = s8_out ? static_cast<uint8_t>(static_cast<int8_t>(q)) : static_cast<uint8_t>(q);
          }
        }
      }
    };
    const int64_t tasks = batch_ * channels_;
    if (ctx.pool && ctx.pool->size() > 1 && tasks > 1) ctx.pool->parallel_for(tasks, planes);
    else planes(0, tasks);
  }

  WindowGeometry win_;
  ConstQParams p_;
  int64_t batch_ = 0, channels_ = 0, out_channels_ = 0, group_ = 1, cg_ = 0, mg_ = 0, k_ = 0;
  int64_t block_ = 0;  // output pixels per im2col block
  int32_t x_zero_u8_ = 0;
  bool channels_last_ = false;
  bool fused_add_ = false;       // channels_last_ with a QLinearAdd of input 9 (see the constructor)
  bool add_in_gemm_ = false;     // ... done by the GEMM's epilogue, else by add_after_
  void (*add_after_)(const uint8_t*, const uint8_t*, uint8_t*, int64_t, const kernels::QAddQ8Params&) = nullptr;
  kernels::QAddQ8Params add_;
  std::vector<uint8_t> lookup_;  // channels_last_: the fused octet.LookupQ8 table (input 14), or empty
  bool depthwise_ = false, pointwise_ = false;
  bool implicit_ = false;  // channels-last implicit GEMM (see the constructor)
  bool planar_ = false;  // depthwise over 1-D / 2-D planes: the dwconv_u8s8 kernels
  kernels::DwConvU8S8Fn dw_kernel_ = nullptr;
  kernels::DwConvNhwcU8S8Fn dw_nhwc_kernel_ = nullptr;  // channels_last_ depthwise
  const char* dw_name_ = "";
  std::vector<int32_t> w32_, comp_;  // depthwise weights: [channel][tap], or [tap][channel] when channels_last_
  std::vector<uint8_t> dw_vnni_;     // channels-last depthwise on vnni: dwconv_nhwc_u8s8_pack_vnni's layout
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
  bool owns_copy_of_input(size_t i) const override { return i == 3; }  // B, packed

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

namespace {

// The fast kernel's conditions on a QLinearConv-shaped node whose input has shape x
// ([N, C, spatial...]); fills the geometry and parameters when they hold.
bool fast_qlinear_conv_conditions(const NodeContext& ctx, const Shape& x, WindowGeometry* g, ConstQParams* p) {
  if (ctx.isa().isa == kernels::Isa::ref || ctx.num_inputs() < 8) return false;
  if (!s8_weights_zero_free(ctx, 3, 5)) return false;
  if (ctx.has_input(8) && (!ctx.input_const(8) || ctx.input_dtype(8) != DType::s32)) return false;
  const Shape& w = ctx.input_shape(3);
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) return false;
  const int64_t group = ctx.node().attr_i("group", 1);
  if (group < 1 || x[1] % group || w[0] % group || w[1] != x[1] / group) return false;
  if (ctx.has_input(8) && ctx.input_const(8)->numel() != w[0]) return false;
  if (!read_qlinear_params(ctx, w[0], p)) return false;
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  *g = window_geometry(ctx, x, kernel, /*ceil_mode=*/false);
  return true;
}

// The channels-last kernels: the GEMM ones (several input channels per group), and the
// depthwise one for one output channel per input channel (no channel multiplier).
bool channels_last_layout_ok(const NodeContext& ctx, const Shape& x) {
  const int64_t group = ctx.node().attr_i("group", 1);
  return x[1] / group != 1 || ctx.input_shape(3)[0] == x[1];
}

void infer_qlinear_conv_nhwc(NodeContext& ctx) {
  const Shape x = nchw_of_nhwc_input(ctx, "octet.QLinearConvNhwc");
  WindowGeometry g;
  ConstQParams p;
  ctx.check(fast_qlinear_conv_conditions(ctx, x, &g, &p),
            "octet.QLinearConvNhwc needs constant s8 weights with zero points 0, constant per-tensor activation "
            "parameters and a SIMD ISA");
  const int64_t m = ctx.input_shape(3)[0];
  const std::vector<int64_t> out = g.out_dims();
  Shape y{x[0], out[0], out[1], m};
  shape_numel(y);
  ctx.check(ctx.num_inputs() <= QLinearConvNhwcIn::kCount, "octet.QLinearConvNhwc takes at most 15 inputs");
  for (size_t i = QLinearConvNhwcIn::kResidualScale; i <= QLinearConvNhwcIn::kSumZero; ++i)
    ctx.check(ctx.has_input(QLinearConvNhwcIn::kResidual) || !ctx.has_input(i),
              "octet.QLinearConvNhwc: fused add parameters without its input 9");
  if (ctx.has_input(QLinearConvNhwcIn::kLookupTable)) {
    // The fused lookup (a HardSwish, octet.LookupQ8) on the 8-bit output.
    const Tensor* table = ctx.input_const(QLinearConvNhwcIn::kLookupTable);
    ctx.check(table && table->dtype() == DType::u8 && table->numel() == 256,
              "octet.QLinearConvNhwc: the lookup table (input 14) must be a constant u8 tensor of 256 elements");
  }
  if (ctx.has_input(QLinearConvNhwcIn::kResidual)) {
    // The fused QLinearAdd: the residual (of the output's shape and type) and its and the
    // sum's constant per-tensor parameters, with positive bounded scale ratios.
    ctx.check(
        ctx.input_dtype(QLinearConvNhwcIn::kResidual) == p.y_type && ctx.input_shape(QLinearConvNhwcIn::kResidual) == y,
        "octet.QLinearConvNhwc: the residual (input 9) must have the output's type and shape " + shape_str(y));
    float r_scale = 0, s_scale = 0;
    int32_t zero = 0;
    const bool ok =
        const_pair(ctx, QLinearConvNhwcIn::kResidualScale, QLinearConvNhwcIn::kResidualZero, &r_scale, &zero) &&
        const_pair(ctx, QLinearConvNhwcIn::kSumScale, QLinearConvNhwcIn::kSumZero, &s_scale, &zero);
    ctx.check(ok && kernels::qadd_q8_params_ok(kernels::qadd_q8_params(p.y_scale, 0, r_scale, 0, s_scale, 0, false)),
              "octet.QLinearConvNhwc: the fused add needs constant per-tensor parameters whose scale ratios are "
              "positive and bounded (qadd_q8_params_ok)");
    for (size_t zi : {size_t(QLinearConvNhwcIn::kResidualZero), size_t(QLinearConvNhwcIn::kSumZero)})
      ctx.check(!ctx.has_input(zi) || ctx.input_dtype(zi) == p.y_type, "zero points must have the output's type");
  }
  ctx.set_output(0, p.y_type, y);
}

std::unique_ptr<OpKernel> create_qlinear_conv_nhwc(const NodeContext& ctx) {
  const Shape x = nchw_of_nhwc_input(ctx, "octet.QLinearConvNhwc");
  WindowGeometry g;
  ConstQParams p;
  ctx.check(fast_qlinear_conv_conditions(ctx, x, &g, &p) && channels_last_layout_ok(ctx, x),
            "octet.QLinearConvNhwc: no channels-last kernel for this node");
  ctx.check(!ctx.has_input(QLinearConvNhwcIn::kResidual) || x[1] / ctx.node().attr_i("group", 1) != 1,
            "octet.QLinearConvNhwc: no fused add for a depthwise convolution");
  return std::make_unique<FastQLinearConv>(ctx, x, g, std::move(p), /*channels_last=*/true);
}

}  // namespace

std::unique_ptr<OpKernel> create_fast_qlinear_conv(const NodeContext& ctx) {
  WindowGeometry g;
  ConstQParams p;
  const Shape& x = ctx.input_shape(0);
  if (!fast_qlinear_conv_conditions(ctx, x, &g, &p)) return nullptr;
  return std::make_unique<FastQLinearConv>(ctx, x, g, std::move(p), /*channels_last=*/false);
}

bool qlinear_conv_has_channels_last_kernel(const NodeContext& ctx) {
  WindowGeometry g;
  ConstQParams p;
  const Shape& x = ctx.input_shape(0);
  if (x.size() != 4 || !fast_qlinear_conv_conditions(ctx, x, &g, &p)) return false;
  return channels_last_layout_ok(ctx, x);
}

void register_qlinear_conv_nhwc_op(OpRegistry& r) {
  r.add(OpDef{kOctetDomain, kOpQLinearConvNhwc, infer_qlinear_conv_nhwc, create_qlinear_conv_nhwc});
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
