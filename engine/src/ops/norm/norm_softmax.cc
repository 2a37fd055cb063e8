// Softmax, LogSoftmax and Hardmax. Before opset 13 they coerce the input to 2-D at `axis`
// (default 1) and normalise over all trailing dims together; from opset 13 they normalise over
// the single axis `axis` (default -1).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/elementwise/elementwise_util.h"
#include "ops/float_kernel.h"
#include "ops/norm/norm.h"
#include "octet/kernels/registry.h"

namespace octet::detail {
namespace {

enum class SoftmaxKind { softmax, log_softmax, hardmax };

// The input seen as [outer, n, inner], normalised along n.
struct SoftmaxLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

SoftmaxLayout softmax_layout(const NodeContext& c) {
  const Shape& s = c.input_shape(0);
  const int64_t rank = static_cast<int64_t>(s.size());
  SoftmaxLayout l;
  if (c.opset() < 13) {
    // axis may equal rank here (everything in `outer`); the 2-D coercion allows [-r, r].
    int64_t axis = c.node().attr_i("axis", 1);
    if (axis < 0) axis += rank;
    c.check(axis >= 0 && axis <= rank, "axis " + std::to_string(c.node().attr_i("axis", 1)) +
                                           " is out of range for rank " + std::to_string(rank));
    for (int64_t d = 0; d < rank; ++d) (d < axis ? l.outer : l.n) *= s[d];
    return l;
  }
  c.check(rank >= 1, "input must have rank >= 1");
  int64_t axis = normalize_axis(c, c.node().attr_i("axis", -1), rank);
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) l.outer *= s[d];
    else if (d == axis) l.n = s[d];
    else l.inner *= s[d];
  }
  return l;
}

template <class T, SoftmaxKind Kind>
class SoftmaxKernel final : public OpKernel {
 public:
  explicit SoftmaxKernel(SoftmaxLayout l) : l_(l) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t per_outer = l_.n * l_.inner;
    const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(per_outer, 1));
    parallel_ranges(ctx.pool, l_.outer, grain, [&](int64_t begin, int64_t end) {
      if (l_.inner == 1) {
        for (int64_t o = begin; o < end; ++o) row(x + o * l_.n, y + o * l_.n);
      } else {
        std::vector<T> peak(static_cast<size_t>(l_.inner));
        std::vector<double> sum(static_cast<size_t>(l_.inner));
        for (int64_t o = begin; o < end; ++o)
          strided(x + o * per_outer, y + o * per_outer, peak.data(), sum.data());
      }
    });
  }

 private:
  // One contiguous row of n elements.
  void row(const T* x, T* y) const {
    const int64_t n = l_.n;
    if (n == 0) return;
    if constexpr (Kind == SoftmaxKind::hardmax) {
      int64_t arg = 0;
      for (int64_t i = 1; i < n; ++i)
        if (x[i] > x[arg]) arg = i;
      for (int64_t i = 0; i < n; ++i) y[i] = T(0);
      y[arg] = T(1);
    } else {
      // Subtracting the max keeps every exponent <= 0: no overflow for large inputs. Four
      // partial max / sum chains keep the loops from being latency-bound.
      T m[4] = {x[0], x[0], x[0], x[0]};
      int64_t i = 0;
      for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) m[k] = std::max(m[k], x[i + k]);
      for (; i < n; ++i) m[0] = std::max(m[0], x[i]);
      const T peak = std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
      double s[4] = {0, 0, 0, 0};
      for (i = 0; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) {
          const T e = std::exp(x[i + k] - peak);
          if constexpr (Kind == SoftmaxKind::softmax) y[i + k] = e;
          s[k] += e;
        }
      for (; i < n; ++i) {
        const T e = std::exp(x[i] - peak);
        if constexpr (Kind == SoftmaxKind::softmax) y[i] = e;
        s[0] += e;
      }
      const double sum = (s[0] + s[1]) + (s[2] + s[3]);
      if constexpr (Kind == SoftmaxKind::softmax) {
        const T scale = static_cast<T>(1.0 / sum);
        for (i = 0; i < n; ++i) y[i] *= scale;
      } else {
        // (x - max) first: exact near the max, so small outputs keep their precision.
        const T log_sum = static_cast<T>(std::log(sum));
        for (i = 0; i < n; ++i) y[i] = (x[i] - peak) - log_sum;
      }
    }
  }

  // n rows of `inner` elements: the statistics are vectors over inner, so the loops stay
  // contiguous.
  void strided(const T* x, T* y, T* peak, double* sum) const {
    const int64_t n = l_.n, inner = l_.inner;
    if (n == 0) return;
    for (int64_t j = 0; j < inner; ++j) peak[j] = x[j];
    if constexpr (Kind == SoftmaxKind::hardmax) {
      // `sum` holds each column's first arg max.
      for (int64_t j = 0; j < inner; ++j) sum[j] = 0;
      for (int64_t r = 1; r < n; ++r)
        for (int64_t j = 0; j < inner; ++j)
          if (x[r * inner + j] > peak[j]) {
            peak[j] = x[r * inner + j];
            sum[j] = static_cast<double>(r);
          }
      for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < inner; ++j) y[r * inner + j] = static_cast<double>(r) == sum[j] ? T(1) : T(0);
    } else {
      for (int64_t r = 1; r < n; ++r)
        for (int64_t j = 0; j < inner; ++j) peak[j] = std::max(peak[j], x[r * inner + j]);
      for (int64_t j = 0; j < inner; ++j) sum[j] = 0;
      for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < inner; ++j) {
          T e = std::exp(x[r * inner + j] - peak[j]);
          if constexpr (Kind == SoftmaxKind::softmax) y[r * inner + j] = e;
          sum[j] += e;
        }
      if constexpr (Kind == SoftmaxKind::softmax) {
        for (int64_t j = 0; j < inner; ++j) sum[j] = 1.0 / sum[j];
        for (int64_t r = 0; r < n; ++r)
          for (int64_t j = 0; j < inner; ++j) y[r * inner + j] *= static_cast<T>(sum[j]);
      } else {
        for (int64_t j = 0; j < inner; ++j) sum[j] = std::log(sum[j]);
        for (int64_t r = 0; r < n; ++r)
          for (int64_t j = 0; j < inner; ++j)
            y[r * inner + j] = (x[r * inner + j] - peak[j]) - static_cast<T>(sum[j]);
      }
    }
  }

  SoftmaxLayout l_;
};

