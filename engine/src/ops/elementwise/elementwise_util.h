// Building blocks shared by the elementwise, reduce and norm op families: dtype sets,
// a broadcast iterator that hands out contiguous runs, a parallel-for that is safe without a
// pool, and a wrapper that runs an f32 kernel on f16/bf16 tensors.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/op_util.h"

namespace octet::detail {

// ---- dtype sets ---------------------------------------------------------------------------

enum TypeSet : int {
  kFloatTypes = 1,     // f32, f64 (and f16/bf16 through ViaFloatKernel)
  kSignedTypes = 2,    // s8, s16, s32, s64
  kUnsignedTypes = 4,  // u8, u16, u32, u64
  kBoolType = 8,
  kIntTypes = kSignedTypes | kUnsignedTypes,
  kNumericTypes = kFloatTypes | kIntTypes,
  kAllTypes = kNumericTypes | kBoolType,
};

inline bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }

// Whether dtype t is in the set (f16/bf16 count as float types).
inline bool dtype_in(DType t, int types) {
  switch (t) {
    case DType::f32: case DType::f64: case DType::f16: case DType::bf16:
      return types & kFloatTypes;
    case DType::s8: case DType::s16: case DType::s32: case DType::s64:
      return types & kSignedTypes;
    case DType::u8: case DType::u16: case DType::u32: case DType::u64:
      return types & kUnsignedTypes;
    case DType::boolean:
      return types & kBoolType;
    default:
      return false;
  }
}

// Calls fn(T{}) for the C++ type of t when t is in Types (f16/bf16 excluded); returns
// whether it did. Only the types in Types are instantiated.
template <int Types, class Fn>
bool visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32: if constexpr ((Types & kFloatTypes) != 0) { fn(float{}); return true; } break;
    case DType::f64: if constexpr ((Types & kFloatTypes) != 0) { fn(double{}); return true; } break;
    case DType::s8: if constexpr ((Types & kSignedTypes) != 0) { fn(int8_t{}); return true; } break;
    case DType::s16: if constexpr ((Types & kSignedTypes) != 0) { fn(int16_t{}); return true; } break;
    case DType::s32: if constexpr ((Types & kSignedTypes) != 0) { fn(int32_t{}); return true; } break;
    case DType::s64: if constexpr ((Types & kSignedTypes) != 0) { fn(int64_t{}); return true; } break;
    case DType::u8: if constexpr ((Types & kUnsignedTypes) != 0) { fn(uint8_t{}); return true; } break;
    case DType::u16: if constexpr ((Types & kUnsignedTypes) != 0) { fn(uint16_t{}); return true; } break;
    case DType::u32: if constexpr ((Types & kUnsignedTypes) != 0) { fn(uint32_t{}); return true; } break;
    case DType::u64: if constexpr ((Types & kUnsignedTypes) != 0) { fn(uint64_t{}); return true; } break;
    case DType::boolean: if constexpr ((Types & kBoolType) != 0) { fn(bool{}); return true; } break;
    default: break;
  }
  return false;
}

// A floating-point value converted to T; for integer T, NaN gives 0 and out-of-range values
// saturate (a plain cast would be undefined behaviour).
template <class T, class F>
T float_to_saturated(F v) {
  static_assert(std::is_floating_point_v<F>, "float_to_saturated converts from floating point");
  if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    if (v <= static_cast<F>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<F>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  }
  return static_cast<T>(v);
}

// Fails through ctx unless input i's dtype is in `types`.
void check_input_dtype(const NodeContext& ctx, size_t i, int types);
// Fails unless input i has the same dtype as input 0.
void check_same_dtype(const NodeContext& ctx, size_t i);

// ---- parallel loops -----------------------------------------------------------------------

// Minimum elements per task worth a thread hand-off for cheap elementwise work.
constexpr int64_t kElementwiseGrain = int64_t(1) << 15;

// fn(begin, end) over [0, n): split over the pool when there is enough work (each index is
// computed by exactly one call, so results never depend on the thread count).
template <class Fn>
void parallel_ranges(kernels::ThreadPool* pool, int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  if (pool == nullptr || pool->size() <= 1 || n < 2 * grain) {
    fn(int64_t(0), n);
    return;
  }
  pool->parallel_for(n, [&](int64_t b, int64_t e) { fn(b, e); });
}

// Elementwise functors derive from one of these: how much work makes a thread hand-off pay.
struct CheapFunctor {
  static constexpr int64_t kGrain = kElementwiseGrain;
};
struct CostlyFunctor {  // transcendental functions: ~10-50 ns per element
  static constexpr int64_t kGrain = 2048;
};

// Functors without attributes are default-constructed; the others provide
// `static Op from(const Node&)`.
template <class Op, class = void>
struct HasFrom : std::false_type {};
template <class Op>
struct HasFrom<Op, std::void_t<decltype(Op::from(std::declval<const Node&>()))>> : std::true_type {};
template <class Op>
Op make_functor(const Node& n) {
  if constexpr (HasFrom<Op>::value) return Op::from(n);
  else return Op{};
}

// ---- broadcasting -------------------------------------------------------------------------

