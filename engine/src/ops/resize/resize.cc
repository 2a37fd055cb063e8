// Resize (opset 11-18 form: X, roi, scales, sizes; axes and keep_aspect_ratio_policy);
// GridSample in grid_sample.cc.
//
// Modes nearest (round_prefer_floor/ceil, floor, ceil), linear and cubic (cubic_coeff_a,
// exclude_outside) over any axes; coordinate_transformation_mode half_pixel,
// half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn,
// tf_crop_and_resize (extrapolation_value). Follows the ONNX reference implementation.
//
// For each resized axis and output index, the input taps (index, weight) are precomputed.
// Nearest gathers every axis in one pass; linear and cubic resample one axis at a time,
// innermost axis first as the reference does.
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <vector>

#include "ops/op_util.h"
#include "ops/resize/resize.h"

namespace octet::detail {

namespace {

enum class ResizeMode { nearest, linear, cubic };
enum class CoordMode {
  half_pixel,
  half_pixel_symmetric,
  pytorch_half_pixel,
  align_corners,
  asymmetric,
  tf_half_pixel_for_nn,
  tf_crop_and_resize
};
enum class NearestMode { round_prefer_floor, round_prefer_ceil, floor, ceil };

struct ResizeParams {
  ResizeMode mode = ResizeMode::nearest;
  CoordMode coord = CoordMode::half_pixel;
  NearestMode nearest = NearestMode::round_prefer_floor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
  Shape in, out;
  std::vector<double> scales;              // per axis, as used by the coordinate transform
  std::vector<double> roi_start, roi_end;  // per axis (tf_crop_and_resize)
};

// Constant, non-empty optional input i, or null when absent or empty.
const Tensor* optional_const(const NodeContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i)) return nullptr;
  const Tensor* t = ctx.input_const(i);
  if (!t) {
    if (ctx.input_shape(i) == Shape{0}) return nullptr;
    ctx.fail(std::string(what) + " must be a constant (data-dependent shapes are not supported)");
  }
  return t->numel() == 0 ? nullptr : t;
}

