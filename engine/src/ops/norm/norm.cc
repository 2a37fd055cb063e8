// The norm op family: BatchNormalization (inference and training mode), InstanceNormalization,
// LayerNormalization, GroupNormalization, LpNormalization, MeanVarianceNormalization, LRN here;
// Softmax, LogSoftmax, Hardmax in norm_softmax.cc.
//
// Statistics (means, variances, norms) accumulate in double whatever the data type.
#include "ops/norm/norm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/elementwise/elementwise_util.h"
#include "ops/octet_ops.h"
#include "ops/reduce/reduce_util.h"
#include "octet/kernels/registry.h"

namespace octet::detail {
namespace {

// Values of `t` broadcast (numpy, unidirectionally) into `target`, as one dense vector. Leading
// 1-dims beyond target's rank are dropped first.
std::vector<double> expand_param(const Tensor& t, const Shape& target) {
  Shape s = t.shape();
  while (s.size() > target.size() && s.front() == 1) s.erase(s.begin());
  std::vector<double> v = tensor_to_doubles(t);
  std::vector<double> out(static_cast<size_t>(shape_numel(target)));
  BroadcastIter<1> it({s}, target);
  it.for_range(0, it.numel(), [&](int64_t o, const std::array<int64_t, 1>& off, int64_t n) {
    const int64_t st = it.inner_stride(0);
    for (int64_t i = 0; i < n; ++i) out[o + i] = v[off[0] + i * st];
  });
  return out;
}

// Whether `param` broadcasts unidirectionally into `target` (after dropping leading 1s).
bool broadcasts_into(Shape param, const Shape& target) {
  while (param.size() > target.size() && param.front() == 1) param.erase(param.begin());
  if (param.size() > target.size()) return false;
  Shape out;
  return broadcast_shapes(target, param, &out) && out == target;
}

// Builds the kernel for f32/f64, wrapping it for f16/bf16.
template <template <class> class K, class... Args>
std::unique_ptr<OpKernel> make_float_kernel(const NodeContext& c, DType t, Args&&... args) {
  std::unique_ptr<OpKernel> k;
  if (t == DType::f64) return std::make_unique<K<double>>(std::forward<Args>(args)...);
  k = std::make_unique<K<float>>(std::forward<Args>(args)...);
  if (is_half(t)) return std::make_unique<ViaFloatKernel>(std::move(k), t);
  if (t != DType::f32) c.fail(std::string("unsupported dtype ") + dtype_name(t));
  return k;
}

// Mean and population variance of n contiguous values: two passes in double, each over four
// partial sums (independent dependency chains; a fixed order, so reproducible).
template <class T>
void row_moments(const T* x, int64_t n, double* mean_out, double* var_out) {
  double s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) s[k] += static_cast<double>(x[i + k]);
  for (; i < n; ++i) s[0] += static_cast<double>(x[i]);
  const double mean = n > 0 ? (s[0] + s[1] + s[2] + s[3]) / static_cast<double>(n) : 0.0;
  double q[4] = {0, 0, 0, 0};
  i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) {
      const double d = static_cast<double>(x[i + k]) - mean;
      q[k] += d * d;
    }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    q[0] += d * d;
  }
  *mean_out = mean;
  *var_out = n > 0 ? (q[0] + q[1] + q[2] + q[3]) / static_cast<double>(n) : 0.0;
}

int64_t spatial_size(const Shape& s) {  // product of dims after N and C
  int64_t n = 1;
  for (size_t d = 2; d < s.size(); ++d) n *= s[d];
  return n;
}

void check_channel_param(const NodeContext& c, size_t i, int64_t channels, const char* what) {
  c.check(c.has_input(i), std::string(what) + " is required");
  check_input_dtype(c, i, kFloatTypes);
  c.check(shape_numel(c.input_shape(i)) == channels,
          std::string(what) + " must have " + std::to_string(channels) + " elements, got shape " +
              shape_str(c.input_shape(i)));
}

// ---- BatchNormalization ---------------------------------------------------------------------

