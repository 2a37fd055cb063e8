#include "ops/qgemm/packed_qgemm.h"

#include <cstring>

#include "octet/kernels/registry.h"
#include "ops/packed_weights.h"

namespace octet::detail {

PackedQGemm::PackedQGemm(const NodeContext& ctx, size_t b_input, const std::function<const int8_t*()>& b, int64_t K,
                         int64_t N, int64_t ldb, bool trans_b, const int32_t* bias, int32_t a_zero_point,
                         std::vector<float> scale, kernels::QOutType out_type, int32_t out_zero_point)
    : scale_(std::move(scale)) {
  const kernels::KernelRegistry& reg = kernels::kernel_registry(ctx.isa());
  ops_ = packed_b_u8s8(ctx, b_input, reg, K, N, &packed_, [&](kernels::PackedBU8S8* out) {
    // Exact mode may still take the saturating kernels where no pair of these weights can
    // saturate: the results are then the exact ones.
    const int8_t* w = b();
    const kernels::GemmU8S8Ops* ops = kernels::gemm_u8s8_for_weights(reg, w, K, N, ldb, trans_b);
    ops->pack_b(w, K, N, ldb, trans_b, bias, a_zero_point, out);
    return ops;
  });
  ep_.scale = scale_.data();
  ep_.out_type = out_type;
  ep_.out_zero_point = out_zero_point;
  ep_.q_lo = out_type == kernels::QOutType::s8 ? -128 : 0;
  ep_.q_hi = out_type == kernels::QOutType::s8 ? 127 : 255;
}

kernels::EpilogueQ PackedQGemm::epilogue(const uint8_t* add_rows, int64_t ld_add) const {
  kernels::EpilogueQ ep = ep_;
  ep.add_input = add_rows;
  ep.ld_add = ld_add;
  return ep;
}

void PackedQGemm::run(int64_t M, const uint8_t* a, int64_t lda, void* out, int64_t ldc, kernels::ThreadPool* pool,
                      const uint8_t* add_rows, int64_t ld_add) const {
  ops_->gemm(M, a, lda, packed_, out, ldc, epilogue(add_rows, ld_add), pool);
}

void PackedQGemm::run_segmented(int64_t M, const uint8_t* a, int64_t lda, const kernels::ASegments& seg, void* out,
                                int64_t ldc, const uint8_t* add_rows, int64_t ld_add) const {
  ops_->gemm_segmented(M, a, lda, seg, packed_, out, ldc, epilogue(add_rows, ld_add), nullptr);
}

void to_u8(DType t, const void* src, int64_t n, uint8_t* dst) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  if (t == DType::u8) {
    std::memcpy(dst, s, static_cast<size_t>(n));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(s[i] ^ 0x80u);
}

}  // namespace octet::detail