ResizeParams resize_params(const NodeContext& ctx) {
  const Node& node = ctx.node();
  ResizeParams p;
  const DType dt = ctx.input_dtype(0);
  p.in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(p.in.size());
  ctx.check(rank >= 1, "X must have rank >= 1");

  const std::string mode = node.attr_s("mode", "nearest");
  if (mode == "nearest")
    p.mode = ResizeMode::nearest;
  else if (mode == "linear")
    p.mode = ResizeMode::linear;
  else if (mode == "cubic")
    p.mode = ResizeMode::cubic;
  else
    ctx.fail("unknown mode '" + mode + "'");
  if (p.mode == ResizeMode::nearest) {
    ctx.check(dt != DType::string && dt != DType::undefined,
              std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  } else {
    ctx.check(dt != DType::string && dt != DType::undefined && dt != DType::boolean &&
                  dt != DType::f16 && dt != DType::bf16,
              std::string("unsupported dtype ") + dtype_name(dt) + " for input 0 in mode " + mode);
  }

  const std::string coord = node.attr_s("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel")
    p.coord = CoordMode::half_pixel;
  else if (coord == "half_pixel_symmetric")
    p.coord = CoordMode::half_pixel_symmetric;
  else if (coord == "pytorch_half_pixel")
    p.coord = CoordMode::pytorch_half_pixel;
  else if (coord == "align_corners")
    p.coord = CoordMode::align_corners;
  else if (coord == "asymmetric")
    p.coord = CoordMode::asymmetric;
  else if (coord == "tf_half_pixel_for_nn")
    p.coord = CoordMode::tf_half_pixel_for_nn;
  else if (coord == "tf_crop_and_resize")
    p.coord = CoordMode::tf_crop_and_resize;
  else
    ctx.fail("unknown coordinate_transformation_mode '" + coord + "'");

  const std::string nearest = node.attr_s("nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor")
    p.nearest = NearestMode::round_prefer_floor;
  else if (nearest == "round_prefer_ceil")
    p.nearest = NearestMode::round_prefer_ceil;
  else if (nearest == "floor")
    p.nearest = NearestMode::floor;
  else if (nearest == "ceil")
    p.nearest = NearestMode::ceil;
  else
    ctx.fail("unknown nearest_mode '" + nearest + "'");

  p.cubic_a = node.attr_f("cubic_coeff_a", -0.75f);
  p.exclude_outside = node.attr_i("exclude_outside", 0) != 0;
  p.extrapolation = node.attr_f("extrapolation_value", 0.0f);
  ctx.check(node.attr_i("antialias", 0) == 0, "antialias is not supported");

  // The axes that scales / sizes / roi refer to (opset 18); all axes by default.
  std::vector<int64_t> axes;
  if (node.has_attr("axes")) {
    std::set<int64_t> seen;
    for (int64_t a : node.attr_ints("axes")) {
      a = normalize_axis(ctx, a, rank);
      ctx.check(seen.insert(a).second, "axes has a duplicate");
      axes.push_back(a);
    }
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  const size_t na = axes.size();

  const Tensor* scales = optional_const(ctx, 2, "scales");
  const Tensor* sizes = optional_const(ctx, 3, "sizes");
  ctx.check(!(scales && sizes), "only one of scales and sizes may be given");
  ctx.check(scales || sizes, "one of scales and sizes is required");

  p.out = p.in;
  p.scales.assign(static_cast<size_t>(rank), 1.0);
  if (scales) {
    std::vector<float> s = tensor_to_floats(*scales);
    ctx.check(s.size() == na,
              "scales has " + std::to_string(s.size()) + " values, expected " + std::to_string(na));
    for (size_t i = 0; i < na; ++i) {
      ctx.check(s[i] > 0 && std::isfinite(s[i]), "scales must be positive and finite");
      const double out = std::floor(double(s[i]) * double(p.in[axes[i]]));
      ctx.check(out < double(int64_t(1) << 40), "scale " + std::to_string(s[i]) + " is too large");
      p.scales[axes[i]] = s[i];
      p.out[axes[i]] = static_cast<int64_t>(out);
    }
  } else {
    ctx.check(sizes->dtype() == DType::s64, "sizes must be int64");
    std::vector<int64_t> s = tensor_to_int64s(*sizes);
    ctx.check(s.size() == na,
              "sizes has " + std::to_string(s.size()) + " values, expected " + std::to_string(na));
    for (int64_t v : s) ctx.check(v >= 0 && v < (int64_t(1) << 40), "sizes value out of range");
    const std::string policy = node.attr_s("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t i = 0; i < na; ++i) {
        p.out[axes[i]] = s[i];
        p.scales[axes[i]] = p.in[axes[i]] > 0 ? double(s[i]) / double(p.in[axes[i]]) : 1.0;
      }
    } else {
      ctx.check(policy == "not_larger" || policy == "not_smaller",
                "unknown keep_aspect_ratio_policy '" + policy + "'");
      // One scale for every listed axis: the largest that fits (or the smallest that covers).
      double scale = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
      for (size_t i = 0; i < na; ++i) {
        ctx.check(p.in[axes[i]] > 0, "cannot keep the aspect ratio of an empty axis");
        const double r = double(s[i]) / double(p.in[axes[i]]);
        scale = policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
      }
      for (size_t i = 0; i < na; ++i) {
        p.scales[axes[i]] = scale;
        p.out[axes[i]] = static_cast<int64_t>(std::floor(scale * double(p.in[axes[i]]) + 0.5));
      }
    }
  }
  shape_numel(p.out);
  for (int64_t a = 0; a < rank; ++a)
    ctx.check(p.in[a] > 0 || p.out[a] == 0, "cannot resize the empty axis " + std::to_string(a) +
                                                " to " + std::to_string(p.out[a]));

  p.roi_start.assign(static_cast<size_t>(rank), 0.0);
  p.roi_end.assign(static_cast<size_t>(rank), 1.0);
  if (p.coord == CoordMode::tf_crop_and_resize) {
    const Tensor* roi = optional_const(ctx, 1, "roi");
    ctx.check(roi != nullptr, "tf_crop_and_resize needs roi");
    std::vector<float> r = tensor_to_floats(*roi);
    ctx.check(r.size() == 2 * na, "roi has " + std::to_string(r.size()) + " values, expected " +
                                      std::to_string(2 * na));
    for (size_t i = 0; i < na; ++i) {
      p.roi_start[axes[i]] = r[i];
      p.roi_end[axes[i]] = r[na + i];
    }
  }
  return p;
}

void infer_resize(NodeContext& ctx) {
  ResizeParams p = resize_params(ctx);
  ctx.set_output(0, ctx.input_dtype(0), p.out);
}

// The input taps of one axis: for each output index x, `taps` (index, weight) pairs, or
// extrapolate[x] when the coordinate falls outside the input (tf_crop_and_resize).
struct AxisTaps {
  int taps = 1;
  std::vector<int64_t> index;  // out * taps, clamped into [0, in)
  std::vector<double> weight;  // out * taps
  std::vector<uint8_t> extrapolate;
  bool identity = true;  // every output reads exactly its own input index
};

// The input coordinate of output index x along an axis (ONNX reference formulas; the
// "resized length" is scale * in, as the reference computes it).
double original_coordinate(const ResizeParams& p, size_t axis, int64_t x) {
  const double in = double(p.in[axis]);
  const double scale = p.scales[axis];
  const double out_len = scale * in;
  const double out_int = double(p.out[axis]);
  switch (p.coord) {
    case CoordMode::half_pixel:
      return (x + 0.5) / scale - 0.5;
    case CoordMode::half_pixel_symmetric: {
      const double adjustment = out_int / out_len;
      const double offset = in / 2 * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case CoordMode::pytorch_half_pixel:
      return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CoordMode::align_corners:
      return out_len == 1 ? 0.0 : x * (in - 1) / (out_len - 1);
    case CoordMode::asymmetric:
      return x / scale;
    case CoordMode::tf_half_pixel_for_nn:
      return (x + 0.5) / scale;
    case CoordMode::tf_crop_and_resize: {
      const double s = p.roi_start[axis], e = p.roi_end[axis];
      if (out_len == 1) return (e - s) * (in - 1) / 2 + s * (in - 1);
      return x * (e - s) * (in - 1) / (out_len - 1) + s * (in - 1);
    }
  }
  return 0;
}

AxisTaps axis_taps(const ResizeParams& p, size_t axis) {
  AxisTaps t;
  const int64_t in = p.in[axis], out = p.out[axis];
  t.taps = p.mode == ResizeMode::nearest ? 1 : p.mode == ResizeMode::linear ? 2 : 4;
  t.index.resize(static_cast<size_t>(out * t.taps));
  t.weight.resize(t.index.size());
  t.extrapolate.assign(static_cast<size_t>(out), 0);
  t.identity = in == out;
  auto clamp_index = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), in - 1); };
  for (int64_t x = 0; x < out; ++x) {
    int64_t* idx = &t.index[x * t.taps];
    double* w = &t.weight[x * t.taps];
    const double xo = original_coordinate(p, axis, x);
    if (p.coord == CoordMode::tf_crop_and_resize && (xo < 0 || xo > double(in - 1))) {
      t.extrapolate[x] = 1;
      t.identity = false;
      std::fill(idx, idx + t.taps, 0);
      std::fill(w, w + t.taps, 0.0);
      continue;
    }
    const double fl = std::floor(xo);
    const double ratio = xo - fl;  // in [0, 1); 0 when xo is an integer
    const int64_t base = static_cast<int64_t>(fl);
    if (p.mode == ResizeMode::nearest) {
      bool up = false;
      if (ratio != 0) {
        switch (p.nearest) {
          case NearestMode::round_prefer_floor:
            up = ratio > 0.5;
            break;
          case NearestMode::round_prefer_ceil:
            up = ratio >= 0.5;
            break;
          case NearestMode::floor:
            up = false;
            break;
          case NearestMode::ceil:
            up = true;
            break;
        }
      }
      idx[0] = clamp_index(base + (up ? 1 : 0));
      w[0] = 1;
    } else if (p.mode == ResizeMode::linear) {
      idx[0] = clamp_index(base);
      idx[1] = clamp_index(base + 1);
      w[0] = 1 - ratio;
      w[1] = ratio;
    } else {
      const double A = p.cubic_a;
      // The cubic convolution kernel at distances 1 + r, r, 1 - r, 2 - r from the taps.
      auto near = [&](double d) { return ((A + 2) * d - (A + 3)) * d * d + 1; };
      auto far = [&](double d) { return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A; };
      double c[4] = {far(1 + ratio), near(ratio), near(1 - ratio), far(2 - ratio)};
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const int64_t i = base - 1 + k;
        if (p.exclude_outside && (i < 0 || i >= in)) c[k] = 0;
        sum += c[k];
      }
      for (int k = 0; k < 4; ++k) {
        idx[k] = clamp_index(base - 1 + k);
        w[k] = p.exclude_outside && sum != 0 ? c[k] / sum : c[k];
      }
    }
    // Identity when all weight sits on index x.
    for (int k = 0; k < t.taps; ++k)
      if (w[k] != 0 && (idx[k] != x || w[k] != 1)) t.identity = false;
  }
  return t;
}