// y = x * a[c] + b[c] with a = scale / sqrt(var + eps), b = bias - mean * a.
template <class T>
class BatchNormKernel final : public OpKernel {
 public:
  explicit BatchNormKernel(double epsilon) : epsilon_(epsilon) {}
  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const int64_t batch = xt.shape()[0], channels = xt.shape()[1], spatial = spatial_size(xt.shape());
    std::vector<double> scale = tensor_to_doubles(ctx.input(1)), bias = tensor_to_doubles(ctx.input(2)),
                        mean = tensor_to_doubles(ctx.input(3)), var = tensor_to_doubles(ctx.input(4));
    std::vector<T> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      double ac = scale[c] / std::sqrt(var[c] + epsilon_);
      a[c] = static_cast<T>(ac);
      b[c] = static_cast<T>(bias[c] - mean[c] * ac);
    }
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t planes = batch * channels;
    parallel_ranges(ctx.pool, planes, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(spatial, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t p = begin; p < end; ++p) {
                        const T ap = a[p % channels], bp = b[p % channels];
                        const T* xp = x + p * spatial;
                        T* yp = y + p * spatial;
                        for (int64_t i = 0; i < spatial; ++i) yp[i] = xp[i] * ap + bp;
                      }
                    });
  }

 private:
  double epsilon_;
};

// Writes v into element i of a tensor of any float dtype.
void store_float(Tensor& t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::f32: t.data_as<float>()[i] = static_cast<float>(v); break;
    case DType::f64: t.data_as<double>()[i] = v; break;
    case DType::f16: t.data_as<uint16_t>()[i] = float_to_half(static_cast<float>(v)); break;
    case DType::bf16: t.data_as<uint16_t>()[i] = float_to_bf16(static_cast<float>(v)); break;
    default: break;  // not a float dtype: refused at inference
  }
}

// The mean and population variance of channel c of an [N, C, spatial] tensor: two passes in
// double, in a fixed order; NaN when the channel is empty.
template <class T>
void channel_moments(const T* x, int64_t batch, int64_t channels, int64_t spatial, int64_t c, double* mean,
                     double* var) {
  const int64_t count = batch * spatial;
  if (count == 0) {
    *mean = *var = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  double sum = 0, squares = 0;
  for (int64_t n = 0; n < batch; ++n) {
    const T* xp = x + (n * channels + c) * spatial;
    for (int64_t i = 0; i < spatial; ++i) sum += static_cast<double>(xp[i]);
  }
  *mean = sum / static_cast<double>(count);
  for (int64_t n = 0; n < batch; ++n) {
    const T* xp = x + (n * channels + c) * spatial;
    for (int64_t i = 0; i < spatial; ++i) {
      const double d = static_cast<double>(xp[i]) - *mean;
      squares += d * d;
    }
  }
  *var = squares / static_cast<double>(count);
}

// Training mode (opset 14+): the statistics are the batch's own, the mean and the population
// variance of each channel over N and the spatial dims; Y = (x - mean) / sqrt(var + eps) *
// scale + B, in double (x - mean first: the batch mean may dwarf the spread). The optional
// outputs running_mean and running_var are input_mean * momentum + mean * (1 - momentum) and
// input_var * momentum + var * (1 - momentum), var being the population variance there too
// (as the ONNX test generator computes it).
template <class T>
class BatchNormTrainingKernel final : public OpKernel {
 public:
  BatchNormTrainingKernel(double epsilon, double momentum) : epsilon_(epsilon), momentum_(momentum) {}
  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const int64_t batch = xt.shape()[0], channels = xt.shape()[1], spatial = spatial_size(xt.shape());
    const std::vector<double> scale = tensor_to_doubles(ctx.input(1)), bias = tensor_to_doubles(ctx.input(2));
    std::vector<double> mean(static_cast<size_t>(channels)), var(static_cast<size_t>(channels));
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(batch * spatial, 1));
    parallel_ranges(ctx.pool, channels, grain, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        channel_moments(x, batch, channels, spatial, c, &mean[c], &var[c]);
        const double a = scale[c] / std::sqrt(var[c] + epsilon_);
        for (int64_t n = 0; n < batch; ++n) {
          const T* xp = x + (n * channels + c) * spatial;
          T* yp = y + (n * channels + c) * spatial;
          for (int64_t i = 0; i < spatial; ++i) yp[i] = static_cast<T>((static_cast<double>(xp[i]) - mean[c]) * a + bias[c]);
        }
      }
    });
    if (ctx.has_output(1)) {
      const std::vector<double> input_mean = tensor_to_doubles(ctx.input(3));
      for (int64_t c = 0; c < channels; ++c)
        store_float(ctx.output(1), c, input_mean[c] * momentum_ + mean[c] * (1 - momentum_));
    }
    if (ctx.has_output(2)) {
      const std::vector<double> input_var = tensor_to_doubles(ctx.input(4));
      for (int64_t c = 0; c < channels; ++c)
        store_float(ctx.output(2), c, input_var[c] * momentum_ + var[c] * (1 - momentum_));
    }
  }

 private:
  double epsilon_, momentum_;
};

