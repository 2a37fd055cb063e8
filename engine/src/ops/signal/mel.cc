// MelWeightMatrix (opset 17): num_mel_bins, dft_length, sample_rate (integers),
// lower_edge_hertz, upper_edge_hertz (floats) -> [dft_length / 2 + 1, num_mel_bins] of
// output_datatype (default f32), as the ONNX reference implementation builds it:
//   mel(f) = 2595 log10(1 + f / 700), step = (mel(upper) - mel(lower)) / (num_mel_bins + 2),
//   edge[i] = floor((dft_length + 1) * hz(mel(lower) + i * step) / sample_rate), i < num_mel_bins + 2
// (the reference divides by num_mel_bins + 2, not + 1; kept, since that is what the op's
// test data and other runtimes compute), and triangle i rises from edge[i] to 1 at edge[i + 1]
// and falls to edge[i + 2] (exclusive); a triangle with edge[i] == edge[i + 1] is a 1 at its
// centre. num_mel_bins and dft_length decide the shape and must be constants; the rest is
// read at run time, where a frequency range that reaches past the last spectrogram bin (or
// below 0 Hz) is an error rather than a write outside the matrix.
#include <cmath>

#include "ops/signal/signal_util.h"

namespace octet::detail {
namespace {

// The matrix's element count is capped at 2^30.
constexpr int64_t kMaxMelElements = int64_t(1) << 30;

struct MelShape {
  int64_t bins = 0, dft_length = 0, rows = 0;
};

MelShape mel_shape(const NodeContext& ctx) {
  MelShape m;
  m.bins = const_scalar_int(ctx, 0, "num_mel_bins");
  m.dft_length = const_scalar_int(ctx, 1, "dft_length");
  if (m.bins < 0 || m.bins > kMaxSignalLength)
    ctx.fail("num_mel_bins " + std::to_string(m.bins) + " is outside [0, " + std::to_string(kMaxSignalLength) + "]");
  if (m.dft_length < 1 || m.dft_length > kMaxSignalLength)
    ctx.fail("dft_length " + std::to_string(m.dft_length) + " is outside [1, " + std::to_string(kMaxSignalLength) + "]");
  m.rows = m.dft_length / 2 + 1;
  if (m.rows * m.bins > kMaxMelElements) ctx.fail("the matrix would have more than 2^30 elements");
  for (size_t i = 2; i < 5; ++i) {
    const DType t = ctx.input_dtype(i);
    const bool ok = i == 2 ? (t == DType::s32 || t == DType::s64) : dtype_in(t, kFloatTypes);
    if (!ok) ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for input " + std::to_string(i));
    if (shape_numel(ctx.input_shape(i)) != 1) ctx.fail("input " + std::to_string(i) + " must be a scalar");
  }
  output_datatype_attr(ctx);
  return m;
}

void infer_mel(NodeContext& ctx) {
  const MelShape m = mel_shape(ctx);
  ctx.set_output(0, output_datatype_attr(ctx), {m.rows, m.bins});
}

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

class MelKernel : public OpKernel {
 public:
  explicit MelKernel(const MelShape& m) : m_(m) {}

  void run(KernelContext& ctx) const override {
    const Tensor& sr_t = ctx.input(2);
    const int64_t sample_rate = sr_t.dtype() == DType::s32 ? sr_t.data_as<int32_t>()[0] : sr_t.data_as<int64_t>()[0];
    const double lower = load_float(ctx.input(3).dtype(), ctx.input(3).data(), 0);
    const double upper = load_float(ctx.input(4).dtype(), ctx.input(4).data(), 0);
    if (sample_rate <= 0) throw Error("MelWeightMatrix: sample_rate must be positive, got " + std::to_string(sample_rate));
    if (!(lower >= 0) || !(upper >= lower) || !std::isfinite(upper))
      throw Error("MelWeightMatrix: the edges must satisfy 0 <= lower_edge_hertz <= upper_edge_hertz (finite), got " +
                  std::to_string(lower) + " and " + std::to_string(upper));
    const double low_mel = hz_to_mel(lower), step = (hz_to_mel(upper) - low_mel) / static_cast<double>(m_.bins + 2);
    std::vector<int64_t> edge(static_cast<size_t>(m_.bins + 2));
    for (int64_t i = 0; i < m_.bins + 2; ++i) {
      const double hz = mel_to_hz(static_cast<double>(i) * step + low_mel);
      const double e = std::floor(static_cast<double>(m_.dft_length + 1) * hz / static_cast<double>(sample_rate));
      // Only an index below `rows` is written; the last edge is exclusive.
      if (!(e >= 0) || e > static_cast<double>(m_.rows) || (i < m_.bins + 1 && e >= static_cast<double>(m_.rows)))
        throw Error("MelWeightMatrix: upper_edge_hertz " + std::to_string(upper) + " maps past the last of the " +
                    std::to_string(m_.rows) + " spectrogram bins (dft_length " + std::to_string(m_.dft_length) +
                    ", sample_rate " + std::to_string(sample_rate) + ")");
      edge[i] = static_cast<int64_t>(e);
    }
    Tensor& y = ctx.output(0);
    const DType t = y.dtype();
    for (int64_t k = 0; k < y.numel(); ++k) store_value(t, y.data(), k, 0.0);
    for (int64_t i = 0; i < m_.bins; ++i) {
      const int64_t lo = edge[i], center = edge[i + 1], hi = edge[i + 2];
      if (center == lo) {
        store_value(t, y.data(), center * m_.bins + i, 1.0);
      } else {
        for (int64_t j = lo; j <= center; ++j)
          store_value(t, y.data(), j * m_.bins + i, static_cast<double>(j - lo) / static_cast<double>(center - lo));
      }
      for (int64_t j = center; j < hi; ++j)
        store_value(t, y.data(), j * m_.bins + i, static_cast<double>(hi - j) / static_cast<double>(hi - center));
    }
  }

 private:
  MelShape m_;
};

std::unique_ptr<OpKernel> create_mel(const NodeContext& ctx) { return std::make_unique<MelKernel>(mel_shape(ctx)); }

}  // namespace

void register_mel_ops(OpRegistry& r) { r.add(OpDef{"", "MelWeightMatrix", infer_mel, create_mel}); }

}  // namespace octet::detail