template <class T>
T from_double(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    const double r = std::nearbyint(v);
    const double lo = double(std::numeric_limits<T>::lowest());
    const double hi = double(std::numeric_limits<T>::max());
    return static_cast<T>(r < lo ? lo : r > hi ? hi : r);
  }
}

class ResizeKernel : public OpKernel {
 public:
  explicit ResizeKernel(DType dtype, ResizeParams p) : dtype_(dtype), p_(std::move(p)) {
    for (size_t a = 0; a < p_.in.size(); ++a) taps_.push_back(axis_taps(p_, a));
  }

  void run(KernelContext& ctx) const override {
    if (ctx.output(0).numel() == 0) return;
    if (p_.mode == ResizeMode::nearest) {
      // Nearest copies elements: dispatch on the element size alone (f16/bf16 included).
      switch (dtype_size(dtype_)) {
        case 1:
          nearest<uint8_t>(ctx, bits_of<uint8_t>());
          break;
        case 2:
          nearest<uint16_t>(ctx, bits_of<uint16_t>());
          break;
        case 4:
          nearest<uint32_t>(ctx, bits_of<uint32_t>());
          break;
        case 8:
          nearest<uint64_t>(ctx, bits_of<uint64_t>());
          break;
        default:
          throw Error(std::string("Resize: unsupported dtype ") + dtype_name(dtype_));
      }
      return;
    }
    visit_numeric(
        dtype_,
        [&](auto tag) {
          using T = decltype(tag);
          if constexpr (!std::is_same_v<T, bool>) {
            using F = std::conditional_t<std::is_same_v<T, double>, double, float>;
            interpolate<T, F>(ctx);
          }
        },
        [&] { throw Error(std::string("Resize: unsupported dtype ") + dtype_name(dtype_)); });
  }