void infer_batchnorm(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  const Shape& x = c.input_shape(0);
  c.check(x.size() >= 2, "X must have rank >= 2 (N, C, ...), got " + shape_str(x));
  const int64_t training = c.node().attr_i("training_mode", 0);
  c.check(training == 0 || training == 1, "training_mode must be 0 or 1, got " + std::to_string(training));
  c.check(training == 0 || c.opset() >= 14, "training_mode exists from opset 14 on (this model's opset is " +
                                                std::to_string(c.opset()) + ")");
  if (training == 0) {
    c.check(!c.has_output(1) && !c.has_output(2) && !c.has_output(3) && !c.has_output(4),
            "running mean/var outputs exist only with training_mode=1 (opset 14+); the saved mean/var "
            "outputs of opsets 9-13 are not supported");
  } else {
    c.check(!c.has_output(3) && !c.has_output(4),
            "BatchNormalization with training_mode=1 has at most 3 outputs (Y, running_mean, running_var)");
  }
  static const char* names[] = {"", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i <= 4; ++i) check_channel_param(c, i, x[1], names[i]);
  c.set_output(0, c.input_dtype(0), x);
  if (c.has_output(1)) c.set_output(1, c.input_dtype(3), Shape{x[1]});
  if (c.has_output(2)) c.set_output(2, c.input_dtype(4), Shape{x[1]});
}

std::unique_ptr<OpKernel> create_batchnorm(const NodeContext& c) {
  const double epsilon = c.node().attr_f("epsilon", 1e-5f);
  if (c.node().attr_i("training_mode", 0) != 0)
    return make_float_kernel<BatchNormTrainingKernel>(c, c.input_dtype(0), epsilon,
                                                      double(c.node().attr_f("momentum", 0.9f)));
  return make_float_kernel<BatchNormKernel>(c, c.input_dtype(0), epsilon);
}

// octet.BatchNormNhwc: BatchNormalization (inference, FP32) of a channels-last [N, H, W, C]
// tensor, placed by the layout pass; the same per-channel a, b and y = x * a + b.
class BatchNormNhwcKernel final : public OpKernel {
 public:
  explicit BatchNormNhwcKernel(double epsilon) : epsilon_(epsilon) {}
  std::string name() const override { return "batchnorm_nhwc_f32"; }
  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const int64_t channels = xt.shape()[3], pixels = xt.numel() / std::max<int64_t>(channels, 1);
    std::vector<double> scale = tensor_to_doubles(ctx.input(1)), bias = tensor_to_doubles(ctx.input(2)),
                        mean = tensor_to_doubles(ctx.input(3)), var = tensor_to_doubles(ctx.input(4));
    std::vector<float> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      const double ac = scale[c] / std::sqrt(var[c] + epsilon_);
      a[c] = static_cast<float>(ac);
      b[c] = static_cast<float>(bias[c] - mean[c] * ac);
    }
    const float* x = xt.data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    parallel_ranges(ctx.pool, pixels, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(channels, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t p = begin; p < end; ++p) {
                        const float* __restrict xp = x + p * channels;
                        float* __restrict yp = y + p * channels;
                        for (int64_t c = 0; c < channels; ++c) yp[c] = xp[c] * a[c] + b[c];
                      }
                    });
  }

 private:
  double epsilon_;
};

