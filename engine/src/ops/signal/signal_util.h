// Helpers shared by the signal op family (engine/src/ops/signal/): HannWindow, HammingWindow,
// BlackmanWindow (windows.cc), DFT (dft.cc), STFT (stft.cc), MelWeightMatrix (mel.cc), and
// the 1-D complex transform both DFT and STFT use (fft.cc).
#pragma once

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/elementwise/elementwise_util.h"
#include "ops/op_registry.h"
#include "ops/op_util.h"

namespace octet::detail {

// Registration of the files of the family; register_signal_ops (windows.cc) calls them all.
void register_dft_ops(OpRegistry& r);   // DFT
void register_stft_ops(OpRegistry& r);  // STFT
void register_mel_ops(OpRegistry& r);   // MelWeightMatrix

// The longest transform, window or frame these ops accept (2^24 points): the transform plan
// holds up to 4x this many complex doubles (1 GiB), so longer ones are refused before anything
// is allocated.
constexpr int64_t kMaxSignalLength = int64_t(1) << 24;

// Element i of a float tensor's data (f16/bf16/f32/f64: dtype_in(t, kFloatTypes)) as double.
double load_float(DType t, const void* data, int64_t i);
// Writes v into element i of a tensor's data of any numeric dtype (f16 and bf16 included):
// integers truncate toward zero, saturate, and take 0 for NaN.
void store_value(DType t, void* data, int64_t i, double v);

// The output_datatype attribute (default f32) of the generators (windows, MelWeightMatrix):
// any numeric dtype but bool; fails through ctx otherwise.
DType output_datatype_attr(const NodeContext& ctx);
// A 0/1 attribute as bool (def when absent); fails through ctx on any other value.
bool flag_attr(const NodeContext& ctx, const char* name, int64_t def);

// The compile-time value of a scalar (or one-element) s32/s64 input, e.g. a window size or a
// DFT length; fails through ctx when it is not a constant, not an integer or not one element.
int64_t const_scalar_int(const NodeContext& ctx, size_t i, const std::string& what);

// A plan for the forward DFT of one length n (1 <= n <= kMaxSignalLength), in double:
// X[k] = sum_j x[j] e^{-2 pi i jk/n}. Powers of two use an iterative radix-2 FFT; other
// lengths use Bluestein's chirp-z algorithm on a power-of-two FFT (so every length costs
// O(n log n)). Immutable once built: transform() may run from several threads at once.
class DftPlan {
 public:
  explicit DftPlan(int64_t n);
  int64_t size() const { return n_; }
  // In place on n values; inverse computes sum_j x[j] e^{+2 pi i jk/n} / n. `scratch` is
  // resized as needed (the caller keeps it across calls to avoid reallocating).
  void transform(std::complex<double>* x, bool inverse, std::vector<std::complex<double>>& scratch) const;

 private:
  int64_t n_ = 0;
  int64_t m_ = 0;                                // the power-of-two FFT length
  std::vector<std::complex<double>> twiddle_;    // e^{-2 pi i k/m}, k < m/2
  std::vector<std::complex<double>> chirp_;      // Bluestein: e^{-pi i k^2/n}, k < n
  std::vector<std::complex<double>> chirp_fft_;  // Bluestein: FFT of the conjugate chirp, length m
  void fft_pow2(std::complex<double>* a) const;  // forward, in place, length m_
};

}  // namespace octet::detail