 private:
  // The extrapolation value in the output dtype, as raw bits of size sizeof(B).
  template <class B>
  B bits_of() const {
    B bits = 0;
    auto put = [&](auto v) {
      if constexpr (sizeof(v) == sizeof(B)) std::memcpy(&bits, &v, sizeof(v));
    };
    switch (dtype_) {
      case DType::f16:
        put(float_to_half(float(p_.extrapolation)));
        break;
      case DType::bf16:
        put(float_to_bf16(float(p_.extrapolation)));
        break;
      default:
        visit_numeric(
            dtype_,
            [&](auto tag) {
              using T = decltype(tag);
              if constexpr (sizeof(T) == sizeof(B)) put(from_double<T>(p_.extrapolation));
            },
            [] {});
    }
    return bits;
  }

  // Splits the rows of an output viewed as [rows, row_len] over the pool.
  template <class Fn>
  static void parallel_rows(kernels::ThreadPool* pool, int64_t rows, int64_t row_len, Fn&& fn) {
    if (pool && pool->size() > 1 && rows > 1 && rows * row_len >= (int64_t(1) << 15))
      pool->parallel_for(rows, fn);
    else
      fn(0, rows);
  }

  template <class B>
  void nearest(KernelContext& ctx, B extrap) const {
    const B* x = static_cast<const B*>(ctx.input(0).data());
    B* y = static_cast<B*>(ctx.output(0).data());
    const size_t rank = p_.in.size();
    const std::vector<int64_t> in_strides = strides_of(p_.in);
    // Source offset of each output index per axis; -1 marks extrapolation.
    std::vector<std::vector<int64_t>> offset(rank);
    for (size_t a = 0; a < rank; ++a) {
      offset[a].resize(static_cast<size_t>(p_.out[a]));
      for (int64_t i = 0; i < p_.out[a]; ++i)
        offset[a][i] = taps_[a].extrapolate[i] ? -1 : taps_[a].index[i] * in_strides[a];
    }
    const int64_t row_len = p_.out[rank - 1];
    const int64_t rows = shape_numel(p_.out) / row_len;
    const std::vector<int64_t>& last = offset[rank - 1];
    parallel_rows(ctx.pool, rows, row_len, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        int64_t rem = r, base = 0;
        bool outside = false;
        for (size_t a = rank - 1; a-- > 0;) {
          const int64_t i = rem % p_.out[a];
          rem /= p_.out[a];
          if (offset[a][i] < 0) outside = true;
          base += offset[a][i];
        }
        B* yr = y + r * row_len;
        if (outside) {
          std::fill(yr, yr + row_len, extrap);
          continue;
        }
        for (int64_t j = 0; j < row_len; ++j) yr[j] = last[j] < 0 ? extrap : x[base + last[j]];
      }
    });
  }

  // Linear / cubic: resample one axis at a time in F, innermost axis first.
  template <class T, class F>
  void interpolate(KernelContext& ctx) const {
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const size_t rank = p_.in.size();
    Shape cur = p_.in;
    std::vector<F> buf(static_cast<size_t>(shape_numel(cur)));
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<F>(x[i]);
    std::vector<F> next;
    for (size_t a = rank; a-- > 0;) {
      if (taps_[a].identity) continue;
      const AxisTaps& t = taps_[a];
      int64_t outer = 1, inner = 1;
      for (size_t d = 0; d < a; ++d) outer *= cur[d];
      for (size_t d = a + 1; d < rank; ++d) inner *= cur[d];
      const int64_t len_in = cur[a], len_out = p_.out[a];
      next.assign(static_cast<size_t>(outer * len_out * inner), F(0));
      const F extrap = static_cast<F>(p_.extrapolation);
      const F* src = buf.data();
      F* dst_all = next.data();
      parallel_rows(ctx.pool, outer * len_out, inner, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
          const int64_t o = row / len_out, xo = row % len_out;
          F* dst = dst_all + row * inner;
          if (t.extrapolate[xo]) {
            std::fill(dst, dst + inner, extrap);
            continue;
          }
          for (int k = 0; k < t.taps; ++k) {
            const F w = static_cast<F>(t.weight[xo * t.taps + k]);
            const F* s = src + (o * len_in + t.index[xo * t.taps + k]) * inner;
            for (int64_t i = 0; i < inner; ++i) dst[i] += w * s[i];
          }
        }
      });
      buf.swap(next);
      cur[a] = len_out;
    }
    for (size_t i = 0; i < buf.size(); ++i) y[i] = from_double<T>(static_cast<double>(buf[i]));
  }

  DType dtype_;
  ResizeParams p_;
  std::vector<AxisTaps> taps_;
};

std::unique_ptr<OpKernel> create_resize(const NodeContext& ctx) {
  return std::make_unique<ResizeKernel>(ctx.input_dtype(0), resize_params(ctx));
}

}  // namespace

void register_resize_ops(OpRegistry& r) {
  r.add(OpDef{"", "Resize", infer_resize, create_resize});
  register_grid_sample_ops(r);
}

}  // namespace octet::detail
