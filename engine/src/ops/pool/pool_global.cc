// GlobalAveragePool, GlobalMaxPool and GlobalLpPool: one value per (image, channel) plane,
// reduced in index order.
#include <cmath>
#include <limits>

#include "ops/op_util.h"

namespace octet::detail {

namespace {

enum class GlobalKind { average, max, lp };

GlobalKind global_kind(const std::string& op) {
  if (op == "GlobalAveragePool") return GlobalKind::average;
  if (op == "GlobalMaxPool") return GlobalKind::max;
  return GlobalKind::lp;
}

void infer_global_pool(NodeContext& ctx) {
  const DType dt = ctx.input_dtype(0);
  ctx.check(dt == DType::f32 || dt == DType::f64,
            std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  const Shape& x = ctx.input_shape(0);
  ctx.check(x.size() >= 2, "X must have rank >= 2 (N, C, spatial...), got " + shape_str(x));
  if (global_kind(ctx.node().op_type) == GlobalKind::lp)
    ctx.check(ctx.node().attr_i("p", 2) >= 1, "p must be >= 1");
  Shape y(x.size(), 1);
  y[0] = x[0];
  y[1] = x[1];
  ctx.set_output(0, dt, y);
}

class GlobalPoolKernel : public OpKernel {
 public:
  GlobalPoolKernel(DType dtype, GlobalKind kind, int64_t p) : dtype_(dtype), kind_(kind), p_(p) {}

  void run(KernelContext& ctx) const override {
    if (dtype_ == DType::f32)
      run_typed<float>(ctx);
    else
      run_typed<double>(ctx);
  }

 private:
  template <class T>
  void run_typed(KernelContext& ctx) const {
    const Tensor& xt = ctx.input(0);
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t planes = xt.shape()[0] * xt.shape()[1];
    const int64_t size = planes ? xt.numel() / planes : 0;
    auto body = [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) y[i] = reduce(x + i * size, size);
    };
    if (ctx.pool && ctx.pool->size() > 1 && planes > 1)
      ctx.pool->parallel_for(planes, body);
    else
      body(0, planes);
  }

  template <class T>
  T reduce(const T* v, int64_t n) const {
    switch (kind_) {
      case GlobalKind::max: {
        T m = n > 0 ? v[0] : T(0);
        for (int64_t i = 1; i < n; ++i) m = v[i] > m ? v[i] : m;
        return m;
      }
      case GlobalKind::average: {
        T s = 0;
        for (int64_t i = 0; i < n; ++i) s += v[i];
        return n > 0 ? s / static_cast<T>(n) : T(0);
      }
      case GlobalKind::lp: {
        T s = 0;
        for (int64_t i = 0; i < n; ++i) {
          const T a = std::abs(v[i]);
          s += p_ == 1 ? a : p_ == 2 ? a * a : static_cast<T>(std::pow(a, static_cast<T>(p_)));
        }
        return p_ == 1 ? s : p_ == 2 ? std::sqrt(s) : std::pow(s, T(1) / static_cast<T>(p_));
      }
    }
    return T(0);
  }

  DType dtype_;
  GlobalKind kind_;
  int64_t p_;
};

std::unique_ptr<OpKernel> create_global_pool(const NodeContext& ctx) {
  return std::make_unique<GlobalPoolKernel>(ctx.input_dtype(0), global_kind(ctx.node().op_type),
                                            ctx.node().attr_i("p", 2));
}

}  // namespace

void register_global_pool_ops(OpRegistry& r) {
  r.add(OpDef{"", "GlobalAveragePool", infer_global_pool, create_global_pool});
  r.add(OpDef{"", "GlobalMaxPool", infer_global_pool, create_global_pool});
  r.add(OpDef{"", "GlobalLpPool", infer_global_pool, create_global_pool});
}

}  // namespace octet::detail
