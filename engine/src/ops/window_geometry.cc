#include "ops/window_geometry.h"

#include <algorithm>

namespace octet::detail {

namespace {
constexpr int64_t kMaxAttrValue = int64_t(1) << 31;  // keeps every size product in int64
}

std::array<int64_t, 3> to_spatial3(const std::vector<int64_t>& v, int64_t fill) {
  std::array<int64_t, 3> a{fill, fill, fill};
  size_t off = 3 - v.size();
  for (size_t i = 0; i < v.size(); ++i) a[off + i] = v[i];
  return a;
}

std::vector<int64_t> spatial_attr(const NodeContext& ctx, const std::string& name, size_t rank,
                                  int64_t def, int64_t lo) {
  if (!ctx.node().has_attr(name)) return std::vector<int64_t>(rank, def);
  std::vector<int64_t> v = ctx.node().attr_ints(name);
  ctx.check(v.size() == rank, name + " has " + std::to_string(v.size()) + " values, expected " +
                                  std::to_string(rank));
  for (int64_t x : v)
    ctx.check(x >= lo && x < kMaxAttrValue,
              name + " value " + std::to_string(x) + " is out of range");
  return v;
}

WindowGeometry window_geometry(const NodeContext& ctx, const Shape& x,
                               const std::vector<int64_t>& kernel, bool ceil_mode,
                               bool allow_dilations) {
  ctx.check(x.size() >= 3, "input must have rank >= 3 (N, C, spatial...), got " + shape_str(x));
  const size_t rank = x.size() - 2;
  ctx.check(rank <= kMaxSpatialRank,
            "spatial rank " + std::to_string(rank) + " is not supported (at most 3)");
  ctx.check(kernel.size() == rank, "kernel has " + std::to_string(kernel.size()) +
                                       " dims, expected " + std::to_string(rank));
  for (int64_t k : kernel)
    ctx.check(k >= 1 && k < kMaxAttrValue, "kernel dim " + std::to_string(k) + " is out of range");

  std::vector<int64_t> strides = spatial_attr(ctx, "strides", rank, 1, 1);
  std::vector<int64_t> dilations = spatial_attr(ctx, "dilations", rank, 1, 1);
  if (!allow_dilations)
    for (int64_t d : dilations) ctx.check(d == 1, "dilations are not supported by this op");
  std::vector<int64_t> pads = spatial_attr(ctx, "pads", 2 * rank, 0, 0);
  std::string auto_pad = ctx.node().attr_s("auto_pad", "NOTSET");

  WindowGeometry g;
  g.spatial_rank = static_cast<int>(rank);
  for (size_t i = 0; i < rank; ++i) {
    const size_t a = 3 - rank + i;
    const int64_t in = x[2 + i];
    ctx.check(in >= 1, "spatial dim " + std::to_string(in) + " of the input must be >= 1");
    g.in[a] = in;
    g.kernel[a] = kernel[i];
    g.stride[a] = strides[i];
    g.dilation[a] = dilations[i];
    const int64_t span = (kernel[i] - 1) * dilations[i] + 1;  // extent of one window
    const int64_t s = strides[i];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + span - in);
      g.pad_begin[a] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[a] = total - g.pad_begin[a];
      g.out[a] = out;
      continue;
    }
    if (auto_pad == "VALID") {
      g.pad_begin[a] = g.pad_end[a] = 0;
    } else if (auto_pad == "NOTSET") {
      g.pad_begin[a] = pads[i];
      g.pad_end[a] = pads[rank + i];
    } else {
      ctx.fail("unknown auto_pad '" + auto_pad + "'");
    }
    const int64_t padded = in + g.pad_begin[a] + g.pad_end[a];
    ctx.check(padded >= span, "window of extent " + std::to_string(span) +
                                  " is larger than the padded input " + std::to_string(padded));
    int64_t out = (ceil_mode ? (padded - span + s - 1) / s : (padded - span) / s) + 1;
    // A window may not start inside the end padding (PyTorch / ONNX Runtime rule).
    if (ceil_mode && (out - 1) * s >= in + g.pad_begin[a]) --out;
    g.out[a] = out;
  }
  return g;
}