void infer_batchnorm_nhwc(NodeContext& c) {
  c.check(c.input_dtype(0) == DType::f32, "octet.BatchNormNhwc is FP32 only");
  const Shape& x = c.input_shape(0);
  c.check(x.size() == 4, "octet.BatchNormNhwc needs a rank-4 [N, H, W, C] input, got " + shape_str(x));
  c.check(c.node().attr_i("training_mode", 0) == 0 && c.num_outputs() == 1, "inference mode only");
  static const char* names[] = {"", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i <= 4; ++i) {
    check_channel_param(c, i, x[3], names[i]);
    c.check(c.input_dtype(i) == DType::f32, std::string(names[i]) + " must be f32");
  }
  c.set_output(0, DType::f32, x);
}

std::unique_ptr<OpKernel> create_batchnorm_nhwc(const NodeContext& c) {
  return std::make_unique<BatchNormNhwcKernel>(double(c.node().attr_f("epsilon", 1e-5f)));
}

// ---- InstanceNormalization ------------------------------------------------------------------

template <class T>
class InstanceNormKernel final : public OpKernel {
 public:
  explicit InstanceNormKernel(double epsilon) : epsilon_(epsilon) {}
  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const int64_t channels = xt.shape()[1], spatial = spatial_size(xt.shape());
    std::vector<double> scale = tensor_to_doubles(ctx.input(1)), bias = tensor_to_doubles(ctx.input(2));
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t planes = xt.shape()[0] * channels;
    parallel_ranges(ctx.pool, planes, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(spatial, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t p = begin; p < end; ++p) {
                        const T* xp = x + p * spatial;
                        double mean, var;
                        row_moments(xp, spatial, &mean, &var);
                        const double a = scale[p % channels] / std::sqrt(var + epsilon_);
                        const T ap = static_cast<T>(a), bp = static_cast<T>(bias[p % channels] - mean * a);
                        T* yp = y + p * spatial;
                        for (int64_t i = 0; i < spatial; ++i) yp[i] = xp[i] * ap + bp;
                      }
                    });
  }

 private:
  double epsilon_;
};

void infer_instancenorm(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  const Shape& x = c.input_shape(0);
  c.check(x.size() >= 3, "X must have rank >= 3 (N, C, D1, ...), got " + shape_str(x));
  check_channel_param(c, 1, x[1], "scale");
  check_channel_param(c, 2, x[1], "B");
  c.set_output(0, c.input_dtype(0), x);
}

std::unique_ptr<OpKernel> create_instancenorm(const NodeContext& c) {
  return make_float_kernel<InstanceNormKernel>(c, c.input_dtype(0), double(c.node().attr_f("epsilon", 1e-5f)));
}

// ---- LayerNormalization ---------------------------------------------------------------------

// Normalises each row of the input seen as [outer, m] (m = product of dims from `axis`).
// Mean and InvStdDev are optional outputs of the stash type (f32 or f64).
template <class T>
class LayerNormKernel final : public OpKernel {
 public:
  LayerNormKernel(int64_t outer, Shape norm_shape, double epsilon)
      : outer_(outer), norm_shape_(std::move(norm_shape)), epsilon_(epsilon) {}
  void run(KernelContext& ctx) const override {
    const int64_t m = shape_numel(norm_shape_);
    std::vector<double> sd = expand_param(ctx.input(1), norm_shape_);
    std::vector<double> bd = ctx.has_input(2) ? expand_param(ctx.input(2), norm_shape_) : std::vector<double>(m, 0.0);
    std::vector<T> scale(sd.begin(), sd.end()), bias(bd.begin(), bd.end());
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    Tensor* mean_out = ctx.has_output(1) ? &ctx.output(1) : nullptr;
    Tensor* inv_out = ctx.has_output(2) ? &ctx.output(2) : nullptr;
    parallel_ranges(ctx.pool, outer_, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(m, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t r = begin; r < end; ++r) {
                        const T* xr = x + r * m;
                        double mean, var;
                        row_moments(xr, m, &mean, &var);
                        const double inv = 1.0 / std::sqrt(var + epsilon_);
                        const T mt = static_cast<T>(mean), it = static_cast<T>(inv);
                        T* yr = y + r * m;
                        for (int64_t i = 0; i < m; ++i) yr[i] = (xr[i] - mt) * it * scale[i] + bias[i];
                        store(mean_out, r, mean);
                        store(inv_out, r, inv);
                      }
                    });
  }

 private:
  static void store(Tensor* t, int64_t i, double v) {
    if (t == nullptr) return;
    if (t->dtype() == DType::f64) t->data_as<double>()[i] = v;
    else t->data_as<float>()[i] = static_cast<float>(v);
  }
  int64_t outer_;
  Shape norm_shape_;
  double epsilon_;
};

