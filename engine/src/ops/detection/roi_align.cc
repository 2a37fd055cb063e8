// RoiAlign (opset 10, 16): each roi [x1, y1, x2, y2] (times spatial_scale, shifted by -0.5 in
// half_pixel mode) of image batch_indices[r] is cut into output_height x output_width bins; a
// bin's value is the average (mode avg) or maximum (mode max) over a grid of bilinearly sampled
// points, sampling_ratio per axis or, when 0, ceil(roi extent / output extent). Sample points
// more than one pixel outside the image count as zero. Max mode is the ONNX reference's (and
// ONNX Runtime's): the maximum over the points of the largest of the four weighted corner
// terms w_i * x_i, not of the interpolated value. Opset 10 has no coordinate_transformation_mode
// and behaves as output_half_pixel (no shift, rois of less than a pixel widened to one).
//
// The sampling grid is separable (a point is outside the image when its row or its column is),
// so the rows and columns of a bin are found once and only those near the image are visited:
// a huge roi costs about as much as one the size of the image, never a loop over its extent.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/detection/detection.h"
#include "ops/float_kernel.h"

namespace octet::detail {
namespace {

enum class RoiPool { avg, max };

struct RoiAlignAttrs {
  int64_t out_h = 1, out_w = 1;
  int64_t sampling_ratio = 0;  // 0: adaptive
  double spatial_scale = 1.0;
  RoiPool mode = RoiPool::avg;
  bool half_pixel = true;
};

// The largest adaptive grid per bin axis: far beyond any roi over a real feature map (the work
// is bounded by the image anyway), and small enough that sample indices stay exact in double.
constexpr double kMaxAdaptiveGrid = double(int64_t(1) << 50);

// A fixed grid costs sampling_ratio^2 points per bin whatever the roi (detectors use 0 or 2):
// the cap keeps a bin's work and its tap lists bounded (2^20 points, 1024 taps per axis).
constexpr int64_t kMaxSamplingRatio = 1024;

RoiAlignAttrs roi_align_attrs(const NodeContext& c) {
  const Node& n = c.node();
  RoiAlignAttrs a;
  a.out_h = n.attr_i("output_height", 1);
  a.out_w = n.attr_i("output_width", 1);
  c.check(a.out_h >= 1 && a.out_w >= 1, "output_height and output_width must be >= 1, got " +
                                            std::to_string(a.out_h) + " and " + std::to_string(a.out_w));
  a.sampling_ratio = n.attr_i("sampling_ratio", 0);
  c.check(a.sampling_ratio >= 0 && a.sampling_ratio <= kMaxSamplingRatio,
          "sampling_ratio must be in [0, " + std::to_string(kMaxSamplingRatio) + "] (0: adaptive), got " +
              std::to_string(a.sampling_ratio));
  a.spatial_scale = n.attr_f("spatial_scale", 1.0f);
  const std::string mode = n.attr_s("mode", "avg");
  if (mode == "avg") a.mode = RoiPool::avg;
  else if (mode == "max") a.mode = RoiPool::max;
  else c.fail("mode must be \"avg\" or \"max\", got \"" + mode + "\"");
  const std::string coord = n.attr_s("coordinate_transformation_mode", c.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  if (coord == "half_pixel") a.half_pixel = true;
  else if (coord == "output_half_pixel") a.half_pixel = false;
  else c.fail("coordinate_transformation_mode must be \"half_pixel\" or \"output_half_pixel\", got \"" + coord + "\"");
  return a;
}

// One sampled row (or column) of a bin: the two pixels it falls between and their weights.
struct Tap {
  int64_t low, high;
  double w_low, w_high;
};

// The taps of one bin along one axis of `size` pixels: of the grid points
// start + (i + 0.5) * bin / grid for i in [0, grid), those inside [-1, size], clamped as the
// reference does. Only a window around the points inside is visited (the points are evenly
// spaced), so the work is bounded by the image, not by the roi.
void bin_taps(double start, double bin, int64_t grid, int64_t size, std::vector<Tap>& taps) {
  taps.clear();
  if (grid <= 0) return;
  int64_t first = 0, last = grid;
  const double step = bin / double(grid);
  if (step != 0) {
    const double t1 = (-1.0 - start) / step - 0.5, t2 = (double(size) - start) / step - 0.5;
    auto clamp_index = [&](double t) { return t <= 0 ? int64_t(0) : t >= double(grid) ? grid : int64_t(t); };
    first = clamp_index(std::floor(std::min(t1, t2)) - 1);
    last = clamp_index(std::ceil(std::max(t1, t2)) + 2);
  }
  for (int64_t i = first; i < last; ++i) {
    double v = start + (double(i) + 0.5) * bin / double(grid);
    if (v < -1.0 || v > double(size)) continue;
    v = std::max(v, 0.0);
    int64_t low = static_cast<int64_t>(v), high = low + 1;
    if (low >= size - 1) {
      low = high = size - 1;
      v = double(low);
    }
    const double frac = v - double(low);
    taps.push_back({low, high, 1.0 - frac, frac});
  }
}

// One roi's bins in the input's coordinates.
struct RoiGeometry {
  double start_h, start_w, bin_h, bin_w;
  int64_t grid_h, grid_w;
};

// Throws Error for a roi no image could hold (non-finite after scaling, or a grid beyond
// kMaxAdaptiveGrid).
RoiGeometry roi_geometry(const RoiAlignAttrs& a, const double roi[4], int64_t r) {
  const double offset = a.half_pixel ? 0.5 : 0.0;
  const double start_w = roi[0] * a.spatial_scale - offset, start_h = roi[1] * a.spatial_scale - offset;
  double width = roi[2] * a.spatial_scale - offset - start_w, height = roi[3] * a.spatial_scale - offset - start_h;
  if (!(std::isfinite(start_w) && std::isfinite(start_h) && std::isfinite(width) && std::isfinite(height)))
    throw Error("RoiAlign: roi " + std::to_string(r) + " is not finite after spatial_scale");
  if (!a.half_pixel) {  // malformed rois become 1x1
    width = std::max(width, 1.0);
    height = std::max(height, 1.0);
  }
  RoiGeometry g{start_h, start_w, height / double(a.out_h), width / double(a.out_w), a.sampling_ratio,
                a.sampling_ratio};
  if (a.sampling_ratio == 0) {
    const double gh = std::ceil(height / double(a.out_h)), gw = std::ceil(width / double(a.out_w));
    if (!(gh <= kMaxAdaptiveGrid && gw <= kMaxAdaptiveGrid))
      throw Error("RoiAlign: roi " + std::to_string(r) + " is too large for an adaptive sampling grid (" +
                  std::to_string(height) + " x " + std::to_string(width) + " pixels after spatial_scale)");
    // An empty (or flipped) half_pixel roi has no samples: its bins are 0.
    g.grid_h = gh > 0 ? static_cast<int64_t>(gh) : 0;
    g.grid_w = gw > 0 ? static_cast<int64_t>(gw) : 0;
  }
  return g;
}

template <class T>
class RoiAlignKernel final : public OpKernel {
 public:
  explicit RoiAlignKernel(RoiAlignAttrs a) : a_(a) {}

  void run(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const int64_t n = x.shape()[0], channels = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    const int64_t num_rois = ctx.input(1).shape()[0];
    const T* rois = ctx.input(1).data_as<T>();
    const int64_t* batch = ctx.input(2).data_as<int64_t>();
    // Everything that can throw happens before the parallel split.
    std::vector<RoiGeometry> geometry(static_cast<size_t>(num_rois));
    for (int64_t r = 0; r < num_rois; ++r) {
      if (batch[r] < 0 || batch[r] >= n)
        throw Error("RoiAlign: batch_indices[" + std::to_string(r) + "] = " + std::to_string(batch[r]) +
                    " is outside [0, " + std::to_string(n) + ")");
      const double roi[4] = {double(rois[r * 4]), double(rois[r * 4 + 1]), double(rois[r * 4 + 2]),
                             double(rois[r * 4 + 3])};
      geometry[r] = roi_geometry(a_, roi, r);
    }
    const T* xd = x.data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t plane = a_.out_h * a_.out_w;
    parallel_ranges(ctx.pool, num_rois, 1, [&](int64_t begin, int64_t end) {
      std::vector<Tap> rows, cols;
      for (int64_t r = begin; r < end; ++r) {
        const RoiGeometry& g = geometry[r];
        const double count = std::max(double(g.grid_h) * double(g.grid_w), 1.0);
        for (int64_t ph = 0; ph < a_.out_h; ++ph) {
          bin_taps(g.start_h + double(ph) * g.bin_h, g.bin_h, g.grid_h, h, rows);
          for (int64_t pw = 0; pw < a_.out_w; ++pw) {
            bin_taps(g.start_w + double(pw) * g.bin_w, g.bin_w, g.grid_w, w, cols);
            // Points outside the image are zeros: in max mode they take part as 0.
            const bool has_outside = double(rows.size()) * double(cols.size()) < double(g.grid_h) * double(g.grid_w);
            for (int64_t ch = 0; ch < channels; ++ch) {
              const T* p = xd + (batch[r] * channels + ch) * h * w;
              y[(r * channels + ch) * plane + ph * a_.out_w + pw] = static_cast<T>(pool_bin(p, w, rows, cols, count, has_outside));
            }
          }
        }
      }
    });
  }

 private:
  double pool_bin(const T* p, int64_t w, const std::vector<Tap>& rows, const std::vector<Tap>& cols, double count,
                  bool has_outside) const {
    if (a_.mode == RoiPool::avg) {
      double sum = 0;
      for (const Tap& ty : rows)
        for (const Tap& tx : cols)
          sum += ty.w_low * tx.w_low * double(p[ty.low * w + tx.low]) +
                 ty.w_low * tx.w_high * double(p[ty.low * w + tx.high]) +
                 ty.w_high * tx.w_low * double(p[ty.high * w + tx.low]) +
                 ty.w_high * tx.w_high * double(p[ty.high * w + tx.high]);
      return sum / count;
    }
    bool any = has_outside;
    double best = 0;
    for (const Tap& ty : rows)
      for (const Tap& tx : cols) {
        const double v = std::max(std::max(ty.w_low * tx.w_low * double(p[ty.low * w + tx.low]),
                                           ty.w_low * tx.w_high * double(p[ty.low * w + tx.high])),
                                  std::max(ty.w_high * tx.w_low * double(p[ty.high * w + tx.low]),
                                           ty.w_high * tx.w_high * double(p[ty.high * w + tx.high])));
        best = any ? std::max(best, v) : v;
        any = true;
      }
    return best;  // 0 without samples, as the reference
  }

  RoiAlignAttrs a_;
};

void infer_roi_align(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  check_same_dtype(c, 1);
  c.check(c.input_dtype(2) == DType::s64,
          std::string("batch_indices (input 2) must be int64, got ") + dtype_name(c.input_dtype(2)));
  const Shape& x = c.input_shape(0);
  const Shape& rois = c.input_shape(1);
  const Shape& batch = c.input_shape(2);
  c.check(x.size() == 4, "X (input 0) must be [N, C, H, W], got " + shape_str(x));
  c.check(x[2] >= 1 && x[3] >= 1, "X (input 0) must have H, W >= 1, got " + shape_str(x));
  c.check(rois.size() == 2 && rois[1] == 4, "rois (input 1) must be [num_rois, 4], got " + shape_str(rois));
  c.check(batch == Shape{rois[0]}, "batch_indices (input 2) must be [num_rois] = " + shape_str(Shape{rois[0]}) +
                                       ", got " + shape_str(batch));
  const RoiAlignAttrs a = roi_align_attrs(c);
  c.set_output(0, c.input_dtype(0), Shape{rois[0], x[1], a.out_h, a.out_w});
}

std::unique_ptr<OpKernel> create_roi_align(const NodeContext& c) {
  const RoiAlignAttrs a = roi_align_attrs(c);
  return make_float_kernel(c.input_dtype(0), [&](auto tag) -> std::unique_ptr<OpKernel> {
    return std::make_unique<RoiAlignKernel<decltype(tag)>>(a);
  });
}

}  // namespace

void register_roi_align_ops(OpRegistry& r) { r.add(OpDef{"", "RoiAlign", infer_roi_align, create_roi_align}); }

}  // namespace octet::detail
