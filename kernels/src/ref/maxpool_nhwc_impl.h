// The portable channels-last max pool (maxpool_nhwc.h), compiled in the ref and avx2 folders
// with their flags: per output pixel, the running max of each block of channels stays in a
// small local array the compiler keeps vectorised.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "octet/kernels/maxpool_nhwc.h"

namespace octet::kernels::detail {

template <class T>
inline T max_step(T acc, T x) {
  return x > acc ? x : acc;  // for floats: a NaN x leaves acc
}

template <class T>
void maxpool_nhwc_typed(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1, T init, T empty) {
  constexpr int64_t kBlock = 256 / sizeof(T);
  const int64_t C = p.channels;
  const T* in = static_cast<const T*>(p.in);
  T* out = static_cast<T*>(p.out);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t ih0 = oh * p.stride_h - p.pad_top;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t iw0 = ow * p.stride_w - p.pad_left;
      T* o = out + (oh * p.out_w + ow) * C;
      bool any = false;
      for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
        const int64_t m = std::min(kBlock, C - c0);
        T acc[kBlock];
        for (int64_t c = 0; c < m; ++c) acc[c] = init;
        for_each_tap_inside(p, ih0, iw0, [&](int64_t pixel) {
          any = true;
          const T* x = in + pixel * C + c0;
          for (int64_t c = 0; c < m; ++c) acc[c] = max_step(acc[c], x[c]);
        });
        std::copy(acc, acc + m, o + c0);
      }
      if (!any) std::fill(o, o + C, empty);
    }
  }
}

inline void maxpool_nhwc_impl(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1) {
  switch (p.elem) {
    case MaxPoolElem::u8:
      maxpool_nhwc_typed<uint8_t>(p, oh0, oh1, 0, 0);
      break;
    case MaxPoolElem::s8:
      maxpool_nhwc_typed<int8_t>(p, oh0, oh1, -128, -128);
      break;
    case MaxPoolElem::f32:
      maxpool_nhwc_typed<float>(p, oh0, oh1, -std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::lowest());
      break;
  }
}

}  // namespace octet::kernels::detail
