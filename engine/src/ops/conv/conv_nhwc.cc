// octet.ConvNhwc: the fused FP32 conv (conv_fast.h: X, W, optional B and residual Z, the Conv
// and fusion attributes) on channels-last tensors, X [N, H, W, C], Z and Y [N, OH, OW, M];
// the layout pass (passes/layout_nhwc.cc) makes it of Conv / octet.Conv. 2-D.
//
// With several input channels per group it is a GEMM in the gemm_f32 table's own orientation:
// Y[P, M] = col[P, K] x W[K, M], the weights packed once as B ((kh, kw, c) order) and the
// activations read as A in place: the image itself for a 1x1 stride-1 unpadded conv, else
// im2col rows gathered a bounded block of pixels at a time (runs of C contiguous floats). The
// epilogue is the table's: bias per column (= output channel), residual rows, ReLU / clip. With
// one input channel per group (depthwise, no multiplier) it runs the dwconv_nhwc_f32 kernels.
// Every output is one FMA chain in a fixed order, so results do not depend on the threads.
#include <algorithm>
#include <memory>
#include <vector>

#include "octet/kernels/registry.h"
#include "octet/kernels/dwconv.h"
#include "ops/conv/conv_fast.h"
#include "ops/packed_weights.h"

namespace octet::detail {
namespace {

// Pixel blocks gathered at a time hold about kColBlockBytes of im2col rows; layers whose whole
// im2col fits in kWholeColBytes are gathered at once.
constexpr int64_t kColBlockBytes = 256 << 10, kWholeColBytes = 2 << 20;
// Packed weights up to this size are read by every pixel block (below: run).
constexpr int64_t kBlockedMaxWeightBytes = 1 << 20;

struct ConvNhwcShape {
  Shape x;  // [N, C, H, W], what X stands for
  WindowGeometry g;
  int64_t group = 1, m = 0;
};

ConvNhwcShape conv_nhwc_check(const NodeContext& ctx) {
  ConvNhwcShape s;
  s.x = nchw_of_nhwc_input(ctx, "octet.ConvNhwc");
  ctx.check(ctx.input_dtype(0) == DType::f32, "octet.ConvNhwc is FP32 only");
  const Tensor* w = ctx.input_const(1);
  ctx.check(w && w->dtype() == DType::f32 && w->rank() == 4, "octet.ConvNhwc needs constant f32 weights [M, C/group, kh, kw]");
  const ConvShape conv = conv_shape(ctx, s.x, w->shape());
  s.group = conv.group;
  s.m = conv.out_channels;
  ctx.check(!conv.depthwise() || conv.depthwise_one_to_one(),
            "octet.ConvNhwc: no depthwise kernel with a channel multiplier");
  if (ctx.has_input(2)) {
    const Tensor* b = ctx.input_const(2);
    ctx.check(b && b->dtype() == DType::f32 && b->numel() == s.m, "B must be constant f32 [M]");
  }
  s.g = conv.win;
  return s;
}

Shape conv_nhwc_output(const ConvNhwcShape& s) { return {s.x[0], s.g.out[1], s.g.out[2], s.m}; }

void infer_conv_nhwc(NodeContext& ctx) {
  const ConvNhwcShape s = conv_nhwc_check(ctx);
  const Shape y = conv_nhwc_output(s);
  shape_numel(y);
  conv_fusion(ctx, y);
  ctx.set_output(0, DType::f32, y);
}

class ConvNhwcGemmKernel : public OpKernel {
 public:
  ConvNhwcGemmKernel(const NodeContext& ctx, const kernels::GemmF32Ops* ops, const ConvNhwcShape& s, const Tensor& w,
                     const Tensor* b, ConvFusion fusion)
      : ops_(ops), s_(s), fusion_(fusion) {
    const WindowGeometry& g = s_.g;
    cg_ = s_.x[1] / s_.group;
    mg_ = s_.m / s_.group;
    k_ = cg_ * g.kernel_size();
    pointwise_ = g.kernel_size() == 1 && g.stride[1] == 1 && g.stride[2] == 1 && g.pad_begin[1] == 0 &&
                 g.pad_begin[2] == 0 && g.pad_end[1] == 0 && g.pad_end[2] == 0;
    // Per group, B[k, m] with k = (kh, kw, c): the weights [m][c][tap] as [m][tap][c], packed
    // as the transposed matrix.
    const int64_t taps = g.kernel_size();
    packed_.resize(static_cast<size_t>(s_.group));
    for (int64_t grp = 0; grp < s_.group; ++grp) {
      packed_b_f32(ctx, FusedConvIn::kW, ops_, k_, mg_, &packed_[static_cast<size_t>(grp)],
                   [&](kernels::PackedBF32* out) {
                     const float* src = w.data_as<float>() + grp * mg_ * k_;
                     std::vector<float> wr(static_cast<size_t>(mg_ * k_));
                     for (int64_t m = 0; m < mg_; ++m)
                       for (int64_t c = 0; c < cg_; ++c)
                         for (int64_t t = 0; t < taps; ++t) wr[m * k_ + t * cg_ + c] = src[(m * cg_ + c) * taps + t];
                     ops_->pack_b(wr.data(), k_, mg_, k_, /*trans_b=*/true, out);
                   });
    }
    if (b) bias_.assign(b->data_as<float>(), b->data_as<float>() + s_.m);
    // Implicit GEMM (one group, 2-D, kw taps contiguous, K in one block): the GEMM reads a
    // zero-padded copy of the image in place, one kernel row of taps per A segment, instead of
    // gathered im2col rows. A k_w = 1 stride-1 conv without W padding has uniformly spaced
    // rows through the whole image: one GEMM. Otherwise one GEMM per output row, rows split
    // over the threads, for weights within one core's L2 (each row reads them all; larger
    // ones keep the gather, whose GEMM splits them between the threads). Per-node minima over
    // 3 alternating sittings, 2 threads: inception-v3 60.0 -> 55.9 ms in convs (Conv2d_4a
    // 6.69 -> 6.18 ms, its 17-pixel-row 1x7 convs 0.80 -> 0.72), densenet-121 31.9 -> 30.5,
    // googlenet 15.3 -> 14.8, resnet-18 17.6 -> 17.3; even 8-pixel rows gained.
    const kernels::PackedBF32& p0 = packed_[0];
    const bool segmentable = !pointwise_ && s_.group == 1 && g.kernel[0] == 1 && g.in[0] == 1 &&
                             g.dilation[2] == 1 && ops_->gemm_segmented && p0.kc >= k_;
    implicit_whole_ = segmentable && g.kernel[2] == 1 && g.stride[1] == 1 && g.stride[2] == 1 &&
                      g.pad_begin[2] == 0 && g.pad_end[2] == 0;
    implicit_rows_ = segmentable && !implicit_whole_ && k_ * s_.m * 4 <= kBlockedMaxWeightBytes;
  }