// Iterates an output index space into which N inputs are numpy-broadcast, as contiguous runs:
// within a run the output advances by 1 and input k by inner_stride(k), which is 0
// (broadcast) or 1. Dimensions are coalesced first, so same-shape inputs give one run and
// [N,C,H,W] + [1,C,1,1] gives runs of H*W with a fixed second operand.
template <int N>
class BroadcastIter {
 public:
  BroadcastIter() = default;
  BroadcastIter(const std::array<Shape, N>& inputs, const Shape& out) {
    numel_ = shape_numel(out);
    std::array<std::vector<int64_t>, N> full;
    for (int k = 0; k < N; ++k) full[k] = broadcast_strides(inputs[k], out);
    for (size_t d = 0; d < out.size(); ++d) {
      if (out[d] == 1) continue;  // contributes nothing to any offset
      bool merge = !dims_.empty();
      for (int k = 0; k < N && merge; ++k)
        merge = strides_[k].back() == full[k][d] * out[d];
      if (merge) {
        dims_.back() *= out[d];
        for (int k = 0; k < N; ++k) strides_[k].back() = full[k][d];
      } else {
        dims_.push_back(out[d]);
        for (int k = 0; k < N; ++k) strides_[k].push_back(full[k][d]);
      }
    }
    if (dims_.empty()) {
      dims_.push_back(1);
      for (int k = 0; k < N; ++k) strides_[k].push_back(0);
    }
  }

  int64_t numel() const { return numel_; }
  // The coalesced dimensions (outermost first; never empty) and each operand's strides.
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t stride(int k, size_t d) const { return strides_[k][d]; }
  int64_t inner_stride(int k) const { return strides_[k].back(); }
  bool same_shape() const { return dims_.size() == 1 && all_inner(1); }

  // row(out_offset, std::array<int64_t, N> in_offsets, run_length) for the runs covering
  // output elements [begin, end).
  template <class Row>
  void for_range(int64_t begin, int64_t end, Row&& row) const {
    if (begin >= end) return;
    const size_t rank = dims_.size();
    int64_t idx[16];
    std::vector<int64_t> big_idx;
    int64_t* ix = idx;
    if (rank > 16) {
      big_idx.resize(rank);
      ix = big_idx.data();
    }
    std::array<int64_t, N> off{};
    int64_t rem = begin;
    for (size_t d = rank; d-- > 0;) {
      ix[d] = rem % dims_[d];
      rem /= dims_[d];
      for (int k = 0; k < N; ++k) off[k] += ix[d] * strides_[k][d];
    }
    const int64_t inner = dims_[rank - 1];
    int64_t pos = begin;
    while (pos < end) {
      int64_t run = inner - ix[rank - 1];
      if (run > end - pos) run = end - pos;
      row(pos, off, run);
      pos += run;
      if (pos >= end) break;
      // Advance the odometer by `run` in the innermost dim (it ends the row) and carry.
      ix[rank - 1] += run;
      for (int k = 0; k < N; ++k) off[k] += run * strides_[k][rank - 1];
      for (size_t d = rank - 1; d > 0 && ix[d] == dims_[d]; --d) {
        for (int k = 0; k < N; ++k) off[k] += strides_[k][d - 1] - dims_[d] * strides_[k][d];
        ix[d] = 0;
        ++ix[d - 1];
      }
    }
  }

 private:
  bool all_inner(int64_t s) const {
    for (int k = 0; k < N; ++k)
      if (strides_[k].back() != s) return false;
    return true;
  }
  std::vector<int64_t> dims_;
  std::array<std::vector<int64_t>, N> strides_;
  int64_t numel_ = 0;
};

// Output shape of numpy broadcasting over several inputs; fails through ctx if incompatible.
Shape broadcast_inputs(const NodeContext& ctx, const std::vector<size_t>& inputs);

// ---- f16 / bf16 -----------------------------------------------------------------------------

// Runs a kernel written for f32 on f16/bf16 data: inputs of dtype `half` are widened to f32
// before, outputs of dtype `half` narrowed after (round to nearest even). Other inputs and
// outputs (bool masks, int64 indices) pass through untouched.
class ViaFloatKernel final : public OpKernel {
 public:
  ViaFloatKernel(std::unique_ptr<OpKernel> inner, DType half) : inner_(std::move(inner)), half_(half) {}
  void run(KernelContext& ctx) const override;
  std::string name() const override { return inner_->name() + "_via_f32"; }

 private:
  std::unique_ptr<OpKernel> inner_;
  DType half_;
};

// Widening / narrowing of whole buffers.
void half_to_float_buffer(DType half, const uint16_t* in, float* out, int64_t n);
void float_to_half_buffer(DType half, const float* in, uint16_t* out, int64_t n);

// Element values of a (small) tensor as double, for per-channel parameters of any float or
// integer dtype.
std::vector<double> tensor_to_doubles(const Tensor& t);

}  // namespace octet::detail

namespace octet::detail {
// The elementwise family is split over several files; elementwise.cc's
// register_elementwise_ops calls these.
void register_elementwise_unary_ops(OpRegistry& r);   // elementwise_unary.cc
void register_elementwise_binary_ops(OpRegistry& r);  // elementwise_binary.cc
// The reference HardSwish of one value (the op's own arithmetic), for tables built from it.
float hardswish_reference(float x);
}  // namespace octet::detail
