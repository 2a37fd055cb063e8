// The FP32 depthwise plane kernel, written once and compiled by each ISA's translation unit
// (ref: baseline SSE2; avx2/ and avx512/: with their flags), where the compiler vectorises
// the interior loop along the output columns. Everything has internal linkage and uses no
// std:: inline code, so no AVX instruction can reach a baseline caller through the linker.
//
// Interior rows (every tap row inside the input) of 3x3 and 5x5 windows, stride 1 or 2,
// dilation 1 run an unrolled loop that keeps each output in a register over its taps; the
// other rows (and other windows) accumulate into the output row tap by tap, each tap a
// vectorised pass over the columns it covers; the few border columns of interior rows are
// computed one by one. Small planes at stride 1 (rows too short for the vector loops) are
// copied into a zero-padded buffer where every tap is one flat offset over the whole plane.
// All add the taps of an output element in the same order (kh, then kw,
// skipping taps in the padding), starting from bias + residual, so the split never changes
// a result.
#pragma once

#include <cstdint>

#include "octet/kernels/dwconv.h"

namespace octet::kernels {
namespace {

inline int64_t dw_min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t dw_max(int64_t a, int64_t b) { return a > b ? a : b; }

// ceil(a / b) for b > 0 and any sign of a.
inline int64_t dw_ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
// floor(a / b) for b > 0 and any sign of a.
inline int64_t dw_floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// One output element with bounds checks.
inline float dw_point(const DwConvF32Shape& s, const float* x, const float* w, float init,
                      int64_t oh, int64_t ow) {
  float acc = init;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    const float* xr = x + ih * s.in_w;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      acc += w[kh * s.kernel_w + kw] * xr[iw];
    }
  }
  return acc;
}

// Output columns [o_lo, o_hi) of one row whose taps all lie inside the input: xr points at
// the input row of kh = 0, at the column of (ow = 0, kw = 0) (may be negative: only columns
// of the interior are read).
template <int KH, int KW, int S>
void dw_interior(const float* __restrict xr, int64_t in_w, const float* __restrict w, float bias,
                 const float* residual, float* y, int64_t o_lo, int64_t o_hi) {
  float wv[KH * KW];
  for (int i = 0; i < KH * KW; ++i) wv[i] = w[i];
  if (residual) {
    for (int64_t o = o_lo; o < o_hi; ++o) {
      float acc = bias + residual[o];
      const float* xo = xr + o * S;
      for (int kh = 0; kh < KH; ++kh)
        for (int kw = 0; kw < KW; ++kw) acc += wv[kh * KW + kw] * xo[kh * in_w + kw];
      y[o] = acc;
    }
  } else {
    for (int64_t o = o_lo; o < o_hi; ++o) {
      float acc = bias;
      const float* xo = xr + o * S;
      for (int kh = 0; kh < KH; ++kh)
        for (int kw = 0; kw < KW; ++kw) acc += wv[kh * KW + kw] * xo[kh * in_w + kw];
      y[o] = acc;
    }
  }
}

using DwInteriorFn = void (*)(const float*, int64_t, const float*, float, const float*, float*,
                              int64_t, int64_t);

DwInteriorFn dw_interior_for(const DwConvF32Shape& s) {
  if (s.dilation_h != 1 || s.dilation_w != 1 || s.kernel_h != s.kernel_w) return nullptr;
  if (s.kernel_h == 3 && s.stride_w == 1) return dw_interior<3, 3, 1>;
  if (s.kernel_h == 3 && s.stride_w == 2) return dw_interior<3, 3, 2>;
  if (s.kernel_h == 5 && s.stride_w == 1) return dw_interior<5, 5, 1>;
  if (s.kernel_h == 5 && s.stride_w == 2) return dw_interior<5, 5, 2>;
  return nullptr;
}

// One output row, tap by tap: yr[ow] = bias + residual[ow] + taps in order.
void dw_row_by_taps(const DwConvF32Shape& s, const float* x, const float* w, float bias,
                    const float* rr, int64_t oh, float* __restrict yr) {
  if (rr) {
    for (int64_t ow = 0; ow < s.out_w; ++ow) yr[ow] = bias + rr[ow];
  } else {
    for (int64_t ow = 0; ow < s.out_w; ++ow) yr[ow] = bias;
  }
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      // Columns whose input column ow * sw + off lies inside [0, in_w).
      const int64_t off = kw * s.dilation_w - s.pad_left;
      const int64_t lo = dw_min(dw_max(dw_ceil_div(-off, s.stride_w), 0), s.out_w);
      const int64_t hi = dw_min(dw_max(dw_floor_div(s.in_w - 1 - off, s.stride_w) + 1, lo), s.out_w);
      const float wv = w[kh * s.kernel_w + kw];
      const float* __restrict xr = x + ih * s.in_w + off;  // + ow * sw: inside the row
      if (s.stride_w == 1) {
        for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow];
      } else if (s.stride_w == 2) {
        for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[2 * ow];
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow * s.stride_w];
      }
    }
  }
}