  std::string name() const override {
    return std::string(pointwise_                        ? "conv1x1_nhwc_gemm["
                       : implicit_whole_ || implicit_rows_ ? "conv_implicit_nhwc_gemm["
                                                           : "conv_nhwc_gemm[") +
           ops_->name + "]";
  }
  size_t weights_bytes() const override {
    size_t n = bias_.size() * sizeof(float);
    for (const auto& p : packed_) n += p.data.size();
    return n;
  }
  bool owns_copy_of_input(size_t i) const override { return i == 1 || i == 2; }

  void run(KernelContext& ctx) const override {
    const WindowGeometry& g = s_.g;
    const int64_t P = g.out_size(), in_pixels = g.in_size(), C = s_.x[1], M = s_.m;
    const float* x = ctx.input(0).data_as<float>();
    const float* z = fusion_.residual ? ctx.input(FusedConvIn::kZ).data_as<float>() : nullptr;
    float* y = ctx.output(0).data_as<float>();
    kernels::ThreadPool* pool = ctx.pool && ctx.pool->size() > 1 ? ctx.pool : nullptr;
    const int64_t threads = pool ? pool->size() : 1;
    // Gathered convolutions with enough pixels: balanced blocks of whole row tiles, one per
    // task, each gathered and multiplied on its thread; otherwise the GEMM splits the work.
    // Every block reads all of the packed weights, so weights beyond one core's L2 go the
    // GEMM's way, which splits them between the threads (resnet-18's 3x3 convs, 2 threads:
    // 14x14x256 1.19 -> 1.05 ms, 7x7x512 1.19-1.37 -> 1.11-1.18 ms; 28x28x128, 590 KB of
    // weights, stays blocked: 1.07 ms, 1.78 the other way).
    if (implicit_whole_ || implicit_rows_) {
      run_implicit(ctx, pool);
      return;
    }
    const int64_t mr = ops_->mr;
    const bool blocked = !pointwise_ && (P + mr - 1) / mr >= 2 * threads && k_ * M * 4 <= kBlockedMaxWeightBytes;
    const PixelTasks tasks(P, k_ * 4, threads, mr, kColBlockBytes);
    const int64_t max_rows = blocked ? tasks.max_rows : std::min<int64_t>(P, kWholeColBytes / (k_ * 4) + 1);
    for (int64_t n = 0; n < s_.x[0]; ++n) {
      const float* xn = x + n * in_pixels * C;
      const float* zn = z ? z + n * P * M : nullptr;
      float* yn = y + n * P * M;
      // Rows [p0, p1) of every group; a is the gathered block or null (1x1: x in place).
      auto rows = [&](int64_t p0, int64_t p1, float* col, kernels::ThreadPool* inner) {
        for (int64_t grp = 0; grp < s_.group; ++grp) {
          const float* a = xn + p0 * C + grp * cg_;
          int64_t lda = C;
          if (!pointwise_) {
            auto gather = [&](int64_t r0, int64_t r1) {
              im2col_nhwc_rows<float>(g, xn, C, grp * cg_, cg_, p0 + r0, p0 + r1, 0.0f, col + r0 * k_);
            };
            if (inner && (p1 - p0) * k_ >= (int64_t(1) << 14)) inner->parallel_for(p1 - p0, gather);
            else gather(0, p1 - p0);
            a = col;
            lda = k_;
          }
          ops_->gemm(p1 - p0, a, lda, packed_[static_cast<size_t>(grp)], yn + p0 * M + grp * mg_, M,
                     epilogue(grp, zn ? zn + p0 * M + grp * mg_ : nullptr), inner);
        }
      };
      if (blocked) {
        auto run_tasks = [&](int64_t t0, int64_t t1) {
          // Not zero-filled: the gather writes every element before the GEMM reads it.
          std::unique_ptr<float[]> col(new float[static_cast<size_t>(max_rows * k_)]);
          for (int64_t t = t0; t < t1; ++t) {
            int64_t p0, p1;
            tasks.rows(t, &p0, &p1);
            rows(p0, p1, col.get(), nullptr);
          }
        };
        if (pool) pool->parallel_for(tasks.count, run_tasks);
        else run_tasks(0, tasks.count);
      } else if (pointwise_) {
        rows(0, P, nullptr, pool);
      } else {
        std::unique_ptr<float[]> col(new float[static_cast<size_t>(max_rows * k_)]);
        for (int64_t p0 = 0; p0 < P; p0 += max_rows) rows(p0, std::min(P, p0 + max_rows), col.get(), pool);
      }
    }
  }

