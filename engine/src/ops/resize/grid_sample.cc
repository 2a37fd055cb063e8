// GridSample (opset 16): Y[n, c, h, w] samples X[n, c] (4-D, NCHW) at the point grid[n, h, w]
// = (x, y), normalised to [-1, 1] over the width and height. Modes bilinear, nearest, bicubic;
// padding_mode zeros, border, reflection; align_corners 0/1.
//
// Follows the ONNX reference implementation (onnx/reference/ops/op_grid_sample.py, which
// matches PyTorch's grid_sample and ONNX Runtime): the point is unnormalised in the data type;
// nearest rounds it half to even; a point outside [lo, hi] (the corner pixels' centres with
// align_corners, their outer edges without) is clamped (border) or reflected (reflection)
// first; then each tap outside the image reads 0 (zeros), the nearest edge pixel (border) or
// the reflected pixel (reflection). Bilinear and bicubic (Keys, a = -0.75) interpolate each
// row along x, then the rows along y, in the reference's order.
//
// Cases the reference leaves undefined (it raises): a NaN point gives NaN, as does an
// infinite one under reflection; under zeros an infinite point reads 0, under border the edge.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ops/float_kernel.h"
#include "ops/resize/resize.h"

namespace octet::detail {
namespace {

enum class GridMode { bilinear, nearest, bicubic };
enum class GridPadding { zeros, border, reflection };

struct GridSampleParams {
  GridMode mode = GridMode::bilinear;
  GridPadding padding = GridPadding::zeros;
  bool align_corners = false;
};

// x reflected by the nearer border of [lo, hi] until it is inside (the reference's
// _gs_reflect, with fmod in place of its integer count of reflections).
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;  // one pixel with align_corners: its centre is the only place
  if (x < lo) {
    const double r = std::fmod(lo - x, 2 * range);
    return r < range ? lo + r : hi - (r - range);
  }
  if (x > hi) {
    const double r = std::fmod(x - hi, 2 * range);
    return r < range ? hi - r : lo + (r - range);
  }
  return x;
}

// Up to four taps along one axis: source indices (-1: a zero from padding) and weights.
template <class T>
struct AxisTaps {
  int count = 0;
  int64_t index[4] = {-1, -1, -1, -1};
  T weight[4] = {0, 0, 0, 0};
};

// The source index of tap i (any integer) of an axis of `size` pixels under the padding mode.
int64_t padded_index(int64_t i, int64_t size, GridPadding padding, double lo, double hi) {
  if (i >= 0 && i < size) return i;
  switch (padding) {
    case GridPadding::zeros: return -1;
    case GridPadding::border: return std::clamp<int64_t>(i, 0, size - 1);
    case GridPadding::reflection:
      // Truncated as the reference's int(); an integer reflects onto an integer here.
      return std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<double>(i), lo, hi)), 0, size - 1);
  }
  return -1;
}

