// QLinearAdd (qadd_q8.h) one element at a time: the contract's scalar rule.
#include "octet/kernels/qadd_q8.h"

namespace octet::kernels {

void qadd_q8_ref(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const QAddQ8Params& p) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t va = p.s8 ? static_cast<int8_t>(a[i]) : a[i], vb = p.s8 ? static_cast<int8_t>(b[i]) : b[i];
    y[i] = static_cast<uint8_t>(qadd_q8_scalar(va, vb, p));
  }
}

}  // namespace octet::kernels
