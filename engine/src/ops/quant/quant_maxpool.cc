// octet.MaxPool: MaxPool on 8-bit tensors (what fuse_qdq makes of a MaxPool between QDQ
// pairs with equal parameters). The max of bytes needs no arithmetic, so this only has to be
// fast: each plane is copied once into a buffer padded with the type's minimum (padding never
// wins a max, and ONNX pads are smaller than the window, so every window holds a real value),
// split into `stride_w` column phases, and every tap is then a contiguous byte max over a
// whole output row, which the compiler vectorises. s8 is mapped to u8 order by x ^ 0x80.
#include <algorithm>
#include <cstring>

#include "octet/kernels/registry.h"
#include "ops/window_geometry.h"
#include "ops/octet_ops.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

// x: the input's shape as [N, C, spatial...].
WindowGeometry qmaxpool_geometry(const NodeContext& ctx, const Shape& x) {
  const DType t = ctx.input_dtype(0);
  ctx.check(is_q8(t), std::string("unsupported dtype ") + dtype_name(t) + " for input 0");
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  ctx.check(ctx.node().attr_i("storage_order", 0) == 0, "storage_order must be 0");
  ctx.check(ctx.num_outputs() == 1 || !ctx.has_output(1), "octet.MaxPool has no Indices output");
  ctx.check(x.size() >= 3 && x.size() <= 5, "input must have 1 to 3 spatial dims");
  return window_geometry(ctx, x, ctx.node().attr_ints("kernel_shape"), ctx.node().attr_i("ceil_mode", 0) != 0);
}

void infer_qmaxpool(NodeContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  const WindowGeometry g = qmaxpool_geometry(ctx, x);
  Shape y{x[0], x[1]};
  for (int64_t d : g.out_dims()) y.push_back(d);
  shape_numel(y);
  ctx.set_output(0, ctx.input_dtype(0), y);
}

class QMaxPoolKernel : public OpKernel {
 public:
  QMaxPoolKernel(const kernels::IsaChoice& isa, WindowGeometry g, DType t, int64_t planes)
      : max_u8_(kernels::kernel_registry(isa).max_u8), g_(g), planes_(planes), mask_(t == DType::s8 ? 0x80 : 0) {
    // Padded extent per dim: everything any window reads (ceil_mode windows may pass pad_end).
    for (int d = 0; d < 3; ++d) ext_[d] = std::max(g_.pad_begin[d] + g_.in[d], (g_.out[d] - 1) * g_.stride[d] +
                                                                                    (g_.kernel[d] - 1) * g_.dilation[d] + 1);
    pitch_ = (ext_[2] + g_.stride[2] - 1) / g_.stride[2];
  }
  std::string name() const override { return std::string("qmaxpool_planes+") + max_u8_.name; }

  void run(KernelContext& ctx) const override {
    const uint8_t* x = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data());
    const int64_t in_size = g_.in_size(), out_size = g_.out_size();
    auto run_planes = [&](int64_t p0, int64_t p1) {
      const int64_t sw = g_.stride[2];
      std::vector<uint8_t> padded(static_cast<size_t>(ext_[0] * ext_[1] * ext_[2]));
      std::vector<uint8_t> phases(static_cast<size_t>(ext_[0] * ext_[1] * pitch_ * sw));
      for (int64_t p = p0; p < p1; ++p) {
        std::fill(padded.begin(), padded.end(), uint8_t(0));
        const uint8_t* src = x + p * in_size;
        for (int64_t d = 0; d < g_.in[0]; ++d)
          for (int64_t h = 0; h < g_.in[1]; ++h) {
            const uint8_t* s = src + (d * g_.in[1] + h) * g_.in[2];
            uint8_t* o = padded.data() + ((d + g_.pad_begin[0]) * ext_[1] + h + g_.pad_begin[1]) * ext_[2] + g_.pad_begin[2];
            for (int64_t w = 0; w < g_.in[2]; ++w) o[w] = s[w] ^ mask_;
          }
        // Column phase r of row (d, h): padded[d][h][r + i * sw] at phases[((r * D + d) * H + h) * pitch + i].
        const int64_t rows = ext_[0] * ext_[1];
        if (sw == 2) {
          // The common case, with a constant stride the compiler turns into shuffles.
          const int64_t pairs = ext_[2] / 2;
          for (int64_t row = 0; row < rows; ++row) {
            const uint8_t* __restrict s = padded.data() + row * ext_[2];
            uint8_t* __restrict even = phases.data() + row * pitch_;
            uint8_t* __restrict odd = phases.data() + (rows + row) * pitch_;
            for (int64_t i = 0; i < pairs; ++i) {
              even[i] = s[2 * i];
              odd[i] = s[2 * i + 1];
            }
            if (ext_[2] % 2) even[pairs] = s[ext_[2] - 1];
          }
        } else {
          for (int64_t r = 0; r < sw; ++r)
            for (int64_t row = 0; row < rows; ++row) {
              const uint8_t* s = padded.data() + row * ext_[2];
              uint8_t* o = phases.data() + (r * rows + row) * pitch_;
              for (int64_t i = 0; r + i * sw < ext_[2]; ++i) o[i] = s[r + i * sw];
            }
        }
        uint8_t* dst = y + p * out_size;
        for (int64_t od = 0; od < g_.out[0]; ++od)
          for (int64_t oh = 0; oh < g_.out[1]; ++oh) {
            uint8_t* __restrict out = dst + (od * g_.out[1] + oh) * g_.out[2];
            std::memset(out, 0, static_cast<size_t>(g_.out[2]));
            for (int64_t kd = 0; kd < g_.kernel[0]; ++kd)
              for (int64_t kh = 0; kh < g_.kernel[1]; ++kh) {
                const int64_t row = (od * g_.stride[0] + kd * g_.dilation[0]) * ext_[1] + oh * g_.stride[1] +
                                    kh * g_.dilation[1];
                for (int64_t kw = 0; kw < g_.kernel[2]; ++kw) {
                  const int64_t t = kw * g_.dilation[2];
                  const uint8_t* __restrict in = phases.data() + ((t % sw) * rows + row) * pitch_ + t / sw;
                  max_u8_.run(out, in, g_.out[2]);
                }
              }
            if (mask_)
              for (int64_t i = 0; i < g_.out[2]; ++i) out[i] ^= mask_;
          }
      }
    };
    if (ctx.pool && ctx.pool->size() > 1 && planes_ > 1) ctx.pool->parallel_for(planes_, run_planes);
    else run_planes(0, planes_);
  }

 private:
  kernels::KernelEntry<kernels::MaxU8Fn> max_u8_;
  WindowGeometry g_;
  int64_t planes_;
  uint8_t mask_;
  std::array<int64_t, 3> ext_{};
  int64_t pitch_ = 0;
};

std::unique_ptr<OpKernel> create_qmaxpool(const NodeContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  const WindowGeometry g = qmaxpool_geometry(ctx, x);
  return std::make_unique<QMaxPoolKernel>(ctx.isa(), g, ctx.input_dtype(0), x[0] * x[1]);
}

}  // namespace

void register_quant_maxpool_ops(OpRegistry& r) {
  r.add(OpDef{kOctetDomain, kOpMaxPool, infer_qmaxpool, create_qmaxpool});
}

}  // namespace octet::detail
