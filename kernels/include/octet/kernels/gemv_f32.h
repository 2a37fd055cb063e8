// FP32 GEMV on a B packed by the same level's gemm_f32 table: y[n] = x B[:, n] (+ bias[n]) for
// the columns of B's panels [panel_begin, panel_end) (panels of b.nr columns, gemm_f32.h). The
// one-row product that a recurrent op needs every time step: the GEMM's one-row tile keeps
// only a couple of FMA chains in flight, this runs several panels at once. Each column is the
// very chain the table's gemm computes for a one-row A (SIMD levels: bias, then one FMA per k
// in increasing k; reference: the products summed from 0, then the bias), so the two agree
// bit for bit. Callers split panels over threads themselves.
#pragma once

#include <cstdint>

#include "octet/kernels/gemm_f32.h"

namespace octet::kernels {

using GemvPackedF32Fn = void (*)(const float* x, const PackedBF32& b, const float* bias, float* y,
                                 int64_t panel_begin, int64_t panel_end);
void gemv_packed_f32_ref(const float* x, const PackedBF32& b, const float* bias, float* y, int64_t panel_begin,
                         int64_t panel_end);
// For panels of 8, 16, 24, 32, 48 or 64 columns (the avx2 and avx512 tables); other layouts
// (the reference's) go to gemv_packed_f32_ref. Null where the CPU lacks AVX2 and FMA.
GemvPackedF32Fn gemv_packed_f32_avx2();

}  // namespace octet::kernels
