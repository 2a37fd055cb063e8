// DftPlan: the 1-D complex DFT of any length in double (radix-2 FFT; Bluestein's chirp-z
// algorithm for lengths that are not powers of two).
#include <cmath>
#include <utility>

#include "ops/signal/signal_util.h"

namespace octet::detail {
namespace {

using cd = std::complex<double>;

// a * b without the C99 Annex G NaN/inf recovery of std::complex's operator* (its libgcc call
// is slow); the inputs here are finite or propagate NaN either way.
inline cd mul(cd a, cd b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

// e^{-i pi num/den}, for 0 <= num < 2 den: the angle is reduced before the cosine, so large
// indices keep their accuracy.
inline cd unit(int64_t num, int64_t den) {
  const double a = -M_PI * static_cast<double>(num) / static_cast<double>(den);
  return {std::cos(a), std::sin(a)};
}

}  // namespace

DftPlan::DftPlan(int64_t n) : n_(n) {
  if (n < 1 || n > kMaxSignalLength)
    throw Error("DFT length " + std::to_string(n) + " is outside [1, " + std::to_string(kMaxSignalLength) + "]");
  const bool pow2 = (n & (n - 1)) == 0;
  m_ = 1;
  if (pow2) m_ = n;
  else while (m_ < 2 * n - 1) m_ <<= 1;
  twiddle_.resize(static_cast<size_t>(m_ / 2));
  for (int64_t k = 0; k < m_ / 2; ++k) twiddle_[k] = unit(2 * k, m_);
  if (pow2) return;
  chirp_.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) chirp_[k] = unit((k * k) % (2 * n), n);  // k^2 < 2^48
  chirp_fft_.assign(static_cast<size_t>(m_), cd(0, 0));
  chirp_fft_[0] = std::conj(chirp_[0]);
  for (int64_t k = 1; k < n; ++k) chirp_fft_[k] = chirp_fft_[m_ - k] = std::conj(chirp_[k]);
  fft_pow2(chirp_fft_.data());
}

void DftPlan::fft_pow2(cd* a) const {
  const int64_t m = m_;
  for (int64_t i = 1, j = 0; i < m; ++i) {  // bit-reversal permutation
    int64_t bit = m >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (int64_t len = 2; len <= m; len <<= 1) {
    const int64_t half = len >> 1, step = m / len;
    for (int64_t i = 0; i < m; i += len)
      for (int64_t k = 0; k < half; ++k) {
        const cd u = a[i + k], v = mul(a[i + k + half], twiddle_[k * step]);
        a[i + k] = u + v;
        a[i + k + half] = u - v;
      }
  }
}

void DftPlan::transform(cd* x, bool inverse, std::vector<cd>& scratch) const {
  // The inverse is the forward transform of the conjugate, conjugated and divided by n.
  if (inverse)
    for (int64_t k = 0; k < n_; ++k) x[k] = std::conj(x[k]);
  if (m_ == n_) {
    fft_pow2(x);
  } else {
    // X[k] = c[k] sum_j (x[j] c[j]) conj(c[k - j]) with c[k] = e^{-i pi k^2/n}: a circular
    // convolution of length m >= 2n - 1, done as FFT, product, inverse FFT.
    scratch.assign(static_cast<size_t>(m_), cd(0, 0));
    for (int64_t k = 0; k < n_; ++k) scratch[k] = mul(x[k], chirp_[k]);
    fft_pow2(scratch.data());
    for (int64_t k = 0; k < m_; ++k) scratch[k] = std::conj(mul(scratch[k], chirp_fft_[k]));
    fft_pow2(scratch.data());
    const double inv_m = 1.0 / static_cast<double>(m_);
    for (int64_t k = 0; k < n_; ++k) x[k] = mul(std::conj(scratch[k]) * inv_m, chirp_[k]);
  }
  if (inverse) {
    const double inv_n = 1.0 / static_cast<double>(n_);
    for (int64_t k = 0; k < n_; ++k) x[k] = std::conj(x[k]) * inv_n;
  }
}

}  // namespace octet::detail