// Keys' cubic convolution weights for the taps at floor - 1 .. floor + 2, t = x - floor(x).
template <class T>
void cubic_weights(T t, T* w) {
  const T a = T(-0.75);
  t = std::abs(t);
  w[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
  w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  w[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
  w[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

// The taps of normalised coordinate g along an axis of `size` pixels; false when the point is
// not a number after padding (the output is then NaN).
template <class T>
bool axis_taps(T g, int64_t size, const GridSampleParams& p, AxisTaps<T>* taps) {
  T x = p.align_corners ? (g + T(1)) / T(2) * T(size - 1) : ((g + T(1)) * T(size) - T(1)) / T(2);
  if (p.mode == GridMode::nearest) x = std::nearbyint(x);  // half to even (default rounding mode)
  const double lo = p.align_corners ? 0.0 : -0.5;
  const double hi = p.align_corners ? double(size - 1) : double(size) - 0.5;
  if (x < lo || x > hi) {
    if (p.padding == GridPadding::border) x = std::clamp(x, T(0), T(size - 1));
    else if (p.padding == GridPadding::reflection) x = static_cast<T>(reflect(static_cast<double>(x), lo, hi));
  }
  if (std::isnan(x)) return false;
  // Far outside (zeros only), every tap reads 0 either way: this keeps floor() in range.
  x = std::clamp(x, T(-8), T(size + 8));
  const int64_t x0 = static_cast<int64_t>(std::floor(x));
  const T t = x - T(x0);
  switch (p.mode) {
    case GridMode::nearest:
      taps->count = 1;
      taps->index[0] = padded_index(x0, size, p.padding, lo, hi);
      taps->weight[0] = T(1);
      break;
    case GridMode::bilinear:
      taps->count = 2;
      taps->weight[0] = T(1) - t;
      taps->weight[1] = t;
      for (int i = 0; i < 2; ++i) taps->index[i] = padded_index(x0 + i, size, p.padding, lo, hi);
      break;
    case GridMode::bicubic:
      taps->count = 4;
      cubic_weights(t, taps->weight);
      for (int i = 0; i < 4; ++i) taps->index[i] = padded_index(x0 - 1 + i, size, p.padding, lo, hi);
      break;
  }
  return true;
}

template <class T>
class GridSampleKernel final : public OpKernel {
 public:
  explicit GridSampleKernel(GridSampleParams p) : p_(p) {}

  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const Tensor& gt = ctx.input(1);
    const int64_t batch = xt.shape()[0], channels = xt.shape()[1], height = xt.shape()[2], width = xt.shape()[3];
    const int64_t out_h = gt.shape()[1], out_w = gt.shape()[2], plane = height * width, out_plane = out_h * out_w;
    const T* x = xt.data_as<T>();
    const T* grid = gt.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int taps_per_point = p_.mode == GridMode::nearest ? 1 : p_.mode == GridMode::bilinear ? 4 : 16;
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, channels * taps_per_point));
    parallel_ranges(ctx.pool, batch * out_plane, grain, [&](int64_t begin, int64_t end) {
      for (int64_t pt = begin; pt < end; ++pt) {
        const int64_t n = pt / out_plane, o = pt % out_plane;
        AxisTaps<T> tx, ty;
        const bool defined = axis_taps(grid[pt * 2], width, p_, &tx) && axis_taps(grid[pt * 2 + 1], height, p_, &ty);
        for (int64_t c = 0; c < channels; ++c) {
          T* out = y + (n * channels + c) * out_plane + o;
          if (!defined) {
            *out = std::numeric_limits<T>::quiet_NaN();
            continue;
          }
          const T* src = x + (n * channels + c) * plane;
          T sum = 0;
          for (int j = 0; j < ty.count; ++j) {
            T row = 0;
            if (ty.index[j] >= 0) {
              const T* r = src + ty.index[j] * width;
              for (int i = 0; i < tx.count; ++i) row += tx.weight[i] * (tx.index[i] >= 0 ? r[tx.index[i]] : T(0));
            }
            sum += ty.weight[j] * row;
          }
          *out = sum;
        }
      }
    });
  }

 private:
  GridSampleParams p_;
};

GridSampleParams grid_sample_params(const NodeContext& c) {
  GridSampleParams p;
  const std::string mode = c.node().attr_s("mode", "bilinear");
  if (mode == "bilinear") p.mode = GridMode::bilinear;
  else if (mode == "nearest") p.mode = GridMode::nearest;
  else if (mode == "bicubic") p.mode = GridMode::bicubic;
  else c.fail("mode must be bilinear, nearest or bicubic, got '" + mode + "'");
  const std::string padding = c.node().attr_s("padding_mode", "zeros");
  if (padding == "zeros") p.padding = GridPadding::zeros;
  else if (padding == "border") p.padding = GridPadding::border;
  else if (padding == "reflection") p.padding = GridPadding::reflection;
  else c.fail("padding_mode must be zeros, border or reflection, got '" + padding + "'");
  const int64_t align = c.node().attr_i("align_corners", 0);
  c.check(align == 0 || align == 1, "align_corners must be 0 or 1, got " + std::to_string(align));
  p.align_corners = align == 1;
  return p;
}

void infer_grid_sample(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  check_same_dtype(c, 1);
  grid_sample_params(c);
  const Shape& x = c.input_shape(0);
  const Shape& grid = c.input_shape(1);
  c.check(x.size() == 4, "X must be 4-D (N, C, H, W), got " + shape_str(x));
  c.check(grid.size() == 4 && grid[3] == 2, "grid must be (N, H_out, W_out, 2), got " + shape_str(grid));
  c.check(grid[0] == x[0], "grid's batch " + std::to_string(grid[0]) + " differs from X's " + std::to_string(x[0]));
  const Shape out{x[0], x[1], grid[1], grid[2]};
  c.check(shape_numel(out) == 0 || (x[2] > 0 && x[3] > 0), "X has no pixels to sample, shape " + shape_str(x));
  c.set_output(0, c.input_dtype(0), out);
}

std::unique_ptr<OpKernel> create_grid_sample(const NodeContext& c) {
  const GridSampleParams p = grid_sample_params(c);
  return make_float_kernel(c.input_dtype(0), [&](auto tag) -> std::unique_ptr<OpKernel> {
    return std::make_unique<GridSampleKernel<decltype(tag)>>(p);
  });
}

}  // namespace

void register_grid_sample_ops(OpRegistry& r) { r.add(OpDef{"", "GridSample", infer_grid_sample, create_grid_sample}); }

}  // namespace octet::detail
