// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: output sizes
// and resolved pads from kernel_shape, strides, dilations, pads, auto_pad and ceil_mode.
//
// Spatial dims are always held as three (D, H, W): 1-D and 2-D windows get leading size-1
// dims (kernel 1, stride 1, pad 0), so a single 3-D loop nest serves every spatial rank.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "octet/kernels/kernel_types.h"
#include "octet/kernels/thread_pool.h"
#include "ops/op_registry.h"

namespace octet::detail {

constexpr int kMaxSpatialRank = 3;

struct WindowGeometry {
  int spatial_rank = 0;  // 1, 2 or 3, as in the model
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, dilation{1, 1, 1};
  std::array<int64_t, 3> pad_begin{0, 0, 0}, pad_end{0, 0, 0};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  // The output spatial dims in the model's rank.
  std::vector<int64_t> out_dims() const {
    return std::vector<int64_t>(out.begin() + (3 - spatial_rank), out.end());
  }
};

// Places a per-spatial-dim attribute (rank entries) into the last entries of a 3-array whose
// leading entries keep `fill`.
std::array<int64_t, 3> to_spatial3(const std::vector<int64_t>& v, int64_t fill);

// Reads strides, dilations, pads and auto_pad of the node (kernel given by the caller, from
// kernel_shape or the weight) and computes the output dims for input x (N, C, spatial...).
// ceil_mode rounds the output size up (pooling); a window starting in the end padding is
// dropped, as in PyTorch and ONNX Runtime. Fails through ctx on any invalid attribute.
WindowGeometry window_geometry(const NodeContext& ctx, const Shape& x,
                               const std::vector<int64_t>& kernel, bool ceil_mode,
                               bool allow_dilations = true);

// Reads an ints attribute that must hold exactly `rank` values (or be absent: `def` each),
// each within [lo, 2^31).
std::vector<int64_t> spatial_attr(const NodeContext& ctx, const std::string& name, size_t rank,
                                  int64_t def, int64_t lo);

// The shape of a convolution, checked once here for every convolution op (Conv, QLinearConv,
// ConvInteger, octet.ConvNhwc, octet.QLinearConvNhwc): X [N, C, spatial...] as channels-first
// (a channels-last op passes the shape its input stands for), W [M, C / group, kernel...].
struct ConvShape {
  int64_t batch = 0, channels = 0, out_channels = 0, group = 1;
  WindowGeometry win;