// Float rows without the optional Mean / InvStdDev outputs: the kernel registry's
// layernorm_f32 (SIMD where the level has it). Scale and bias are expanded to the normalised
// shape once when constant, else at each run.
class LayerNormF32Kernel final : public OpKernel {
 public:
  LayerNormF32Kernel(const kernels::IsaChoice& isa, const NodeContext& c, int64_t outer, Shape norm_shape, float epsilon)
      : fn_(kernels::kernel_registry(isa).layernorm_f32), outer_(outer), norm_shape_(std::move(norm_shape)),
        epsilon_(epsilon) {
    if (const Tensor* t = c.input_const(1)) scale_ = expand(*t);
    if (!c.has_input(2)) bias_.assign(static_cast<size_t>(shape_numel(norm_shape_)), 0.0f);
    else if (const Tensor* t = c.input_const(2)) bias_ = expand(*t);
  }
  std::string name() const override { return fn_.name; }
  size_t weights_bytes() const override { return (scale_.size() + bias_.size()) * sizeof(float); }
  void run(KernelContext& ctx) const override {
    const int64_t m = shape_numel(norm_shape_);
    std::vector<float> scale_run, bias_run;
    if (scale_.empty()) scale_run = expand(ctx.input(1));
    if (bias_.empty()) bias_run = expand(ctx.input(2));
    const float* scale = scale_.empty() ? scale_run.data() : scale_.data();
    const float* bias = bias_.empty() ? bias_run.data() : bias_.data();
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    parallel_ranges(ctx.pool, outer_, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(m, 1)),
                    [&](int64_t begin, int64_t end) {
                      fn_.run(x + begin * m, y + begin * m, end - begin, m, scale, bias, epsilon_);
                    });
  }

 private:
  std::vector<float> expand(const Tensor& t) const {
    const std::vector<double> d = expand_param(t, norm_shape_);
    return std::vector<float>(d.begin(), d.end());
  }
  kernels::KernelEntry<kernels::LayerNormF32Fn> fn_;
  int64_t outer_;
  Shape norm_shape_;
  float epsilon_;
  std::vector<float> scale_, bias_;  // empty: not constant, expanded per run
};

struct LayerNormLayout {
  int64_t axis = 0, outer = 1;
  Shape norm_shape;
};

LayerNormLayout layernorm_layout(const NodeContext& c) {
  const Shape& x = c.input_shape(0);
  LayerNormLayout l;
  l.axis = normalize_axis(c, c.node().attr_i("axis", -1), static_cast<int64_t>(x.size()));
  for (int64_t d = 0; d < static_cast<int64_t>(x.size()); ++d) {
    if (d < l.axis) l.outer *= x[d];
    else l.norm_shape.push_back(x[d]);
  }
  return l;
}

void infer_layernorm(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  const Shape& x = c.input_shape(0);
  LayerNormLayout l = layernorm_layout(c);
  for (size_t i = 1; i <= 2; ++i) {
    if (!c.has_input(i)) {
      c.check(i == 2, "Scale is required");
      continue;
    }
    check_input_dtype(c, i, kFloatTypes);
    c.check(broadcasts_into(c.input_shape(i), l.norm_shape),
            std::string(i == 1 ? "Scale " : "B ") + shape_str(c.input_shape(i)) +
                " does not broadcast to the normalized shape " + shape_str(l.norm_shape));
  }
  const int64_t stash = c.node().attr_i("stash_type", 1);
  c.check(stash == 1 || stash == 11, "stash_type must be 1 (float) or 11 (double), got " + std::to_string(stash));
  Shape stats = x;
  for (size_t d = static_cast<size_t>(l.axis); d < stats.size(); ++d) stats[d] = 1;
  c.set_output(0, c.input_dtype(0), x);
  c.set_output(1, stash == 11 ? DType::f64 : DType::f32, stats);
  c.set_output(2, stash == 11 ? DType::f64 : DType::f32, stats);
}