 private:
  // Group grp's epilogue: its bias, the residual rows (or null) M apart, the activation.
  kernels::EpilogueF32 epilogue(int64_t grp, const float* residual) const {
    kernels::EpilogueF32 ep;
    ep.bias = bias_.empty() ? nullptr : bias_.data() + grp * mg_;
    ep.residual = residual;
    ep.ldr = s_.m;
    ep.act = fusion_.act;
    ep.clip_lo = fusion_.clip_lo;
    ep.clip_hi = fusion_.clip_hi;
    return ep;
  }

  // The implicit-GEMM path, image by image: the zero-padded image (skipped when there is no
  // padding to add), then one GEMM over all pixels (the pool splits it) or one per output row
  // (rows split over the pool).
  void run_implicit(KernelContext& ctx, kernels::ThreadPool* pool) const {
    const WindowGeometry& g = s_.g;
    const int64_t C = s_.x[1], M = s_.m, P = g.out_size(), out_h = g.out[1], out_w = g.out[2];
    const PaddedImage pad(g);
    const bool needs_copy = pad.top || pad.left || pad.height > g.in[1] || pad.width != g.in[2];
    std::unique_ptr<float[]> padded(needs_copy ? new float[static_cast<size_t>(pad.height * pad.width * C)] : nullptr);
    const kernels::ASegments seg{g.kernel[1], g.kernel[2] * C, g.dilation[1] * pad.width * C};
    for (int64_t n = 0; n < s_.x[0]; ++n) {
      const float* img = ctx.input(0).data_as<float>() + n * g.in_size() * C;
      const float* z = fusion_.residual ? ctx.input(FusedConvIn::kZ).data_as<float>() + n * P * M : nullptr;
      float* y = ctx.output(0).data_as<float>() + n * P * M;
      if (needs_copy) {
        auto pad_rows = [&](int64_t r0, int64_t r1) {
          pad.fill_rows(img, g.in[1], g.in[2], C, 0.0f, padded.get(), r0, r1);
        };
        if (pool) pool->parallel_for(pad.height, pad_rows);
        else pad_rows(0, pad.height);
        img = padded.get();
      }
      if (implicit_whole_) {
        ops_->gemm_segmented(P, img, C, seg, packed_[0], y, M, epilogue(0, z), pool);
        continue;
      }
      auto out_rows = [&](int64_t r0, int64_t r1) {
        for (int64_t oh = r0; oh < r1; ++oh)
          ops_->gemm_segmented(out_w, img + oh * g.stride[1] * pad.width * C, g.stride[2] * C, seg, packed_[0],
                               y + oh * out_w * M, M, epilogue(0, z ? z + oh * out_w * M : nullptr), nullptr);
      };
      if (pool) pool->parallel_for(out_h, out_rows);
      else out_rows(0, out_h);
    }
  }