  int64_t in_per_group() const { return channels / group; }
  int64_t out_per_group() const { return out_channels / group; }
  int64_t k_size() const { return in_per_group() * win.kernel_size(); }  // GEMM K of one group
  bool depthwise() const { return in_per_group() == 1; }
  // One output channel per input channel: depthwise without a channel multiplier.
  bool depthwise_one_to_one() const { return depthwise() && out_channels == channels; }
  bool pointwise() const;  // 1x1, stride 1, no padding: each output pixel is its input pixel
  Shape out_shape() const;  // [N, M, spatial...]
};

// Fails through ctx unless X (rank 3 to 5), W and the node's group and kernel_shape agree;
// then reads the window's attributes (window_geometry).
ConvShape conv_shape(const NodeContext& ctx, const Shape& x, const Shape& w);

// The [N, C, H, W] shape that the [N, H, W, C] input 0 of a channels-last op (named `op` in
// the message) stands for; fails unless the input has rank 4.
Shape nchw_of_nhwc_input(const NodeContext& ctx, const char* op);

// The channels-last depthwise kernels' window for a 2-D geometry and channel count.
kernels::NhwcWindow nhwc_window(const WindowGeometry& g, int64_t channels);

// dst[0, n) = src[0, n) for the runs of an im2col gather. Runs of up to 128 bytes (a few
// channels, as in a network's first conv: 7 taps x 3 channels = 21 bytes) are copied by
// fixed-size pieces, the last one overlapping the one before, which compile to a few
// unaligned moves; a call to memmove (or a byte loop) costs several times more.
inline void copy_bytes_short(const uint8_t* src, size_t n, uint8_t* dst) {
  if (n >= 16) {
    size_t i = 0;
    for (; i + 16 < n; i += 16) std::memcpy(dst + i, src + i, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

template <class T>
inline void copy_run(const T* src, size_t n, T* dst) {
  static_assert(std::is_trivially_copyable<T>::value, "byte copies");
  const size_t bytes = n * sizeof(T);
  if (bytes <= 128) copy_bytes_short(reinterpret_cast<const uint8_t*>(src), bytes, reinterpret_cast<uint8_t*>(dst));
  else std::memcpy(dst, src, bytes);
}

// `count` runs of n bytes, run i from src + i * src_step to dst + i * dst_step, all with the
// same piece size (chosen once, since every run has the same length): a tight loop of
// unaligned moves, the last piece of a run overlapping the one before.
template <size_t Piece>
void copy_runs_by(const uint8_t* src, ptrdiff_t src_step, uint8_t* dst, ptrdiff_t dst_step, int64_t count,
                  size_t n) {
  for (int64_t i = 0; i < count; ++i, src += src_step, dst += dst_step) {
    for (size_t j = 0; j + Piece < n; j += Piece) std::memcpy(dst + j, src + j, Piece);
    std::memcpy(dst + n - Piece, src + n - Piece, Piece);
  }
}

inline void copy_runs(const uint8_t* src, ptrdiff_t src_step, uint8_t* dst, ptrdiff_t dst_step, int64_t count,
                      size_t n) {
  if (n >= 512) {
    for (int64_t i = 0; i < count; ++i) std::memcpy(dst + i * dst_step, src + i * src_step, n);
  } else if (n >= 32) {
    copy_runs_by<32>(src, src_step, dst, dst_step, count, n);
  } else if (n >= 16) {
    copy_runs_by<16>(src, src_step, dst, dst_step, count, n);
  } else if (n >= 8) {
    copy_runs_by<8>(src, src_step, dst, dst_step, count, n);
  } else if (n >= 4) {
    copy_runs_by<4>(src, src_step, dst, dst_step, count, n);
  } else {
    for (int64_t i = 0; i < count; ++i)
      for (size_t j = 0; j < n; ++j) dst[i * dst_step + j] = src[i * src_step + j];
  }
}

// Rows [p0, p1) of the im2col matrix of one channels-last image x ([in pixels][channels]),
// for the group's channels [c0, c0 + cg): col[p - p0][(kd, kh, kw, c)] (rows of
// kernel_size * cg), `pad` where a tap falls outside the image. Works a segment of one output
// row at a time and one kernel row (kd, kh) at a time over its pixels, so that the pixels
// whose taps are all inside the image (one contiguous run each when cg == channels) are
// copied in one tight strided loop; the edges go tap by tap.
template <class T>
void im2col_nhwc_rows(const WindowGeometry& g, const T* x, int64_t channels, int64_t c0, int64_t cg, int64_t p0,
                      int64_t p1, T pad, T* col) {
  static_assert(std::is_trivially_copyable<T>::value, "byte copies");
  // The geometry in locals: stores through T* (bytes) may alias anything, so fields read
  // through `g` would be reloaded after every copy.
  const int64_t in_d = g.in[0], in_h = g.in[1], in_w = g.in[2], out_h = g.out[1], out_w = g.out[2];
  const int64_t k_d = g.kernel[0], k_h = g.kernel[1], k_w = g.kernel[2];
  const int64_t s_d = g.stride[0], s_h = g.stride[1], s_w = g.stride[2];
  const int64_t d_d = g.dilation[0], d_h = g.dilation[1], d_w = g.dilation[2];
  const int64_t pb_d = g.pad_begin[0], pb_h = g.pad_begin[1], pb_w = g.pad_begin[2];
  const size_t run = static_cast<size_t>(cg), row_run = run * static_cast<size_t>(k_w);
  const int64_t row_elems = k_d * k_h * k_w * cg;
  // Output columns [ow_lo, ow_hi) have every tap of a kernel row inside the image, and those
  // taps are one run of row_run elements when the group is all the channels and d_w == 1.
  int64_t ow_lo = out_w, ow_hi = out_w;
  if (cg == channels && d_w == 1) {
    ow_lo = std::min(out_w, (pb_w + s_w - 1) / s_w);
    const int64_t last = in_w - k_w + pb_w;  // the largest ow * s_w that fits
    ow_hi = last < 0 ? ow_lo : std::max(ow_lo, std::min(out_w, last / s_w + 1));
  }
  // One kernel row of taps of output column ow, tap by tap.
  auto taps_checked = [&](const T* row, int64_t ow, T* dst) {
    const int64_t iw0 = ow * s_w - pb_w;
    for (int64_t kw = 0; kw < k_w; ++kw, dst += run) {
      const int64_t iw = iw0 + kw * d_w;
      if (iw < 0 || iw >= in_w) std::fill(dst, dst + run, pad);
      else copy_run(row + iw * channels, run, dst);
    }
  };
  // The output coordinates step through the pixels (no division per pixel).
  int64_t od = p0 / (out_h * out_w), oh = p0 / out_w % out_h, ow = p0 % out_w;
  for (int64_t p = p0; p < p1;) {
    const int64_t n = std::min(p1 - p, out_w - ow);  // pixels left in this output row
    T* const seg = col + (p - p0) * row_elems;
    const int64_t a = std::min(std::max(ow_lo, ow), ow + n), b = std::min(std::max(ow_hi, a), ow + n);
    int64_t off = 0;  // of this kernel row inside a pixel's row
    for (int64_t kd = 0; kd < k_d; ++kd) {
      const int64_t id = od * s_d - pb_d + kd * d_d;
      for (int64_t kh = 0; kh < k_h; ++kh, off += static_cast<int64_t>(row_run)) {
        const int64_t ih = oh * s_h - pb_h + kh * d_h;
        if (id < 0 || id >= in_d || ih < 0 || ih >= in_h) {
          for (int64_t i = 0; i < n; ++i) std::fill_n(seg + i * row_elems + off, row_run, pad);
          continue;
        }
        const T* row = x + ((id * in_h + ih) * in_w) * channels + c0;
        for (int64_t q = ow; q < a; ++q) taps_checked(row, q, seg + (q - ow) * row_elems + off);
        if (b > a)
          copy_runs(reinterpret_cast<const uint8_t*>(row + (a * s_w - pb_w) * channels),
                    static_cast<ptrdiff_t>(s_w * channels * sizeof(T)),
                    reinterpret_cast<uint8_t*>(seg + (a - ow) * row_elems + off),
                    static_cast<ptrdiff_t>(row_elems * sizeof(T)), b - a, row_run * sizeof(T));
        for (int64_t q = b; q < ow + n; ++q) taps_checked(row, q, seg + (q - ow) * row_elems + off);
      }
    }
    p += n;
    ow += n;
    if (ow == out_w) {
      ow = 0;
      if (++oh == out_h) {
        oh = 0;
        ++od;
      }
    }
  }
}

// The padded image an implicit-GEMM conv (2-D, channels-last, dilation 1 along W) reads in
// place: rows and columns the windows reach, the input shifted by the begin pads, `fill`
// (zero or the zero point) outside it. Output pixel (oh, ow), kernel row kh starts at
//   pixel ((oh * stride_h + kh * dilation_h) * width + ow * stride_w) of the padded image.
struct PaddedImage {
  int64_t height = 0, width = 0, top = 0, left = 0;
  explicit PaddedImage(const WindowGeometry& g)
      : height((g.out[1] - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1),
        width((g.out[2] - 1) * g.stride[2] + g.kernel[2]),
        top(g.pad_begin[1]),
        left(g.pad_begin[2]) {}

  // Writes rows [r0, r1) of the padded copy of x ([in_h, in_w, channels]) to `padded`.
  template <typename T>
  void fill_rows(const T* x, int64_t in_h, int64_t in_w, int64_t channels, T fill, T* padded, int64_t r0,
                 int64_t r1) const {
    const int64_t x0 = std::min(width, left), x1 = std::max(x0, std::min(width, left + in_w));  // image columns
    for (int64_t r = r0; r < r1; ++r) {
      T* dst = padded + r * width * channels;
      const int64_t iy = r - top;
      if (iy < 0 || iy >= in_h) {
        std::fill_n(dst, width * channels, fill);
        continue;
      }
      std::fill_n(dst, x0 * channels, fill);
      if (x1 > x0)
        std::memcpy(dst + x0 * channels, x + (iy * in_w + x0 - left) * channels,
                    static_cast<size_t>((x1 - x0) * channels) * sizeof(T));
      std::fill_n(dst + x1 * channels, (width - x1) * channels, fill);
    }
  }
};

// fn(n, oh0, oh1) over the output rows [0, out_h) of each of `batch` images, the rows of all
// images split over the pool as one range when the work (`work` elements or so) pays for it;
// a call never spans two images.
void for_output_rows(kernels::ThreadPool* pool, int64_t batch, int64_t out_h, int64_t work,
                     const std::function<void(int64_t n, int64_t oh0, int64_t oh1)>& fn);

// Output pixels cut into tasks for the pool: whole granules of pixels (the GEMM's row tile, or
// 16 for the byte transposes), a multiple of the thread count with at most one granule between
// the largest and smallest task, so the threads finish together, and about `block_bytes` of
// im2col / output rows per task (width: bytes per pixel row). Shared by the INT8 and FP32 convs.
struct PixelTasks {
  int64_t count = 0, max_rows = 0;
  PixelTasks(int64_t pixels, int64_t width, int64_t threads, int64_t granule, int64_t block_bytes)
      : pixels_(pixels), granule_(granule), granules_((pixels + granule - 1) / granule) {
    const int64_t per_thread = std::max<int64_t>(1, (pixels * width + threads * block_bytes - 1) / (threads * block_bytes));
    count = std::max<int64_t>(1, std::min(granules_, threads * per_thread));
    max_rows = (granules_ + count - 1) / count * granule_;
  }
  // Pixels [p0, p1) of task t.
  void rows(int64_t t, int64_t* p0, int64_t* p1) const {
    int64_t b, e;
    kernels::split_range(granules_, static_cast<int>(count), static_cast<int>(t), &b, &e);
    *p0 = b * granule_;
    *p1 = std::min(pixels_, e * granule_);
  }

 private:
  int64_t pixels_, granule_, granules_;
};

}  // namespace octet::detail
