// The linear-algebra op family: Det (opset 11), the determinant of each square matrix in the
// innermost two axes, by LU decomposition with partial pivoting in double precision; Einsum
// in einsum.cc.
#include <cmath>
#include <utility>
#include <vector>

#include "ops/float_kernel.h"
#include "ops/linalg/linalg.h"

namespace octet::detail {
namespace {

// The determinant of the m x m row-major matrix `a` (destroyed).
double lu_determinant(std::vector<double>& a, int64_t m) {
  double det = 1.0;
  for (int64_t k = 0; k < m; ++k) {
    int64_t pivot = k;
    for (int64_t r = k + 1; r < m; ++r)
      if (std::fabs(a[r * m + k]) > std::fabs(a[pivot * m + k])) pivot = r;
    if (a[pivot * m + k] == 0.0) return 0.0;
    if (pivot != k) {
      for (int64_t j = 0; j < m; ++j) std::swap(a[k * m + j], a[pivot * m + j]);
      det = -det;
    }
    const double p = a[k * m + k];
    det *= p;
    for (int64_t r = k + 1; r < m; ++r) {
      const double f = a[r * m + k] / p;
      for (int64_t j = k + 1; j < m; ++j) a[r * m + j] -= f * a[k * m + j];
    }
  }
  return det;
}

template <class T>
class DetKernel final : public OpKernel {
 public:
  explicit DetKernel(int64_t m) : m_(m) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t count = ctx.output(0).numel(), size = m_ * m_;
    std::vector<double> a(static_cast<size_t>(size));
    for (int64_t b = 0; b < count; ++b) {
      for (int64_t i = 0; i < size; ++i) a[i] = static_cast<double>(x[b * size + i]);
      y[b] = static_cast<T>(lu_determinant(a, m_));
    }
  }

 private:
  int64_t m_;
};

void infer_det(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  const Shape& x = c.input_shape(0);
  c.check(x.size() >= 2 && x[x.size() - 1] == x[x.size() - 2],
          "the input must be [*, M, M] (square matrices in the last two axes), got " + shape_str(x));
  c.set_output(0, c.input_dtype(0), Shape(x.begin(), x.end() - 2));
}

std::unique_ptr<OpKernel> create_det(const NodeContext& c) {
  const int64_t m = c.input_shape(0).back();
  return make_float_kernel(c.input_dtype(0), [&](auto tag) -> std::unique_ptr<OpKernel> {
    return std::make_unique<DetKernel<decltype(tag)>>(m);
  });
}

}  // namespace

void register_linalg_ops(OpRegistry& r) {
  r.add(OpDef{"", "Det", infer_det, create_det});
  register_einsum_ops(r);
}

}  // namespace octet::detail
