// INT8 depthwise convolution of one channel plane: u8 input (already padded with its zero
// point), int32 weights of one output channel, the u8s8 GEMM epilogue (gemm_u8s8.h) per
// output: y = float(acc) * scale, clamped to [q_lo - zp, q_hi - zp], rounded half to even,
// + zp. acc = comp + sum over taps of int32(x) * w is exact, so every ISA gives the
// reference's bits. Any kernel size, stride and dilation (3x3 / 5x5, stride 1 / 2 are the
// common ones): each input row is split into `stride_w` phases so that every tap reads
// contiguous bytes, and the whole plane's outputs are one flat run: the ref and avx2 builds
// compile a portable loop nest with their ISA flags (vectorised by the compiler), avx512 is
// written with intrinsics (register-blocked, masked tails).
#pragma once

#include <cstdint>

#include "octet/kernels/isa.h"
#include "octet/kernels/kernel_types.h"

namespace octet::kernels {

struct DwConvU8S8Plane {
  const uint8_t* in = nullptr;  // padded plane, in_h rows of in_w bytes
  int64_t in_h = 0, in_w = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  const int32_t* weights = nullptr;  // kernel_h * kernel_w, row-major
  int32_t comp = 0;                  // bias - x_zero_point * sum(weights) (mod 2^32)
  float scale = 1;
  int32_t zero_point = 0, q_lo = 0, q_hi = 255;  // s8 output: q_lo -128, q_hi 127
  uint8_t* out = nullptr;                        // out_h * out_w bytes (s8 as its byte)
};

// Scratch the kernels need: int32 accumulators and bytes for the plane's flat run (at most
// in_h * pitch each), and its column phases (stride_w * in_h * pitch) when stride_w > 1.
inline int64_t dwconv_u8s8_scratch_bytes(const DwConvU8S8Plane& p) {
  const int64_t pitch = (p.in_w + p.stride_w - 1) / p.stride_w;
  return (5 + p.stride_w) * p.in_h * pitch + 64;
}

using DwConvU8S8Fn = void (*)(const DwConvU8S8Plane& p, void* scratch);

void dwconv_u8s8_ref(const DwConvU8S8Plane& p, void* scratch);
void dwconv_u8s8_avx2(const DwConvU8S8Plane& p, void* scratch);
void dwconv_u8s8_avx512(const DwConvU8S8Plane& p, void* scratch);

// (The vnni level runs the AVX-512 build: the taps of one channel have no 4-wide dot product
// for vpdpbusd in this layout.)

// The same convolution on a channels-last image (octet.QLinearConvNhwc, one input channel
// per output channel): [in_h][in_w][channels] u8 in, [out_h][out_w][channels] out, each
// channel with its own weights, comp and scale. Outputs are computed a pixel at a time over
// contiguous channels (vectorised by the compiler in each ISA's build); taps in the padding
// read the input zero point, as the plane kernels' padded planes do, so comp is the same.
struct DwConvU8S8Nhwc : NhwcWindow {
  const uint8_t* in = nullptr;  // one image, unpadded
  const int32_t* weights = nullptr;  // [kernel_h * kernel_w][channels]
  const int32_t* comp = nullptr;     // [channels]: bias - x_zero_point * sum(weights) (mod 2^32)
  const float* scale = nullptr;      // [channels]
  uint8_t x_zero = 0;                // the input zero point (u8 domain): the padding's value
  int32_t zero_point = 0, q_lo = 0, q_hi = 255;
  uint8_t* out = nullptr;  // one image
  // The vnni kernel's weights, comp and scale, laid out by dwconv_nhwc_u8s8_pack_vnni (the
  // other builds ignore it; without it the vnni kernel runs the portable loop).
  const void* vnni_packed = nullptr;
};

// The vnni kernel reads four taps of 64 channels per vpdpbusd: the input bytes of four taps
// are interleaved in registers (vpunpck{l,h}bw, vpunpck{l,h}wd, which leave the channels in
// an order inside each 128-bit lane that the epilogue's in-lane packs undo), so weights, comp
// and scale are stored once in that order. Per block of 64 channels: comp (64 int32), scale
// (64 float), then per group of 4 taps 256 weight bytes; missing channels and taps are zero.
// Returns false, packing nothing, when a weight is outside [-128, 127].
int64_t dwconv_nhwc_u8s8_vnni_bytes(int64_t taps, int64_t channels);
bool dwconv_nhwc_u8s8_pack_vnni(const int32_t* weights, const int32_t* comp, const float* scale, int64_t taps,
                                int64_t channels, void* out);

// Scratch for dwconv_nhwc_u8s8_*: int32 accumulators and a padding row.
inline int64_t dwconv_nhwc_u8s8_scratch_bytes(const DwConvU8S8Nhwc& p) { return p.channels * 5 + 64; }

// Output rows [oh0, oh1).
using DwConvNhwcU8S8Fn = void (*)(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch);
void dwconv_nhwc_u8s8_ref(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch);
void dwconv_nhwc_u8s8_avx2(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch);
void dwconv_nhwc_u8s8_avx512(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch);
void dwconv_nhwc_u8s8_vnni(const DwConvU8S8Nhwc& p, int64_t oh0, int64_t oh1, void* scratch);

}  // namespace octet::kernels
