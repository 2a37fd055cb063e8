// The fast INT8 convolutions as GEMM on pixel rows (several input channels per group).
//
// The weights are packed per group with k ordered (kd, kh, kw, c) (QConvDesc::gemms), so that
// one kernel tap of one pixel is cg contiguous bytes of a pixel-major image.
// - NCHW (QLinearConv): the image is transposed once to pixel-major ([P_in, C] u8, s8 shifted
//   to u8). A 1x1 stride-1 unpadded convolution is then one GEMM on the transposed image in
//   place; every other shape gathers a bounded block of output pixels at a time. The GEMM
//   writes [P, M] rows, transposed back to NCHW.
// - NHWC (octet.QLinearConvNhwc): the same without the transposes; the GEMM reads the image
//   (or its gathered blocks) and writes the output rows in place, with the fused add and lookup.
// - Implicit NHWC: the GEMM reads each output row's pixels straight from a zero-point-padded
//   copy of the image, one kernel row of taps (k_w * C bytes) per A segment.
// With enough pixels, one (parallel) loop runs blocks of pixels through all of it in cache
// (blocks of about kColBlockBytes); a small layer instead gathers at most kWholeColBytes at
// once and lets the GEMMs split over the pool. Results do not depend on the blocking or the
// thread count: every output is one exact int32 sum and the same epilogue.
#include <algorithm>
#include <functional>

#include "ops/octet_ops.h"
#include "ops/qconv/qconv_kernel.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

class QConvGemmKernel : public QConvKernel {
 public:
  static constexpr int64_t kColBlockBytes = 192 << 10, kWholeColBytes = 1 << 20;

  explicit QConvGemmKernel(const QConvDesc& d) : QConvKernel(d), gemms_(std::move(d.gemms())) {
    pointwise_ = d.shape.pointwise();
    if (fused_add_)
      for (auto& gemm : gemms_) gemm->set_fused_add(add_);
    // Small layers gather all their pixels at once and let the GEMM split the work; big ones
    // run blocks of kColBlockBytes, one per task.
    const WindowGeometry& g = win_;
    block_ = g.out_size() * k_ <= kWholeColBytes ? g.out_size()
                                                 : std::max<int64_t>(16, kColBlockBytes / std::max<int64_t>(k_, 1));
    block_ = std::max<int64_t>(1, std::min(block_, g.out_size()));
  }
  size_t weights_bytes() const override {
    size_t b = fusion_bytes();
    for (const auto& g : gemms_) b += g->bytes();
    return b;
  }
  // The weights are packed and the bias folded at creation.
  bool owns_copy_of_input(size_t i) const override {
    return i == QLinearConvNhwcIn::kW || i == QLinearConvNhwcIn::kB || i == QLinearConvNhwcIn::kLookupTable;
  }

 protected:
  std::string gemm_name() const { return gemms_[0]->kernel_name(); }
  std::string add_suffix() const { return fused_add_ ? "+qadd" : ""; }

  // Rows [p0, p1) of the im2col matrix of group grp from the pixel-major image xt [P_in, C]:
  // col[p - p0][(tap, c)], zero point outside the image.
  void gather(const uint8_t* xt, int64_t grp, int64_t p0, int64_t p1, uint8_t* col) const {
    im2col_nhwc_rows<uint8_t>(win_, xt, channels_, grp * cg_, cg_, p0, p1, static_cast<uint8_t>(x_zero_u8_), col);
  }

  std::vector<std::unique_ptr<PackedQGemm>> gemms_;
  bool pointwise_ = false;
  int64_t block_ = 0;  // output pixels per im2col block
};

class QConvGemmNchw : public QConvGemmKernel {
 public:
  using QConvGemmKernel::QConvGemmKernel;
  std::string name() const override {
    return std::string(pointwise_ ? "qconv1x1_nhwc+" : "qconv_blocked_nhwc+") + gemm_name();
  }

