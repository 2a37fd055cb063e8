// Reduction over a set of axes, shared by the Reduce* ops and the normalisations that need
// statistics over arbitrary axes (MeanVarianceNormalization).
//
// The input is walked in memory order; each contiguous run either folds into one accumulator
// (a reduced innermost axis) or into a vector of accumulators (a kept innermost axis), so no
// per-element index math is needed and the accesses stay sequential.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "ops/elementwise/elementwise_util.h"

namespace octet::detail {

class ReducePlan {
 public:
  ReducePlan() = default;
  // `reduced[d]` marks the reduced axes of `in`.
  ReducePlan(const Shape& in, const std::vector<bool>& reduced) {
    keep_shape_ = in;
    count_ = 1;
    for (size_t d = 0; d < in.size(); ++d)
      if (reduced[d]) {
        keep_shape_[d] = 1;
        count_ *= in[d];
      }
    out_numel_ = shape_numel(keep_shape_);
    // Operand 0: the accumulators (broadcast along reduced axes); operand 1: the input.
    it_ = BroadcastIter<2>({keep_shape_, in}, in);
  }

  // The input shape with reduced axes set to 1 (keepdims=1 output shape).
  const Shape& keep_shape() const { return keep_shape_; }
  int64_t out_numel() const { return out_numel_; }
  int64_t count() const { return count_; }  // input elements per output

  // For every input element x (in memory order) with accumulator a = acc[o]:
  // a = step(a, x), where step(Acc, T) -> Acc. Accumulators must be initialised. A run that
  // folds into one accumulator is split over four partial accumulators (started at `init`,
  // merged with combine(Acc, Acc)) to break the dependency chain; the order is fixed, so
  // results are reproducible. Threads split the outermost axis when it is kept (each
  // accumulator is then owned by one thread, and the result does not depend on the thread
  // count).
  template <class T, class Acc, class Step, class Combine>
  void accumulate(const T* x, Acc* acc, Acc init, Step step, Combine combine, kernels::ThreadPool* pool) const {
    const BroadcastIter<2>& it = it_;
    auto body = [&](int64_t begin, int64_t end) {
      it.for_range(begin, end, [&](int64_t in_off, const std::array<int64_t, 2>& off, int64_t n) {
        const T* xr = x + in_off;
        Acc* ar = acc + off[0];
        if (it.inner_stride(0) == 0) {
          Acc a0 = *ar, a1 = init, a2 = init, a3 = init;
          int64_t i = 0;
          for (; i + 4 <= n; i += 4) {
            a0 = step(a0, xr[i]);
            a1 = step(a1, xr[i + 1]);
            a2 = step(a2, xr[i + 2]);
            a3 = step(a3, xr[i + 3]);
          }
          for (; i < n; ++i) a0 = step(a0, xr[i]);
          *ar = combine(combine(a0, a1), combine(a2, a3));
        } else {
          for (int64_t i = 0; i < n; ++i) ar[i] = step(ar[i], xr[i]);
        }
      });
    };
    const int64_t total = it.numel();
    const auto& dims = it.dims();
    if (pool == nullptr || pool->size() <= 1 || total < 2 * kElementwiseGrain || dims.size() < 2 ||
        it.stride(0, 0) == 0) {
      body(0, total);
      return;
    }
    const int64_t row = total / dims[0];  // input elements per index of the outermost axis
    pool->parallel_for(dims[0], [&](int64_t b, int64_t e) { body(b * row, e * row); });
  }

  // Visits input elements together with their accumulator: fn(x_run, acc_run, acc_stride, n)
  // where acc_stride is 0 (one accumulator for the run) or 1. For two-pass reductions that need
  // per-output state (log-sum-exp's max). Single-threaded.
  template <class T, class Acc, class Fn>
  void visit_runs(const T* x, Acc* acc, Fn fn) const {
    it_.for_range(0, it_.numel(), [&](int64_t in_off, const std::array<int64_t, 2>& off, int64_t n) {
      fn(x + in_off, acc + off[0], it_.inner_stride(0), n);
    });
  }

 private:
  Shape keep_shape_;
  int64_t count_ = 1;
  int64_t out_numel_ = 1;
  BroadcastIter<2> it_;
};

// ArgMax/ArgMin, TopK, CumSum, NonZero (reduce_select.cc); called by register_reduce_ops.
void register_reduce_select_ops(OpRegistry& r);

}  // namespace octet::detail