// The activation over one row, in a form that maps onto max/min instructions.
void dw_activate(float* __restrict yr, int64_t n, Activation act, float clip_lo, float clip_hi) {
  if (act == Activation::relu) {
    for (int64_t i = 0; i < n; ++i) yr[i] = 0.0f > yr[i] ? 0.0f : yr[i];
  } else if (act == Activation::clip) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = clip_lo > yr[i] ? clip_lo : yr[i];
      yr[i] = clip_hi < v ? clip_hi : v;
    }
  } else if (act == Activation::hardswish) {
    for (int64_t i = 0; i < n; ++i) yr[i] = hardswish(yr[i]);
  }
}

// Small planes: padded width and height at most kSmallSide.
constexpr int64_t kSmallSide = 40;

bool dw_small_plane(const DwConvF32Shape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 && s.dilation_w == 1 &&
         s.out_w < 32 && s.out_w + s.kernel_w - 1 <= kSmallSide &&
         s.out_h + s.kernel_h - 1 <= kSmallSide && s.kernel_w <= 8;
}

// Stride 1, dilation 1, small plane: the input padded to Hp x Wp (Hp = out_h + kh - 1,
// Wp = out_w + kw - 1) so output (oh, ow) at flat p = oh * Wp + ow reads tap (kh, kw) at
// p + kh * Wp + kw; columns ow >= out_w of the flat rows are computed and dropped. Taps in
// the padding add w * 0, which leaves every sum unchanged.
void dw_plane_small(const DwConvF32Shape& s, const float* x, const float* w, float bias,
                    const float* residual, Activation act, float clip_lo, float clip_hi,
                    float* y) {
  const int64_t Wp = s.out_w + s.kernel_w - 1, Hp = s.out_h + s.kernel_h - 1;
  float xp[kSmallSide * kSmallSide + 8];
  float acc[kSmallSide * kSmallSide];
  for (int64_t i = 0; i < Hp * Wp + 8; ++i) xp[i] = 0.0f;
  // Input rows and columns that land inside the padded plane.
  for (int64_t r = 0; r < s.in_h; ++r) {
    const int64_t pr = r + s.pad_top;
    if (pr < 0 || pr >= Hp) continue;
    for (int64_t c = 0; c < s.in_w; ++c) {
      const int64_t pc = c + s.pad_left;
      if (pc >= 0 && pc < Wp) xp[pr * Wp + pc] = x[r * s.in_w + c];
    }
  }
  const int64_t n = s.out_h * Wp;
  for (int64_t oh = 0; oh < s.out_h; ++oh)
    for (int64_t ow = 0; ow < Wp; ++ow)
      acc[oh * Wp + ow] = ow < s.out_w ? bias + (residual ? residual[oh * s.out_w + ow] : 0.0f) : 0.0f;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh)
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const float wv = w[kh * s.kernel_w + kw];
      const float* __restrict src = xp + kh * Wp + kw;
      float* __restrict dst = acc;
      for (int64_t p = 0; p < n; ++p) dst[p] += wv * src[p];
    }
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    float* yr = y + oh * s.out_w;
    const float* ar = acc + oh * Wp;
    for (int64_t ow = 0; ow < s.out_w; ++ow) yr[ow] = ar[ow];
    dw_activate(yr, s.out_w, act, clip_lo, clip_hi);
  }
}

void dw_plane(const DwConvF32Shape& s, const float* x, const float* w, float bias,
              const float* residual, Activation act, float clip_lo, float clip_hi, float* y) {
  if (dw_small_plane(s)) {
    dw_plane_small(s, x, w, bias, residual, act, clip_lo, clip_hi, y);
    return;
  }
  const DwInteriorFn interior = dw_interior_for(s);
  // Columns whose kw taps are all inside: ow * sw - pl >= 0 and
  // ow * sw - pl + (kw - 1) * dw <= in_w - 1.
  int64_t c_lo = dw_ceil_div(s.pad_left, s.stride_w);
  int64_t c_hi = dw_floor_div(s.in_w - 1 - (s.kernel_w - 1) * s.dilation_w + s.pad_left,
                              s.stride_w) + 1;
  c_lo = dw_min(dw_max(c_lo, 0), s.out_w);
  c_hi = dw_min(dw_max(c_hi, c_lo), s.out_w);
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    float* yr = y + oh * s.out_w;
    const float* rr = residual ? residual + oh * s.out_w : nullptr;
    const int64_t ih0 = oh * s.stride_h - s.pad_top;
    const bool rows_inside =
        ih0 >= 0 && ih0 + (s.kernel_h - 1) * s.dilation_h <= s.in_h - 1;
    if (interior && rows_inside && c_hi > c_lo) {
      for (int64_t ow = 0; ow < c_lo; ++ow)
        yr[ow] = dw_point(s, x, w, bias + (rr ? rr[ow] : 0.0f), oh, ow);
      interior(x + ih0 * s.in_w - s.pad_left, s.in_w, w, bias, rr, yr, c_lo, c_hi);
      for (int64_t ow = c_hi; ow < s.out_w; ++ow)
        yr[ow] = dw_point(s, x, w, bias + (rr ? rr[ow] : 0.0f), oh, ow);
    } else {
      dw_row_by_taps(s, x, w, bias, rr, oh, yr);
    }
    dw_activate(yr, s.out_w, act, clip_lo, clip_hi);
  }
}

bool dw_accepts_any(const DwConvF32Shape&) { return true; }

}  // namespace
}  // namespace octet::kernels