  void run(KernelContext& ctx) const override {
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
          transpose_u8_(xn + r0, channels_, r1 - r0, in_size, xt.get() + r0 * channels_, channels_, mask);
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
            if (pointwise_) transpose_u8_(xn + p0, channels_, rows, in_size, a.data(), channels_, mask);
            for (int64_t grp = 0; grp < group_; ++grp) {
              if (pointwise_) {
                gemms_[grp]->run(rows, a.data() + grp * cg_, channels_, o.data() + grp * mg_, out_channels_, nullptr);
              } else {
                gather(xt.get(), grp, p0, p1, a.data());
                gemms_[grp]->run(rows, a.data(), k_, o.data() + grp * mg_, out_channels_, nullptr);
              }
            }
            transpose_u8_(o.data(), rows, out_channels_, out_channels_, yn + p0, P, 0);
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
        transpose_u8_(out.get() + r0 * out_channels_, r1 - r0, out_channels_, out_channels_, yn + r0, P, 0);
      });
    }
  }
};

class QConvGemmNhwc : public QConvGemmKernel {
 public:
  using QConvGemmKernel::QConvGemmKernel;
  std::string name() const override {
    return std::string(pointwise_ ? "qconv1x1_nhwc_io+" : "qconv_blocked_nhwc_io+") + gemm_name() + add_suffix() +
           lookup_suffix();
  }

  void run(KernelContext& ctx) const override {
    const auto& g = win_;
    const int64_t P = g.out_size(), in_size = g.in_size();
    kernels::ThreadPool* pool = ctx.pool && ctx.pool->size() > 1 ? ctx.pool : nullptr;
    const uint8_t* xb = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* yb = static_cast<uint8_t*>(ctx.output(0).data());
    std::unique_ptr<uint8_t[]> shifted;  // s8 input as u8 (x ^ 0x80), one image
    const int64_t threads = pool ? pool->size() : 1;
    const bool tiled = P >= 64 * threads;
    const PixelTasks tasks(P, std::max(k_, out_channels_), threads, gemms_[0]->mr(), kColBlockBytes);
    const uint8_t* rb = fused_add_ ? static_cast<const uint8_t*>(ctx.input(QLinearConvNhwcIn::kResidual).data()) : nullptr;
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
      if ((rn && !add_in_gemm_) || has_lookup()) {  // one pass over the output for both
        if (pool) pool->parallel_for(P, finish_rows);
        else finish_rows(0, P);
      }
    }
  }
};

// Implicit GEMM (channels-last, one group, 2-D, kw taps contiguous; the conditions are in
// qconv_impls.cc): one segmented GEMM per output row of each image.
class QConvImplicitNhwc : public QConvGemmKernel {
 public:
  using QConvGemmKernel::QConvGemmKernel;
  std::string name() const override {
    return "qconv_implicit_nhwc_io+" + gemm_name() + add_suffix() + lookup_suffix();
  }

  void run(KernelContext& ctx) const override {
    const int64_t P = win_.out_size(), in_size = win_.in_size();
    kernels::ThreadPool* pool = ctx.pool && ctx.pool->size() > 1 ? ctx.pool : nullptr;
    const uint8_t* xb = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* yb = static_cast<uint8_t*>(ctx.output(0).data());
    const uint8_t* rb = fused_add_ ? static_cast<const uint8_t*>(ctx.input(QLinearConvNhwcIn::kResidual).data()) : nullptr;
    std::unique_ptr<uint8_t[]> shifted;  // s8 input as u8 (x ^ 0x80), one image
    for (int64_t n = 0; n < batch_; ++n) {
      const uint8_t* xn = xb + n * in_size * channels_;
      if (p_.x_type == DType::s8) {
        if (!shifted) shifted.reset(new uint8_t[static_cast<size_t>(in_size * channels_)]);
        to_u8(DType::s8, xn, in_size * channels_, shifted.get());
        xn = shifted.get();
      }
      run_implicit(xn, yb + n * P * out_channels_, rb ? rb + n * P * out_channels_ : nullptr, pool);
    }
  }

 private:
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
};

}  // namespace

std::unique_ptr<OpKernel> make_qconv_gemm_nchw(const QConvDesc& d) { return std::make_unique<QConvGemmNchw>(d); }
std::unique_ptr<OpKernel> make_qconv_gemm_nhwc(const QConvDesc& d) { return std::make_unique<QConvGemmNhwc>(d); }
std::unique_ptr<OpKernel> make_qconv_implicit_nhwc(const QConvDesc& d) { return std::make_unique<QConvImplicitNhwc>(d); }

}  // namespace octet::detail
