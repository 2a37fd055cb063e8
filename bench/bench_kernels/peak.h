// The machine's own peak, measured once per process with register-only loops.
#pragma once

namespace octet::bench {

// GFLOP/s of one core running FP32 FMA (2 flops per lane per FMA), best of ymm and zmm.
double peak_fma_gflops();
// GOP/s of one core running vpdpbusd zmm (2 ops per u8*s8 pair), 0 when the CPU lacks VNNI.
double peak_vnni_gops();

}  // namespace octet::bench