std::unique_ptr<OpKernel> create_layernorm(const NodeContext& c) {
  LayerNormLayout l = layernorm_layout(c);
  if (c.input_dtype(0) == DType::f32 && !c.has_output(1) && !c.has_output(2))
    return std::make_unique<LayerNormF32Kernel>(c.isa(), c, l.outer, l.norm_shape, c.node().attr_f("epsilon", 1e-5f));
  return make_float_kernel<LayerNormKernel>(c, c.input_dtype(0), l.outer, l.norm_shape,
                                            double(c.node().attr_f("epsilon", 1e-5f)));
}

// ---- GroupNormalization ---------------------------------------------------------------------

// Channels of a group are contiguous planes, so each (n, group) is one contiguous block.
// scale/bias have one value per group (opset 18) or per channel (opset 21).
template <class T>
class GroupNormKernel final : public OpKernel {
 public:
  GroupNormKernel(int64_t groups, double epsilon) : groups_(groups), epsilon_(epsilon) {}
  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const int64_t channels = xt.shape()[1], spatial = spatial_size(xt.shape());
    const int64_t per_group = channels / groups_;
    std::vector<double> scale = per_channel(ctx.input(1), channels, per_group);
    std::vector<double> bias = per_channel(ctx.input(2), channels, per_group);
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t block = per_group * spatial;
    parallel_ranges(ctx.pool, xt.shape()[0] * groups_, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(block, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t b = begin; b < end; ++b) {
                        const T* xb = x + b * block;
                        double mean, var;
                        row_moments(xb, block, &mean, &var);
                        const double inv = 1.0 / std::sqrt(var + epsilon_);
                        const int64_t c0 = (b % groups_) * per_group;
                        for (int64_t c = 0; c < per_group; ++c) {
                          const double a = scale[c0 + c] * inv;
                          const T ap = static_cast<T>(a), bp = static_cast<T>(bias[c0 + c] - mean * a);
                          const T* xp = xb + c * spatial;
                          T* yp = y + b * block + c * spatial;
                          for (int64_t i = 0; i < spatial; ++i) yp[i] = xp[i] * ap + bp;
                        }
                      }
                    });
  }

 private:
  std::vector<double> per_channel(const Tensor& t, int64_t channels, int64_t per_group) const {
    std::vector<double> v = tensor_to_doubles(t);
    if (static_cast<int64_t>(v.size()) == channels) return v;
    std::vector<double> out(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) out[c] = v[c / per_group];
    return out;
  }
  int64_t groups_;
  double epsilon_;
};

void infer_groupnorm(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  const Shape& x = c.input_shape(0);
  c.check(x.size() >= 3, "X must have rank >= 3 (N, C, D1, ...), got " + shape_str(x));
  c.check(c.node().has_attr("num_groups"), "attribute num_groups is required");
  const int64_t groups = c.node().attr_i("num_groups", 1);
  c.check(groups >= 1 && x[1] % groups == 0,
          "num_groups " + std::to_string(groups) + " must divide the channel count " + std::to_string(x[1]));
  for (size_t i = 1; i <= 2; ++i) {
    c.check(c.has_input(i), i == 1 ? "scale is required" : "bias is required");
    check_input_dtype(c, i, kFloatTypes);
    int64_t n = shape_numel(c.input_shape(i));
    c.check(n == groups || n == x[1], std::string(i == 1 ? "scale" : "bias") + " must have num_groups (" +
                                          std::to_string(groups) + ") or C (" + std::to_string(x[1]) +
                                          ") elements, got " + shape_str(c.input_shape(i)));
  }
  c.set_output(0, c.input_dtype(0), x);
}

std::unique_ptr<OpKernel> create_groupnorm(const NodeContext& c) {
  return make_float_kernel<GroupNormKernel>(c, c.input_dtype(0), c.node().attr_i("num_groups", 1),
                                            double(c.node().attr_f("epsilon", 1e-5f)));
}

// ---- LpNormalization ------------------------------------------------------------------------