  const kernels::GemmF32Ops* ops_;
  ConvNhwcShape s_;
  ConvFusion fusion_;
  int64_t cg_ = 0, mg_ = 0, k_ = 0;
  bool pointwise_ = false;
  bool implicit_whole_ = false, implicit_rows_ = false;  // see the constructor
  std::vector<kernels::PackedBF32> packed_;  // one per group
  std::vector<float> bias_;
};

class ConvNhwcDepthwiseKernel : public OpKernel {
 public:
  ConvNhwcDepthwiseKernel(const kernels::IsaChoice& isa, const ConvNhwcShape& s, const Tensor& w, const Tensor* b, ConvFusion fusion)
      : fn_(kernels::kernel_registry(isa).dwconv_nhwc_f32.run), name_(kernels::kernel_registry(isa).dwconv_nhwc_f32.name), s_(s), fusion_(fusion) {
    const int64_t C = s_.x[1], taps = s_.g.kernel_size();
    w_.resize(static_cast<size_t>(C * taps));
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < taps; ++t) w_[t * C + c] = w.data_as<float>()[c * taps + t];
    if (b) bias_.assign(b->data_as<float>(), b->data_as<float>() + C);
  }
  std::string name() const override { return name_; }
  size_t weights_bytes() const override { return (w_.size() + bias_.size()) * sizeof(float); }
  bool owns_copy_of_input(size_t i) const override { return i == 1 || i == 2; }

