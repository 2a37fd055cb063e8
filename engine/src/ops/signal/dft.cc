// DFT in its opset-20 form: input [..., 1] (real) or [..., 2] (complex), optional dft_length
// (input 1) and axis (input 2, default -2); attributes inverse and onesided. The frontend
// moves opset 17's `axis` attribute (default 1) to input 2 (opset_upgrade.cc).
//
// Along `axis` the signal is zero-padded or truncated to dft_length (default: the axis's
// size), transformed (the inverse divides by dft_length), and written as [..., 2]; onesided
// keeps the first dft_length/2 + 1 bins and needs a real input. dft_length and axis decide the
// output shape, so they must be constants. Computed in double (DftPlan, fft.cc).
#include <memory>

#include "ops/signal/signal_util.h"

namespace octet::detail {
namespace {

struct DftParams {
  int64_t axis = 0;       // normalised, in [0, rank - 2]
  int64_t length = 0;     // dft_length
  int64_t out_len = 0;    // length, or length / 2 + 1 when onesided
  bool complex = false;   // the input's last dimension is 2
  bool inverse = false;
};

DftParams dft_params(const NodeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  if (!dtype_in(t, kFloatTypes)) ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for the input (a float type)");
  if (ctx.node().has_attr("axis"))
    ctx.fail("the axis is input 2 from opset 20 on (the frontend moves the attribute of older opsets)");
  const Shape& s = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(s.size());
  if (rank < 2) ctx.fail("the input needs a signal dimension and a last dimension of 1 (real) or 2 (complex)");
  if (s.back() != 1 && s.back() != 2)
    ctx.fail("the last dimension must be 1 (real) or 2 (complex), got " + std::to_string(s.back()));
  DftParams p;
  p.complex = s.back() == 2;
  p.inverse = flag_attr(ctx, "inverse", 0);
  const bool onesided = flag_attr(ctx, "onesided", 0);
  if (onesided && p.complex) ctx.fail("onesided needs a real input (last dimension 1)");
  int64_t axis = -2;
  if (ctx.has_input(2)) axis = const_scalar_int(ctx, 2, "axis");
  if (axis < -rank || axis > rank - 2 || axis == -1)
    ctx.fail("axis " + std::to_string(axis) + " is outside [-" + std::to_string(rank) + ", -2] and [0, " +
             std::to_string(rank - 2) + "] (the last dimension holds the real and imaginary parts)");
  p.axis = axis < 0 ? axis + rank : axis;
  p.length = ctx.has_input(1) ? const_scalar_int(ctx, 1, "dft_length") : s[p.axis];
  if (p.length < 1 || p.length > kMaxSignalLength)
    ctx.fail("dft_length " + std::to_string(p.length) + " is outside [1, " + std::to_string(kMaxSignalLength) + "]");
  p.out_len = onesided ? p.length / 2 + 1 : p.length;
  return p;
}

void infer_dft(NodeContext& ctx) {
  const DftParams p = dft_params(ctx);
  Shape out = ctx.input_shape(0);
  out[p.axis] = p.out_len;
  out.back() = 2;
  ctx.set_output(0, ctx.input_dtype(0), out);
}

class DftKernel : public OpKernel {
 public:
  DftKernel(const DftParams& p, const Shape& in) : p_(p) {
    in_len_ = in[p.axis];
    for (int64_t d = 0; d < p.axis; ++d) outer_ *= in[d];
    for (size_t d = p.axis + 1; d + 1 < in.size(); ++d) inner_ *= in[d];
    if (outer_ > 0 && inner_ > 0) plan_ = std::make_unique<DftPlan>(p.length);  // none for empty outputs
  }

  void run(KernelContext& ctx) const override {
    if (!plan_) return;
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const DType t = x.dtype();
    const int64_t c = p_.complex ? 2 : 1, n = p_.length, copied = std::min(in_len_, n);
    std::vector<std::complex<double>> line(static_cast<size_t>(n)), scratch;
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t i = 0; i < inner_; ++i) {
        for (int64_t k = 0; k < n; ++k) {
          if (k >= copied) {
            line[k] = 0;
            continue;
          }
          const int64_t at = ((o * in_len_ + k) * inner_ + i) * c;
          line[k] = {load_float(t, x.data(), at), c == 2 ? load_float(t, x.data(), at + 1) : 0.0};
        }
        plan_->transform(line.data(), p_.inverse, scratch);
        for (int64_t k = 0; k < p_.out_len; ++k) {
          const int64_t at = ((o * p_.out_len + k) * inner_ + i) * 2;
          store_value(t, y.data(), at, line[k].real());
          store_value(t, y.data(), at + 1, line[k].imag());
        }
      }
  }

 private:
  DftParams p_;
  int64_t in_len_ = 0, outer_ = 1, inner_ = 1;
  std::unique_ptr<DftPlan> plan_;
};

std::unique_ptr<OpKernel> create_dft(const NodeContext& ctx) {
  return std::make_unique<DftKernel>(dft_params(ctx), ctx.input_shape(0));
}

}  // namespace

void register_dft_ops(OpRegistry& r) { r.add(OpDef{"", "DFT", infer_dft, create_dft}); }

}  // namespace octet::detail
