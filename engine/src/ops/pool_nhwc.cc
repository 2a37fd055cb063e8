// octet.MaxPoolNhwc / octet.AveragePoolNhwc (FP32, below): max pooling of a channels-last tensor [N, H, W, C] (2-D; kernel_shape,
// strides, pads, dilations, ceil_mode as MaxPool; no Indices), placed by the layout pass
// (passes/layout_nhwc.cc) for u8 / s8 (octet.MaxPool) and f32 (MaxPool). Each output pixel is
// the max over the C-long rows of its window's pixels inside the image, vectorised over
// channels, with the NCHW kernels' semantics: bytes as in octet.MaxPool (s8 compared in u8
// order after x ^ 0x80; every ONNX window holds a real value); f32 as in MaxPool (NaN never
// replaces a value, a window wholly in the padding gives the lowest float).
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "ops/conv_geometry.h"
#include "ops/op_util.h"

namespace octet::detail {
namespace {

WindowGeometry maxpool_nhwc_geometry(const NodeContext& ctx, Shape* x_nchw) {
  *x_nchw = nchw_of_nhwc_input(ctx, "octet.MaxPoolNhwc");
  const DType t = ctx.input_dtype(0);
  ctx.check(t == DType::u8 || t == DType::s8 || t == DType::f32,
            std::string("unsupported dtype ") + dtype_name(t) + " for input 0");
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  ctx.check(ctx.node().attr_i("storage_order", 0) == 0, "storage_order must be 0");
  ctx.check(ctx.num_outputs() == 1 || !ctx.has_output(1), "octet.MaxPoolNhwc has no Indices output");
  return window_geometry(ctx, *x_nchw, ctx.node().attr_ints("kernel_shape"), ctx.node().attr_i("ceil_mode", 0) != 0);
}

void infer_maxpool_nhwc(NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = maxpool_nhwc_geometry(ctx, &x);
  Shape y{x[0], g.out[1], g.out[2], x[1]};
  shape_numel(y);
  ctx.set_output(0, ctx.input_dtype(0), y);
}

// The max of one value into the running max: bytes (already in u8 order) and floats.
inline void max_into(uint8_t* acc, const uint8_t* in, int64_t n) {
  for (int64_t c = 0; c < n; ++c) acc[c] = std::max(acc[c], in[c]);
}
inline void max_into(float* acc, const float* in, int64_t n) {
  for (int64_t c = 0; c < n; ++c) acc[c] = in[c] > acc[c] ? in[c] : acc[c];
}

template <class T>
class MaxPoolNhwcKernel : public OpKernel {
 public:
  MaxPoolNhwcKernel(const char* name, WindowGeometry g, int64_t batch, int64_t channels, uint8_t mask)
      : name_(name), g_(g), batch_(batch), c_(channels), mask_(mask) {}
  std::string name() const override { return name_; }

  void run(KernelContext& ctx) const override {
    const T* x = static_cast<const T*>(ctx.input(0).data());
    T* y = static_cast<T*>(ctx.output(0).data());
    const int64_t IH = g_.in[1], IW = g_.in[2], OH = g_.out[1], OW = g_.out[2];
    // The running max starts below every value; the bytes of s8 go through u8 order.
    const T init = std::is_same_v<T, float> ? -std::numeric_limits<float>::infinity() : T(0);
    auto rows = [&](int64_t r0, int64_t r1) {
      std::vector<T> acc(static_cast<size_t>(c_)), shifted(mask_ ? static_cast<size_t>(c_) : 0);
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / OH, oh = r % OH;
        const T* xn = x + n * IH * IW * c_;
        for (int64_t ow = 0; ow < OW; ++ow) {
          std::fill(acc.begin(), acc.end(), init);
          bool any = false;
          for (int64_t kh = 0; kh < g_.kernel[1]; ++kh) {
            const int64_t ih = oh * g_.stride[1] - g_.pad_begin[1] + kh * g_.dilation[1];
            if (ih < 0 || ih >= IH) continue;
            for (int64_t kw = 0; kw < g_.kernel[2]; ++kw) {
              const int64_t iw = ow * g_.stride[2] - g_.pad_begin[2] + kw * g_.dilation[2];
              if (iw < 0 || iw >= IW) continue;
              any = true;
              const T* in = xn + (ih * IW + iw) * c_;
              if constexpr (std::is_same_v<T, uint8_t>) {
                if (mask_) {
                  for (int64_t c = 0; c < c_; ++c) shifted[c] = static_cast<uint8_t>(in[c] ^ mask_);
                  in = shifted.data();
                }
              }
              max_into(acc.data(), in, c_);
            }
          }
          T* out = y + ((n * OH + oh) * OW + ow) * c_;
          if constexpr (std::is_same_v<T, float>) {
            if (any) std::copy(acc.begin(), acc.end(), out);
            else std::fill(out, out + c_, std::numeric_limits<float>::lowest());
          } else {
            for (int64_t c = 0; c < c_; ++c) out[c] = static_cast<uint8_t>(acc[c] ^ mask_);
          }
        }
      }
    };
    const int64_t total = batch_ * OH;
    if (ctx.pool && ctx.pool->size() > 1 && total > 1 && total * OW * c_ >= (int64_t(1) << 14))
      ctx.pool->parallel_for(total, rows);
    else
      rows(0, total);
  }