  void run(KernelContext& ctx) const override {
    const WindowGeometry& g = s_.g;
    const int64_t C = s_.x[1];
    kernels::DwConvNhwcF32 p;
    static_cast<kernels::NhwcWindow&>(p) = nhwc_window(g, C);
    p.weights = w_.data();
    p.bias = bias_.empty() ? nullptr : bias_.data();
    p.act = fusion_.act;
    p.clip_lo = fusion_.clip_lo;
    p.clip_hi = fusion_.clip_hi;
    const int64_t in_elems = g.in_size() * C, out_elems = g.out_size() * C;
    const bool threaded = ctx.pool && ctx.pool->size() > 1 && p.out_h > 1 && out_elems * g.kernel_size() >= 8192;
    for (int64_t n = 0; n < s_.x[0]; ++n) {
      p.in = ctx.input(0).data_as<float>() + n * in_elems;
      p.residual = fusion_.residual ? ctx.input(FusedConvIn::kZ).data_as<float>() + n * out_elems : nullptr;
      p.out = ctx.output(0).data_as<float>() + n * out_elems;
      auto rows = [&](int64_t r0, int64_t r1) {
        std::vector<float> acc(static_cast<size_t>(C));
        fn_(p, r0, r1, acc.data());
      };
      if (threaded) ctx.pool->parallel_for(p.out_h, rows);
      else rows(0, p.out_h);
    }
  }

 private:
  kernels::DwConvNhwcF32Fn fn_;
  const char* name_;
  ConvNhwcShape s_;
  ConvFusion fusion_;
  std::vector<float> w_, bias_;  // w_: [tap][channel]
};

std::unique_ptr<OpKernel> create_conv_nhwc(const NodeContext& ctx) {
  const ConvNhwcShape s = conv_nhwc_check(ctx);
  const ConvFusion fusion = conv_fusion(ctx, conv_nhwc_output(s));
  ctx.check(ctx.isa().isa != kernels::Isa::ref, "octet.ConvNhwc has no reference kernel (the layout pass does not run on ref)");
  const Tensor& w = *ctx.input_const(1);
  const Tensor* b = ctx.has_input(2) ? ctx.input_const(2) : nullptr;
  if (s.x[1] / s.group == 1) return std::make_unique<ConvNhwcDepthwiseKernel>(ctx.isa(), s, w, b, fusion);
  const kernels::GemmF32Ops* ops = kernels::kernel_registry(ctx.isa()).gemm_f32;
  ctx.check(ops && ops->nr > 1, "octet.ConvNhwc: no FP32 GEMM kernel on this ISA");
  return std::make_unique<ConvNhwcGemmKernel>(ctx, ops, s, w, b, fusion);
}

}  // namespace

bool conv_has_channels_last_kernel(const NodeContext& ctx) {
  if (ctx.isa().isa == kernels::Isa::ref || ctx.input_dtype(0) != DType::f32) return false;
  const Shape& x = ctx.input_shape(0);
  const Tensor* w = ctx.input_const(1);
  if (x.size() != 4 || !w || w->dtype() != DType::f32 || w->rank() != 4) return false;
  if (ctx.has_input(2) && !ctx.input_const(2)) return false;
  const ConvShape conv = conv_shape(ctx, x, w->shape());  // the node passed inference: it fits
  if (conv.depthwise()) return conv.depthwise_one_to_one();  // no kernel with a channel multiplier
  const kernels::GemmF32Ops* ops = kernels::kernel_registry(ctx.isa()).gemm_f32;
  return ops && ops->nr > 1;
}

void register_conv_nhwc_op(OpRegistry& r) {
  r.add(OpDef{kOctetDomain, kOpConvNhwc, infer_conv_nhwc, create_conv_nhwc});
}

}  // namespace octet::detail
