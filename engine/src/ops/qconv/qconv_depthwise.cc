// The fast INT8 depthwise convolutions (one input channel per group): on planes (NCHW; the
// dwconv_u8s8 plane kernels for 1-D / 2-D, a direct integer loop for 3-D), and channels-last
// with one output channel per input channel (the dwconv_nhwc_u8s8 kernels). Weights are
// int32 per output channel with comp = bias - x_zero_point * sum(w) folded in; the epilogue
// is the INT8 GEMM's (gemm_u8s8.h), so every level gives the reference's bits.
#include <algorithm>
#include <cmath>

#include "ops/octet_ops.h"
#include "ops/qconv/qconv_kernel.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

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

// Depthwise weights as int32 per output channel ([channel][tap]), comp and scales.
struct DepthwiseWeights {
  std::vector<int32_t> w32, comp;
  std::vector<float> scale;
};

DepthwiseWeights depthwise_weights(const QConvDesc& d) {
  const NodeContext& ctx = *d.ctx;
  const int64_t M = d.shape.out_channels, K = d.shape.k_size();
  std::vector<int32_t> bias(static_cast<size_t>(M), 0);
  if (ctx.has_input(QLinearConvNhwcIn::kB)) bias = tensor_to_int32s(*ctx.input_const(QLinearConvNhwcIn::kB));
  const int8_t* wd = ctx.input_const(QLinearConvNhwcIn::kW)->data_as<int8_t>();
  const int32_t x_zero = u8_zero(d.params);
  DepthwiseWeights w;
  w.w32.assign(wd, wd + M * K);
  w.comp.resize(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) {
    int64_t sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += wd[m * K + k];
    w.comp[m] = static_cast<int32_t>(static_cast<uint32_t>(bias[m]) - static_cast<uint32_t>(x_zero * sum));
  }
  w.scale = requant_scales(d.params, 0, M);
  return w;
}

// NCHW: one task per (image, input channel) pads the plane, then runs every output channel of
// it (1-D / 2-D: the plane kernel; 3-D: the direct loop).
class QConvDepthwisePlanes : public QConvKernel {
 public:
  explicit QConvDepthwisePlanes(const QConvDesc& d) : QConvKernel(d) {
    DepthwiseWeights w = depthwise_weights(d);
    w32_ = std::move(w.w32);
    comp_ = std::move(w.comp);
    scale_ = std::move(w.scale);
    planar_ = win_.kernel[0] == 1 && win_.out[0] == 1 && win_.in[0] == 1;
    const kernels::KernelRegistry& reg = kernels::kernel_registry(d.ctx->isa());
    dw_kernel_ = reg.dwconv_u8s8.run;
    dw_name_ = planar_ ? reg.dwconv_u8s8.name : "qconv_depthwise_direct";
  }
  std::string name() const override { return std::string("qconv_depthwise+") + dw_name_; }
  size_t weights_bytes() const override { return w32_.size() * 4 + comp_.size() * 4; }
  // The weights are unpacked to int32 and the bias folded at creation.
  bool owns_copy_of_input(size_t i) const override { return i == QLinearConvNhwcIn::kW || i == QLinearConvNhwcIn::kB; }

  void run(KernelContext& ctx) const override {
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

  bool planar_ = false;  // 1-D / 2-D planes: the dwconv_u8s8 kernels
  kernels::DwConvU8S8Fn dw_kernel_ = nullptr;
  const char* dw_name_ = "";
  std::vector<int32_t> w32_, comp_;  // [channel][tap]
  std::vector<float> scale_;
};

// [N, H, W, C] in and out, one output channel per input channel: output rows over the pool.
class QConvDepthwiseNhwc : public QConvKernel {
 public:
  explicit QConvDepthwiseNhwc(const QConvDesc& d) : QConvKernel(d) {
    DepthwiseWeights w = depthwise_weights(d);
    comp_ = std::move(w.comp);
    scale_ = std::move(w.scale);
    w32_.resize(w.w32.size());  // as [tap][channel]
    for (int64_t m = 0; m < out_channels_; ++m)
      for (int64_t t = 0; t < k_; ++t) w32_[t * out_channels_ + m] = w.w32[m * k_ + t];
    const kernels::DwConvNhwcU8S8Ops& dw =
        kernels::dwconv_nhwc_u8s8_prepare(*kernels::kernel_registry(d.ctx->isa()).dwconv_nhwc_u8s8, w32_.data(),
                                          comp_.data(), scale_.data(), k_, out_channels_, &dw_packed_);
    dw_nhwc_kernel_ = dw.run;
    dw_name_ = dw.name;
  }
  std::string name() const override { return std::string("qconv_depthwise+") + dw_name_ + lookup_suffix(); }
  size_t weights_bytes() const override {
    return w32_.size() * 4 + comp_.size() * 4 + dw_packed_.size() + fusion_bytes();
  }
  bool owns_copy_of_input(size_t i) const override {
    return i == QLinearConvNhwcIn::kW || i == QLinearConvNhwcIn::kB || i == QLinearConvNhwcIn::kLookupTable;
  }

  void run(KernelContext& ctx) const override {
    const auto& g = win_;
    const ScalarEpilogue epi(p_.y_type, p_.y_zero);
    kernels::DwConvU8S8Nhwc p;
    static_cast<kernels::NhwcWindow&>(p) = nhwc_window(g, channels_);
    p.weights = w32_.data();
    p.vnni_packed = dw_packed_.empty() ? nullptr : dw_packed_.data();
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

 private:
  kernels::DwConvNhwcU8S8Fn dw_nhwc_kernel_ = nullptr;
  const char* dw_name_ = "";
  std::vector<int32_t> w32_, comp_;  // w32_: [tap][channel]
  std::vector<uint8_t> dw_packed_;   // the weights in the kernel's own layout, or empty
  std::vector<float> scale_;
};

}  // namespace

std::unique_ptr<OpKernel> make_qconv_depthwise_planes(const QConvDesc& d) {
  return std::make_unique<QConvDepthwisePlanes>(d);
}

std::unique_ptr<OpKernel> make_qconv_depthwise_nhwc(const QConvDesc& d) { return std::make_unique<QConvDepthwiseNhwc>(d); }

}  // namespace octet::detail