// x / ||x||_p along one axis (p = 1 or 2); a zero vector stays zero.
template <class T>
class LpNormKernel final : public OpKernel {
 public:
  LpNormKernel(int64_t outer, int64_t n, int64_t inner, int64_t p) : outer_(outer), n_(n), inner_(inner), p_(p) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t n = n_, inner = inner_;
    std::vector<double> norm(static_cast<size_t>(inner));
    for (int64_t o = 0; o < outer_; ++o) {
      const T* xo = x + o * n * inner;
      T* yo = y + o * n * inner;
      std::fill(norm.begin(), norm.end(), 0.0);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < inner; ++j) {
          const double v = xo[r * inner + j];
          norm[j] += p_ == 1 ? std::fabs(v) : v * v;
        }
      for (int64_t j = 0; j < inner; ++j) {
        const double len = p_ == 1 ? norm[j] : std::sqrt(norm[j]);
        norm[j] = len > 0 ? 1.0 / len : 0.0;
      }
      for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < inner; ++j) yo[r * inner + j] = static_cast<T>(xo[r * inner + j] * norm[j]);
    }
  }

 private:
  int64_t outer_, n_, inner_, p_;
};

void infer_lpnorm(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  const Shape& x = c.input_shape(0);
  normalize_axis(c, c.node().attr_i("axis", -1), static_cast<int64_t>(x.size()));
  const int64_t p = c.node().attr_i("p", 2);
  c.check(p == 1 || p == 2, "p must be 1 or 2, got " + std::to_string(p));
  c.set_output(0, c.input_dtype(0), x);
}

std::unique_ptr<OpKernel> create_lpnorm(const NodeContext& c) {
  const Shape& x = c.input_shape(0);
  const int64_t axis = normalize_axis(c, c.node().attr_i("axis", -1), static_cast<int64_t>(x.size()));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < x.size(); ++d) inner *= x[d];
  return make_float_kernel<LpNormKernel>(c, c.input_dtype(0), outer, x[axis], inner, c.node().attr_i("p", 2));
}

// ---- MeanVarianceNormalization --------------------------------------------------------------

// (x - mean) / (sqrt(E[x^2] - mean^2) + 1e-9) over `axes` (default [0, 2, 3]), as the ONNX
// function body defines it.
template <class T>
class MvnKernel final : public OpKernel {
 public:
  MvnKernel(ReducePlan plan, Shape in) : plan_(std::move(plan)), apply_({plan_.keep_shape(), in}, in) {}
  void run(KernelContext& ctx) const override {
    struct Moments {
      double sum, sum_sq;
    };
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    std::vector<Moments> m(static_cast<size_t>(plan_.out_numel()), Moments{0, 0});
    plan_.accumulate(
        x, m.data(), Moments{0, 0}, [](Moments a, T v) { return Moments{a.sum + v, a.sum_sq + double(v) * v}; },
        [](Moments a, Moments b) { return Moments{a.sum + b.sum, a.sum_sq + b.sum_sq}; }, ctx.pool);
    std::vector<T> mean(m.size()), inv(m.size());
    const double count = static_cast<double>(plan_.count());
    for (size_t i = 0; i < m.size(); ++i) {
      const double mu = m[i].sum / count;
      const double var = std::max(0.0, m[i].sum_sq / count - mu * mu);
      mean[i] = static_cast<T>(mu);
      inv[i] = static_cast<T>(1.0 / (std::sqrt(var) + 1e-9));
    }
    apply_.for_range(0, apply_.numel(), [&](int64_t o, const std::array<int64_t, 2>& off, int64_t n) {
      const int64_t s = apply_.inner_stride(0);
      for (int64_t i = 0; i < n; ++i) y[o + i] = (x[o + i] - mean[off[0] + i * s]) * inv[off[0] + i * s];
    });
  }

 private:
  ReducePlan plan_;
  BroadcastIter<2> apply_;  // operand 0: statistics (keepdims shape); operand 1: x
};

std::vector<bool> mvn_axes(const NodeContext& c) {
  const Shape& x = c.input_shape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes = c.node().attr_ints("axes", {0, 2, 3});
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    int64_t n = normalize_axis(c, a, rank);
    c.check(!reduced[n], "axis " + std::to_string(a) + " is repeated in axes");
    reduced[n] = true;
  }
  return reduced;
}

