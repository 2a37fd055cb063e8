// The signal op family's registration, and its window generators: HannWindow, HammingWindow
// and BlackmanWindow (opset 17), the generalized cosine windows
//   w[k] = a0 - a1 cos(k t) + a2 cos(2 k t),  t = 2 pi / N,  k in [0, size)
// with N = size when `periodic` (the default) and size - 1 when symmetric, exactly as the
// ONNX function bodies compute them (a symmetric window of size 1 divides by zero there, and
// is NaN here too: 0 for an integer output_datatype). Coefficients: Hann 0.5, 0.5, 0;
// Hamming 25/46, 21/46, 0; Blackman 0.42, 0.5, 0.08. Computed in double, converted to
// output_datatype (default f32; integer types truncate). The size must be a constant.
#include <cmath>

#include "ops/signal/signal_util.h"

namespace octet::detail {
namespace {

struct Cosines {
  double a0, a1, a2;
};

constexpr Cosines kHann{0.5, 0.5, 0.0};
constexpr Cosines kHamming{25.0 / 46.0, 21.0 / 46.0, 0.0};
constexpr Cosines kBlackman{0.42, 0.5, 0.08};

bool window_periodic(const NodeContext& ctx) { return flag_attr(ctx, "periodic", 1); }

int64_t window_size(const NodeContext& ctx) {
  const int64_t n = const_scalar_int(ctx, 0, "the window size");
  if (n < 0 || n > kMaxSignalLength)
    ctx.fail("window size " + std::to_string(n) + " is outside [0, " + std::to_string(kMaxSignalLength) + "]");
  return n;
}

void infer_window(NodeContext& ctx) {
  window_periodic(ctx);
  ctx.set_output(0, output_datatype_attr(ctx), {window_size(ctx)});
}

class WindowKernel : public OpKernel {
 public:
  WindowKernel(Cosines c, bool periodic) : c_(c), periodic_(periodic) {}
  void run(KernelContext& ctx) const override {
    Tensor& y = ctx.output(0);
    const int64_t size = y.numel();
    const double step = 2.0 * M_PI / static_cast<double>(periodic_ ? size : size - 1);
    for (int64_t k = 0; k < size; ++k) {
      const double t = static_cast<double>(k) * step;
      store_value(y.dtype(), y.data(), k, c_.a0 - c_.a1 * std::cos(t) + c_.a2 * std::cos(2.0 * t));
    }
  }

 private:
  Cosines c_;
  bool periodic_;
};

template <const Cosines& C>
std::unique_ptr<OpKernel> create_window(const NodeContext& ctx) {
  return std::make_unique<WindowKernel>(C, window_periodic(ctx));
}

}  // namespace

void register_signal_ops(OpRegistry& r) {
  r.add(OpDef{"", "HannWindow", infer_window, create_window<kHann>});
  r.add(OpDef{"", "HammingWindow", infer_window, create_window<kHamming>});
  r.add(OpDef{"", "BlackmanWindow", infer_window, create_window<kBlackman>});
  register_dft_ops(r);
  register_stft_ops(r);
  register_mel_ops(r);
}

}  // namespace octet::detail
