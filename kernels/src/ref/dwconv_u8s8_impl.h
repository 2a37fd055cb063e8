// The portable depthwise INT8 plane kernel (dwconv_u8s8.h), compiled in the ref and avx2
// folders with their flags (and the AVX-512 build's fallback for kernels over 64 taps): the
// inner loops are contiguous int32 multiply-adds and a float epilogue without additions
// (nothing for FMA contraction to change), so every build computes the same bits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "octet/kernels/dwconv_u8s8.h"

namespace octet::kernels::detail {

// Column phase r (in_h rows of `pitch` bytes) gets x[y][r], x[y][r + sw], ...
inline void split_phases(const DwConvU8S8Plane& p, int64_t pitch, uint8_t* phases) {
  const int64_t sw = p.stride_w;
  if (sw == 2) {
    // The common case with a constant stride, which the compiler turns into shuffles.
    for (int64_t y = 0; y < p.in_h; ++y) {
      const uint8_t* __restrict row = p.in + y * p.in_w;
      uint8_t* __restrict even = phases + y * pitch;
      uint8_t* __restrict odd = phases + (p.in_h + y) * pitch;
      const int64_t pairs = p.in_w / 2;
      for (int64_t i = 0; i < pairs; ++i) {
        even[i] = row[2 * i];
        odd[i] = row[2 * i + 1];
      }
      if (p.in_w % 2) even[pairs] = row[p.in_w - 1];
    }
  } else {
    for (int64_t r = 0; r < sw; ++r)
      for (int64_t y = 0; y < p.in_h; ++y) {
        const uint8_t* row = p.in + y * p.in_w;
        uint8_t* dst = phases + (r * p.in_h + y) * pitch;
        for (int64_t i = 0; r + i * sw < p.in_w; ++i) dst[i] = row[r + i * sw];
      }
  }
}

// The accumulators of the whole plane are one flat run of int32 with a row pitch of
// stride_h * (input pitch): every tap is then one long contiguous multiply-add (the columns past
// out_w are computed and dropped), instead of many short rows.
inline void dwconv_u8s8_plane_impl(const DwConvU8S8Plane& p, void* scratch) {
  const int64_t sw = p.stride_w;
  const int64_t pitch = (p.in_w + sw - 1) / sw;  // bytes per row of one column phase
  const int64_t row_step = p.stride_h * pitch;
  const int64_t len = (p.out_h - 1) * row_step + p.out_w;
  int32_t* __restrict acc = static_cast<int32_t*>(scratch);
  const uint8_t* base = p.in;
  if (sw > 1) {
    // Column phase r (rows of `pitch` bytes, in_h of them) holds x[y][r], x[y][r + sw], ...
    uint8_t* phases = reinterpret_cast<uint8_t*>(acc + len);
    split_phases(p, pitch, phases);
    base = phases;
  }
  // Chunks small enough to stay in L1 across all the taps and the epilogue, which also runs
  // over the flat run (rows of a few pixels would leave the vector loops to their scalar tails).
  uint8_t* __restrict flat = reinterpret_cast<uint8_t*>(acc + len) + (sw > 1 ? sw * p.in_h * pitch : 0);
  const float lo = static_cast<float>(p.q_lo - p.zero_point), hi = static_cast<float>(p.q_hi - p.zero_point);
  const float scale = p.scale;
  const int32_t zp = p.zero_point, q_lo = p.q_lo, q_hi = p.q_hi;
  constexpr int64_t kChunk = 512;
  for (int64_t c0 = 0; c0 < len; c0 += kChunk) {
    const int64_t n = std::min(kChunk, len - c0);
    int32_t* __restrict a = acc + c0;
    for (int64_t i = 0; i < n; ++i) a[i] = p.comp;
    for (int64_t kh = 0; kh < p.kernel_h; ++kh)
      for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
        const int64_t t = kw * p.dilation_w;  // column offset in the input
        const uint8_t* __restrict src = base + ((t % sw) * p.in_h + kh * p.dilation_h) * pitch + t / sw + c0;
        const int32_t wv = p.weights[kh * p.kernel_w + kw];
        for (int64_t i = 0; i < n; ++i) a[i] += static_cast<int32_t>(src[i]) * wv;
      }
    uint8_t* __restrict o = flat + c0;
    for (int64_t i = 0; i < n; ++i) {
      float y = static_cast<float>(a[i]) * scale;
      y = std::min(std::max(y, lo), hi);
      int32_t q = static_cast<int32_t>(std::nearbyint(y)) + zp;
      q = std::min(std::max(q, q_lo), q_hi);
      o[i] = static_cast<uint8_t>(q);
    }
  }
  for (int64_t oh = 0; oh < p.out_h; ++oh) std::memcpy(p.out + oh * p.out_w, flat + oh * row_step, p.out_w);
}

}  // namespace octet::kernels::detail
