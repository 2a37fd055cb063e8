// Shared helpers of the quant family: parameters, widening, the exact integer GEMM.
#include "ops/quant_util.h"

#include <emmintrin.h>  // SSE2: baseline x86-64

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

namespace {

// One 16 x 16 block: dst row c = src column c.
inline void transpose16x16(const uint8_t* src, int64_t lds, uint8_t* dst, int64_t ldd, __m128i mask) {
  __m128i r[16], t[16];
  for (int i = 0; i < 16; ++i)
    r[i] = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * lds)), mask);
  for (int i = 0; i < 8; ++i) {
    t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    t[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  // t[i] (i < 8): columns 0..7 of rows 2i, 2i+1 as byte pairs; t[i + 8]: columns 8..15.
  for (int h = 0; h < 2; ++h) {
    __m128i* u = t + 8 * h;
    __m128i v[8], w[8];
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm_unpacklo_epi16(u[2 * i], u[2 * i + 1]);
      v[i + 4] = _mm_unpackhi_epi16(u[2 * i], u[2 * i + 1]);
    }
    // v[i] (i < 4): columns 0..3 (of this half) of rows 4i..4i+3; v[i + 4]: columns 4..7.
    for (int q = 0; q < 2; ++q)
      for (int i = 0; i < 2; ++i) {
        w[4 * q + i] = _mm_unpacklo_epi32(v[4 * q + 2 * i], v[4 * q + 2 * i + 1]);
        w[4 * q + i + 2] = _mm_unpackhi_epi32(v[4 * q + 2 * i], v[4 * q + 2 * i + 1]);
      }
    // w[4q + j] (j < 2): columns 4q + 0..1 of rows 8j..8j+7; w[4q + 2 + j]: columns 4q + 2..3.
    for (int q = 0; q < 2; ++q)
      for (int cc = 0; cc < 2; ++cc) {
        const __m128i lo = w[4 * q + 2 * cc], hi = w[4 * q + 2 * cc + 1];
        const int col = 8 * h + 4 * q + 2 * cc;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + col * ldd), _mm_unpacklo_epi64(lo, hi));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (col + 1) * ldd), _mm_unpackhi_epi64(lo, hi));
      }
  }
}

}  // namespace

void transpose_u8(const uint8_t* src, int64_t rows, int64_t cols, int64_t lds, uint8_t* dst, int64_t ldd,
                  uint8_t xor_mask) {
  const __m128i mask = _mm_set1_epi8(static_cast<char>(xor_mask));
  if (rows < 16 && ldd == rows && cols > 32) {
    // Few rows into contiguous columns (a 3-channel image to NHWC): 16 x 16 blocks of the rows
    // and zeros. Each column's 16-byte store runs past its `rows` bytes into the next
    // columns', which the later stores (in column order) overwrite; the last 16 columns go
    // byte by byte, so nothing is written past the matrix. (Byte by byte throughout, resnet-50's
    // input took 46 us.)
    alignas(16) uint8_t block[16 * 16] = {};
    int64_t c = 0;
    for (; c + 32 <= cols; c += 16) {
      for (int64_t i = 0; i < rows; ++i) std::memcpy(block + i * 16, src + i * lds + c, 16);
      transpose16x16(block, 16, dst + c * ldd, ldd, mask);
    }
    for (; c < cols; ++c)
      for (int64_t i = 0; i < rows; ++i) dst[c * ldd + i] = src[i * lds + c] ^ xor_mask;
    return;
  }
  const int64_t r16 = rows / 16 * 16, c16 = cols / 16 * 16;
  for (int64_t r = 0; r < r16; r += 16) {
    for (int64_t c = 0; c < c16; c += 16) transpose16x16(src + r * lds + c, lds, dst + c * ldd + r, ldd, mask);
    for (int64_t c = c16; c < cols; ++c)
      for (int64_t i = r; i < r + 16; ++i) dst[c * ldd + i] = src[i * lds + c] ^ xor_mask;
  }
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t i = r16; i < rows; ++i) dst[c * ldd + i] = src[i * lds + c] ^ xor_mask;
}

}  // namespace octet::detail
