// The vnni depthwise kernel's weight layout (dwconv_u8s8.h), built once per conv. Baseline
// code: it only moves numbers.
#include <cstring>

#include "octet/kernels/dwconv_u8s8.h"

namespace octet::kernels {
namespace {

constexpr int64_t kBlock = 64;  // channels per block (one zmm of bytes)

// Position inside a block of the value for channel c (0..63): register r holds, in 128-bit
// lane L, dword d, channel 16 L + 4 r + d (see the kernel).
int64_t slot(int64_t c) { return (c % 16 / 4) * 16 + (c / 16) * 4 + c % 4; }

}  // namespace

int64_t dwconv_nhwc_u8s8_vnni_bytes(int64_t taps, int64_t channels) {
  const int64_t blocks = (channels + kBlock - 1) / kBlock, groups = (taps + 3) / 4;
  return blocks * (2 * kBlock * 4 + groups * kBlock * 4);
}

bool dwconv_nhwc_u8s8_pack_vnni(const int32_t* weights, const int32_t* comp, const float* scale, int64_t taps,
                                int64_t channels, void* out) {
  for (int64_t i = 0; i < taps * channels; ++i)
    if (weights[i] < -128 || weights[i] > 127) return false;
  const int64_t groups = (taps + 3) / 4;
  uint8_t* dst = static_cast<uint8_t*>(out);
  std::memset(dst, 0, static_cast<size_t>(dwconv_nhwc_u8s8_vnni_bytes(taps, channels)));
  for (int64_t c0 = 0; c0 < channels; c0 += kBlock) {
    int32_t* block_comp = reinterpret_cast<int32_t*>(dst);
    float* block_scale = reinterpret_cast<float*>(dst + kBlock * 4);
    int8_t* block_w = reinterpret_cast<int8_t*>(dst + 2 * kBlock * 4);
    for (int64_t c = 0; c < kBlock && c0 + c < channels; ++c) {
      const int64_t s = slot(c);
      block_comp[s] = comp[c0 + c];
      block_scale[s] = scale[c0 + c];
      for (int64_t t = 0; t < taps; ++t)
        block_w[(t / 4) * kBlock * 4 + s * 4 + t % 4] = static_cast<int8_t>(weights[t * channels + c0 + c]);
    }
    dst += 2 * kBlock * 4 + groups * kBlock * 4;
  }
  return true;
}

}  // namespace octet::kernels
