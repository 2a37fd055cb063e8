// Shared helpers of the quant family: parameters, widening, the exact integer GEMM.
#include "ops/quant/quant_util.h"

#include <algorithm>
#include <cstring>

namespace octet::detail {

std::vector<int32_t> tensor_to_int32s(const Tensor& t) {
  std::vector<int32_t> out(static_cast<size_t>(t.numel()));
  switch (t.dtype()) {
    case DType::u8:
      for (size_t i = 0; i < out.size(); ++i) out[i] = t.data_as<uint8_t>()[i];
      break;
    case DType::s8:
      for (size_t i = 0; i < out.size(); ++i) out[i] = t.data_as<int8_t>()[i];
      break;
    case DType::s32:
      if (!out.empty()) std::memcpy(out.data(), t.data(), out.size() * 4);
      break;
    default:
      throw Error(std::string("expected a u8, s8 or s32 tensor, got ") + dtype_name(t.dtype()));
  }
  return out;
}

QuantParam read_quant_param(const KernelContext& ctx, size_t si, size_t zi) {
  QuantParam p;
  p.scale = tensor_to_floats(ctx.input(si));
  if (ctx.has_input(zi) && ctx.input(zi).numel() > 0) p.zero = tensor_to_int32s(ctx.input(zi));
  else p.zero = {0};
  return p;
}

bool const_quant_param(const NodeContext& ctx, size_t si, size_t zi, QuantParam* q) {
  const Tensor* s = ctx.input_const(si);
  if (!s || s->dtype() != DType::f32 || s->numel() != 1) return false;
  q->scale = {*s->data_as<float>()};
  q->zero = {0};
  if (ctx.has_input(zi)) {
    const Tensor* z = ctx.input_const(zi);
    if (!z || z->numel() != 1) return false;
    q->zero = tensor_to_int32s(*z);
  }
  return true;
}

void check_quant_param(const NodeContext& ctx, size_t si, size_t zi, int64_t channels, const std::string& what) {
  auto check_count = [&](size_t i, const std::string& name) {
    const Shape& s = ctx.input_shape(i);
    int64_t n = shape_numel(s);
    if (n == 1 && s.size() <= 1) return n;
    if (channels >= 0 && s.size() == 1 && n == channels) return n;
    ctx.fail(what + "_" + name + " must be a scalar" +
             (channels >= 0 ? " or a 1-D tensor of " + std::to_string(channels) + " elements" : std::string()) +
             ", got " + shape_str(s));
  };
  if (ctx.input_dtype(si) != DType::f32)
    ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(si)) + " for input " +
             std::to_string(si) + " (" + what + "_scale must be float)");
  int64_t ns = check_count(si, "scale");
  if (ctx.has_input(zi)) {
    int64_t nz = check_count(zi, "zero_point");
    if (nz != ns) ctx.fail(what + "_scale and " + what + "_zero_point differ in size");
  }
}

void widen_minus_zero(DType t, const void* src, int64_t n, int32_t zero, int16_t* dst) {
  if (t == DType::u8) {
    const uint8_t* s = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<int16_t>(int32_t(s[i]) - zero);
  } else if (t == DType::s8) {
    const int8_t* s = static_cast<const int8_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<int16_t>(int32_t(s[i]) - zero);
  } else {
    throw Error(std::string("expected u8 or s8 data, got ") + dtype_name(t));
  }
}

void gemm_s16_s32(int64_t M, int64_t N, int64_t K, const int16_t* A, int64_t lda, const int16_t* B, int64_t ldb,
                  int32_t* C, int64_t ldc, kernels::ThreadPool* pool) {
  if (M <= 0 || N <= 0) return;
  // Column blocks of C are independent: each is one parallel task. Inside a block, K is cut
  // so that the B panel (kKc x kNc int16 = 128 KiB) stays in L2 while every row of A reads it.
  constexpr int64_t kNc = 256, kKc = 256;
  const int64_t blocks = (N + kNc - 1) / kNc;
  auto run_blocks = [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t n0 = blk * kNc, nc = std::min(kNc, N - n0);
      for (int64_t m = 0; m < M; ++m) std::fill(C + m * ldc + n0, C + m * ldc + n0 + nc, 0);
      for (int64_t k0 = 0; k0 < K; k0 += kKc) {
        const int64_t kc = std::min(kKc, K - k0);
        for (int64_t m = 0; m < M; ++m) {
          // Unsigned accumulation: int32 wrap-around without undefined behaviour.
          uint32_t* c = reinterpret_cast<uint32_t*>(C + m * ldc + n0);
          const int16_t* a = A + m * lda + k0;
          for (int64_t k = 0; k < kc; ++k) {
            const int32_t av = a[k];
            if (av == 0) continue;
            const int16_t* b = B + (k0 + k) * ldb + n0;
            for (int64_t j = 0; j < nc; ++j) c[j] += static_cast<uint32_t>(av * int32_t(b[j]));
          }
        }
      }
    }
  };
  if (pool && pool->size() > 1 && blocks > 1 && M * N * K >= (int64_t(1) << 18))
    pool->parallel_for(blocks, run_blocks);
  else
    run_blocks(0, blocks);
}

}  // namespace octet::detail