 private:
  const char* name_;
  WindowGeometry g_;
  int64_t batch_, c_;
  uint8_t mask_;
};

std::unique_ptr<OpKernel> create_maxpool_nhwc(const NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = maxpool_nhwc_geometry(ctx, &x);
  const DType t = ctx.input_dtype(0);
  if (t == DType::f32) return std::make_unique<MaxPoolNhwcKernel<float>>("maxpool_nhwc_f32", g, x[0], x[1], 0);
  return std::make_unique<MaxPoolNhwcKernel<uint8_t>>("qmaxpool_nhwc_u8", g, x[0], x[1], t == DType::s8 ? 0x80 : 0);
}

// --- octet.AveragePoolNhwc: FP32 AveragePool (and GlobalAveragePool as a whole-image window) on
// [N, H, W, C], with AveragePool's counts: the taps inside the image, or with
// count_include_pad those inside the padded extent; a window with none gives 0.

WindowGeometry avgpool_nhwc_geometry(const NodeContext& ctx, Shape* x_nchw) {
  *x_nchw = nchw_of_nhwc_input(ctx, "octet.AveragePoolNhwc");
  ctx.check(ctx.input_dtype(0) == DType::f32, "octet.AveragePoolNhwc is FP32 only");
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  return window_geometry(ctx, *x_nchw, ctx.node().attr_ints("kernel_shape"), ctx.node().attr_i("ceil_mode", 0) != 0);
}

void infer_avgpool_nhwc(NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = avgpool_nhwc_geometry(ctx, &x);
  Shape y{x[0], g.out[1], g.out[2], x[1]};
  shape_numel(y);
  ctx.set_output(0, DType::f32, y);
}

// Taps of one dim inside [lower, upper) for the window starting at `start`.
int64_t taps_within(int64_t start, int64_t k, int64_t d, int64_t lower, int64_t upper) {
  int64_t n = 0;
  for (int64_t t = 0; t < k; ++t) n += start + t * d >= lower && start + t * d < upper;
  return n;
}

class AvgPoolNhwcF32Kernel : public OpKernel {
 public:
  AvgPoolNhwcF32Kernel(WindowGeometry g, int64_t batch, int64_t channels, bool count_include_pad)
      : g_(g), batch_(batch), c_(channels), include_pad_(count_include_pad) {}
  std::string name() const override { return "avgpool_nhwc_f32"; }

  void run(KernelContext& ctx) const override {
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    const int64_t IH = g_.in[1], IW = g_.in[2], OH = g_.out[1], OW = g_.out[2];
    auto rows = [&](int64_t r0, int64_t r1) {
      std::vector<float> acc(static_cast<size_t>(c_));
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / OH, oh = r % OH;
        const float* xn = x + n * IH * IW * c_;
        const int64_t h_start = oh * g_.stride[1] - g_.pad_begin[1];
        const int64_t rows_in = taps_within(h_start, g_.kernel[1], g_.dilation[1], 0, IH);
        const int64_t rows_padded =
            taps_within(h_start, g_.kernel[1], g_.dilation[1], -g_.pad_begin[1], IH + g_.pad_end[1]);
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w_start = ow * g_.stride[2] - g_.pad_begin[2];
          std::fill(acc.begin(), acc.end(), 0.0f);
          for (int64_t kh = 0; kh < g_.kernel[1]; ++kh) {
            const int64_t ih = h_start + kh * g_.dilation[1];
            if (ih < 0 || ih >= IH) continue;
            for (int64_t kw = 0; kw < g_.kernel[2]; ++kw) {
              const int64_t iw = w_start + kw * g_.dilation[2];
              if (iw < 0 || iw >= IW) continue;
              const float* __restrict in = xn + (ih * IW + iw) * c_;
              for (int64_t c = 0; c < c_; ++c) acc[c] += in[c];
            }
          }
          const int64_t count =
              include_pad_ ? rows_padded * taps_within(w_start, g_.kernel[2], g_.dilation[2], -g_.pad_begin[2], IW + g_.pad_end[2])
                           : rows_in * taps_within(w_start, g_.kernel[2], g_.dilation[2], 0, IW);
          float* out = y + ((n * OH + oh) * OW + ow) * c_;
          if (count <= 0) {
            std::fill(out, out + c_, 0.0f);
            continue;
          }
          const float div = static_cast<float>(count);
          for (int64_t c = 0; c < c_; ++c) out[c] = acc[c] / div;
        }
      }
    };
    const int64_t total = batch_ * OH;
    if (ctx.pool && ctx.pool->size() > 1 && total > 1 && total * OW * c_ * g_.kernel_size() >= (int64_t(1) << 14))
      ctx.pool->parallel_for(total, rows);
    else
      rows(0, total);
  }

 private:
  WindowGeometry g_;
  int64_t batch_, c_;
  bool include_pad_;
};

std::unique_ptr<OpKernel> create_avgpool_nhwc(const NodeContext& ctx) {
  Shape x;
  const WindowGeometry g = avgpool_nhwc_geometry(ctx, &x);
  return std::make_unique<AvgPoolNhwcF32Kernel>(g, x[0], x[1], ctx.node().attr_i("count_include_pad", 0) != 0);
}

}  // namespace

void register_pool_nhwc_ops(OpRegistry& r) {
  r.add(OpDef{"octet", "MaxPoolNhwc", infer_maxpool_nhwc, create_maxpool_nhwc});
  r.add(OpDef{"octet", "AveragePoolNhwc", infer_avgpool_nhwc, create_avgpool_nhwc});
}

}  // namespace octet::detail