void infer_mvn(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  mvn_axes(c);
  c.set_output(0, c.input_dtype(0), c.input_shape(0));
}

std::unique_ptr<OpKernel> create_mvn(const NodeContext& c) {
  return make_float_kernel<MvnKernel>(c, c.input_dtype(0), ReducePlan(c.input_shape(0), mvn_axes(c)),
                                      c.input_shape(0));
}

// ---- LRN ------------------------------------------------------------------------------------

// y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta, the window being
// [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to the channels.
template <class T>
class LrnKernel final : public OpKernel {
 public:
  LrnKernel(int64_t size, double alpha, double beta, double bias)
      : size_(size), alpha_(alpha), beta_(beta), bias_(bias) {}
  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const int64_t channels = xt.shape()[1], spatial = spatial_size(xt.shape());
    const T* x = xt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
    const double scale = alpha_ / static_cast<double>(size_);
    const int64_t planes = xt.shape()[0] * channels;
    // Work per plane ~ spatial * size, capped before multiplying (both may be large).
    const int64_t work = std::min<int64_t>(spatial, 4096) * std::min<int64_t>(size_, 4096);
    parallel_ranges(ctx.pool, planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(work, 1)),
                    [&](int64_t begin, int64_t end) {
                      std::vector<double> sq(static_cast<size_t>(spatial));
                      for (int64_t p = begin; p < end; ++p) {
                        const int64_t c = p % channels, base = p - c;
                        std::fill(sq.begin(), sq.end(), 0.0);
                        const int64_t lo = std::max<int64_t>(0, c - before);
                        const int64_t hi = std::min<int64_t>(channels - 1, c + after);
                        for (int64_t k = lo; k <= hi; ++k) {
                          const T* xk = x + (base + k) * spatial;
                          for (int64_t i = 0; i < spatial; ++i) sq[i] += double(xk[i]) * xk[i];
                        }
                        const T* xp = x + p * spatial;
                        T* yp = y + p * spatial;
                        for (int64_t i = 0; i < spatial; ++i)
                          yp[i] = static_cast<T>(xp[i] / std::pow(bias_ + scale * sq[i], beta_));
                      }
                    });
  }

 private:
  int64_t size_;
  double alpha_, beta_, bias_;
};

void infer_lrn(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  const Shape& x = c.input_shape(0);
  c.check(x.size() >= 3, "X must have rank >= 3 (N, C, D1, ...), got " + shape_str(x));
  c.check(c.node().has_attr("size"), "attribute size is required");
  c.check(c.node().attr_i("size", 0) >= 1, "size must be >= 1");
  // A window wider than any channel count; larger sizes only change alpha / size.
  c.check(c.node().attr_i("size", 0) <= (int64_t(1) << 30), "size must be <= 2^30");
  c.set_output(0, c.input_dtype(0), x);
}

std::unique_ptr<OpKernel> create_lrn(const NodeContext& c) {
  const Node& n = c.node();
  return make_float_kernel<LrnKernel>(c, c.input_dtype(0), n.attr_i("size", 1), double(n.attr_f("alpha", 1e-4f)),
                                      double(n.attr_f("beta", 0.75f)), double(n.attr_f("bias", 1.0f)));
}

}  // namespace

void register_norm_ops(OpRegistry& r) {
  r.add(OpDef{"", "BatchNormalization", infer_batchnorm, create_batchnorm});
  r.add(OpDef{kOctetDomain, kOpBatchNormNhwc, infer_batchnorm_nhwc, create_batchnorm_nhwc});
  r.add(OpDef{"", "InstanceNormalization", infer_instancenorm, create_instancenorm});
  r.add(OpDef{"", "LayerNormalization", infer_layernorm, create_layernorm});
  r.add(OpDef{"", "GroupNormalization", infer_groupnorm, create_groupnorm});
  r.add(OpDef{"", "LpNormalization", infer_lpnorm, create_lpnorm});
  r.add(OpDef{"", "MeanVarianceNormalization", infer_mvn, create_mvn});
  r.add(OpDef{"", "LRN", infer_lrn, create_lrn});
  register_norm_softmax_ops(r);
}

}  // namespace octet::detail