bool ConvShape::pointwise() const {
  const WindowGeometry& g = win;
  return g.kernel_size() == 1 && g.stride == std::array<int64_t, 3>{1, 1, 1} &&
         g.pad_begin == std::array<int64_t, 3>{0, 0, 0} && g.pad_end == std::array<int64_t, 3>{0, 0, 0};
}

Shape ConvShape::out_shape() const {
  Shape y{batch, out_channels};
  for (int64_t d : win.out_dims()) y.push_back(d);
  return y;
}

ConvShape conv_shape(const NodeContext& ctx, const Shape& x, const Shape& w) {
  ctx.check(x.size() >= 3 && x.size() <= 5, "expected a 1-D, 2-D or 3-D convolution input (rank 3 to 5), got X " +
                                                  shape_str(x));
  ctx.check(w.size() == x.size(), "W rank must equal X rank, got W " + shape_str(w));
  ConvShape s;
  s.batch = x[0];
  s.channels = x[1];
  s.out_channels = w[0];
  s.group = ctx.node().attr_i("group", 1);
  ctx.check(s.group >= 1, "group must be >= 1");
  ctx.check(s.channels % s.group == 0, "input channels " + std::to_string(s.channels) +
                                           " are not divisible by group " + std::to_string(s.group));
  ctx.check(w[1] * s.group == s.channels, "W " + shape_str(w) + " does not match " + std::to_string(s.channels) +
                                              " input channels in " + std::to_string(s.group) + " groups");
  ctx.check(s.out_channels >= 1 && s.out_channels % s.group == 0,
            "output channels " + std::to_string(s.out_channels) + " are not divisible by group");
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (ctx.node().has_attr("kernel_shape"))
    ctx.check(ctx.node().attr_ints("kernel_shape") == kernel, "kernel_shape does not match W " + shape_str(w));
  s.win = window_geometry(ctx, x, kernel, /*ceil_mode=*/false);
  return s;
}

Shape nchw_of_nhwc_input(const NodeContext& ctx, const char* op) {
  const Shape& x = ctx.input_shape(0);
  ctx.check(x.size() == 4, std::string(op) + " needs a rank-4 [N, H, W, C] input, got " + shape_str(x));
  return {x[0], x[3], x[1], x[2]};
}

kernels::NhwcWindow nhwc_window(const WindowGeometry& g, int64_t channels) {
  kernels::NhwcWindow w;
  w.in_h = g.in[1];
  w.in_w = g.in[2];
  w.channels = channels;
  w.out_h = g.out[1];
  w.out_w = g.out[2];
  w.kernel_h = g.kernel[1];
  w.kernel_w = g.kernel[2];
  w.stride_h = g.stride[1];
  w.stride_w = g.stride[2];
  w.dilation_h = g.dilation[1];
  w.dilation_w = g.dilation[2];
  w.pad_top = g.pad_begin[1];
  w.pad_left = g.pad_begin[2];
  return w;
}

void for_output_rows(kernels::ThreadPool* pool, int64_t batch, int64_t out_h, int64_t work,
                     const std::function<void(int64_t n, int64_t oh0, int64_t oh1)>& fn) {
  const int64_t total = batch * out_h;
  auto rows = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {
      const int64_t n = r / out_h, oh0 = r % out_h, oh1 = std::min(out_h, oh0 + (r1 - r));
      fn(n, oh0, oh1);
      r += oh1 - oh0;
    }
  };
  if (pool && pool->size() > 1 && total > 1 && work >= (int64_t(1) << 14)) pool->parallel_for(total, rows);
  else rows(0, total);
}

}  // namespace octet::detail