void infer_softmax(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  softmax_layout(c);  // validates the axis
  c.set_output(0, c.input_dtype(0), c.input_shape(0));
}

// Softmax of contiguous f32 rows (the axis is the last non-1 dim): the kernel registry's
// softmax_f32.
class SoftmaxRowsF32Kernel final : public OpKernel {
 public:
  SoftmaxRowsF32Kernel(const kernels::IsaChoice& isa, SoftmaxLayout l)
      : fn_(kernels::kernel_registry(isa).softmax_f32), l_(l) {}
  std::string name() const override { return fn_.name; }
  void run(KernelContext& ctx) const override {
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    const int64_t n = l_.n;
    parallel_ranges(ctx.pool, l_.outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1)),
                    [&](int64_t begin, int64_t end) { fn_.run(x + begin * n, y + begin * n, end - begin, n); });
  }

 private:
  kernels::KernelEntry<kernels::SoftmaxF32Fn> fn_;
  SoftmaxLayout l_;
};

template <SoftmaxKind Kind>
std::unique_ptr<OpKernel> create_softmax(const NodeContext& c) {
  SoftmaxLayout l = softmax_layout(c);
  if (Kind == SoftmaxKind::softmax && c.input_dtype(0) == DType::f32 && l.inner == 1)
    return std::make_unique<SoftmaxRowsF32Kernel>(c.isa(), l);
  return make_float_kernel(c.input_dtype(0), [&](auto tag) -> std::unique_ptr<OpKernel> {
    return std::make_unique<SoftmaxKernel<decltype(tag), Kind>>(l);
  });
}

}  // namespace

void register_norm_softmax_ops(OpRegistry& r) {
  r.add(OpDef{"", "Softmax", infer_softmax, create_softmax<SoftmaxKind::softmax>});
  r.add(OpDef{"", "LogSoftmax", infer_softmax, create_softmax<SoftmaxKind::log_softmax>});
  r.add(OpDef{"", "Hardmax", infer_softmax, create_softmax<SoftmaxKind::hardmax>});
}

}  // namespace octet::detail
