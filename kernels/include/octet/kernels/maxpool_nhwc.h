// Max pooling of a channels-last image (octet.MaxPoolNhwc): per output pixel, for every
// channel, the max over the window's taps inside the image, in (kh, kw) order. u8 and s8 by
// their own order; f32 as acc = x > acc ? x : acc from -inf (so NaN inputs are skipped), and
// a window with no tap inside the image gives the type's lowest value (u8 0, s8 -128, f32
// -FLT_MAX), as the reference MaxPool does.
#pragma once

#include <cstdint>

#include "octet/kernels/isa.h"
#include "octet/kernels/kernel_types.h"

namespace octet::kernels {

enum class MaxPoolElem { u8, s8, f32 };

struct MaxPoolNhwc : NhwcWindow {
  MaxPoolElem elem = MaxPoolElem::u8;
  const void* in = nullptr;  // one image, [in_h][in_w][channels]
  void* out = nullptr;       // one image, [out_h][out_w][channels]
};

// Output rows [oh0, oh1).
using MaxPoolNhwcFn = void (*)(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1);
void maxpool_nhwc_ref(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1);
void maxpool_nhwc_avx2(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1);
void maxpool_nhwc_avx512(const MaxPoolNhwc& p, int64_t oh0, int64_t oh1);

}  // namespace octet::kernels
