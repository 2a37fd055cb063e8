// STFT (opset 17): signal [batch, length, 1 (real) or 2 (complex)], frame_step (input 1),
// optional window [frame_length] (input 2) and optional frame_length (input 3); attribute
// onesided (default 1, real signals only). Frame f starts at f * frame_step; there are
// 1 + (length - frame_length) / frame_step of them. Each frame is multiplied by the window
// (when given) and transformed (DftPlan, fft.cc, in double). Output
// [batch, frames, onesided ? frame_length / 2 + 1 : frame_length, 2]. frame_step and
// frame_length decide the output shape, so they must be constants; without frame_length the
// window's length is the frame length, and with both they must agree.
#include <memory>

#include "ops/signal/signal_util.h"

namespace octet::detail {
namespace {

struct StftParams {
  int64_t step = 0, frame = 0, frames = 0, bins = 0;
  bool complex = false;
};

StftParams stft_params(const NodeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  if (!dtype_in(t, kFloatTypes)) ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for the signal (a float type)");
  const Shape& s = ctx.input_shape(0);
  if (s.size() != 3 || (s[2] != 1 && s[2] != 2))
    ctx.fail("the signal must be [batch, length, 1] (real) or [batch, length, 2] (complex)");
  StftParams p;
  p.complex = s[2] == 2;
  const bool onesided = flag_attr(ctx, "onesided", 1);
  if (onesided && p.complex) ctx.fail("onesided (the default) needs a real signal; set onesided=0 for a complex one");
  p.step = const_scalar_int(ctx, 1, "frame_step");
  if (p.step < 1) ctx.fail("frame_step must be positive, got " + std::to_string(p.step));
  int64_t window = -1;
  if (ctx.has_input(2)) {
    if (ctx.input_dtype(2) != t) ctx.fail("the window must have the signal's dtype");
    const Shape& w = ctx.input_shape(2);
    if (w.size() != 1) ctx.fail("the window must be 1-D");
    window = w[0];
  }
  if (ctx.has_input(3)) {
    p.frame = const_scalar_int(ctx, 3, "frame_length");
    if (window >= 0 && window != p.frame)
      ctx.fail("the window has " + std::to_string(window) + " values but frame_length is " + std::to_string(p.frame));
  } else if (window >= 0) {
    p.frame = window;
  } else {
    ctx.fail("STFT needs a window or a frame_length");
  }
  if (p.frame < 1 || p.frame > kMaxSignalLength)
    ctx.fail("frame_length " + std::to_string(p.frame) + " is outside [1, " + std::to_string(kMaxSignalLength) + "]");
  if (s[1] < p.frame)
    ctx.fail("the signal (" + std::to_string(s[1]) + " samples) is shorter than a frame (" + std::to_string(p.frame) + ")");
  p.frames = 1 + (s[1] - p.frame) / p.step;
  p.bins = onesided ? p.frame / 2 + 1 : p.frame;
  return p;
}

void infer_stft(NodeContext& ctx) {
  const StftParams p = stft_params(ctx);
  ctx.set_output(0, ctx.input_dtype(0), {ctx.input_shape(0)[0], p.frames, p.bins, 2});
}

class StftKernel : public OpKernel {
 public:
  StftKernel(const StftParams& p, const Shape& in) : p_(p), batch_(in[0]), length_(in[1]) {
    if (batch_ > 0) plan_ = std::make_unique<DftPlan>(p.frame);  // none for empty outputs
  }

  void run(KernelContext& ctx) const override {
    if (!plan_) return;
    const Tensor& x = ctx.input(0);
    const Tensor* w = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    Tensor& y = ctx.output(0);
    const DType t = x.dtype();
    const int64_t c = p_.complex ? 2 : 1, n = p_.frame;
    std::vector<double> window(static_cast<size_t>(n), 1.0);
    if (w)
      for (int64_t k = 0; k < n; ++k) window[k] = load_float(t, w->data(), k);
    std::vector<std::complex<double>> line(static_cast<size_t>(n)), scratch;
    for (int64_t b = 0; b < batch_; ++b)
      for (int64_t f = 0; f < p_.frames; ++f) {
        for (int64_t k = 0; k < n; ++k) {
          const int64_t at = (b * length_ + f * p_.step + k) * c;
          line[k] = {load_float(t, x.data(), at) * window[k],
                     c == 2 ? load_float(t, x.data(), at + 1) * window[k] : 0.0};
        }
        plan_->transform(line.data(), false, scratch);
        for (int64_t k = 0; k < p_.bins; ++k) {
          const int64_t at = ((b * p_.frames + f) * p_.bins + k) * 2;
          store_value(t, y.data(), at, line[k].real());
          store_value(t, y.data(), at + 1, line[k].imag());
        }
      }
  }

 private:
  StftParams p_;
  int64_t batch_ = 0, length_ = 0;
  std::unique_ptr<DftPlan> plan_;
};

std::unique_ptr<OpKernel> create_stft(const NodeContext& ctx) {
  return std::make_unique<StftKernel>(stft_params(ctx), ctx.input_shape(0));
}

}  // namespace

void register_stft_ops(OpRegistry& r) { r.add(OpDef{"", "STFT", infer_stft, create_stft}); }

}  // namespace octet::detail
