#include "ops/qconv/qconv_kernel.h"

#include "ops/octet_ops.h"

namespace octet::detail {

QConvKernel::QConvKernel(const QConvDesc& d) : win_(d.shape.win), p_(d.params) {
  const NodeContext& ctx = *d.ctx;
  const kernels::KernelRegistry& reg = kernels::kernel_registry(ctx.isa());
  transpose_u8_ = reg.transpose_u8.run;
  lookup_q8_ = reg.lookup_q8.run;
  if (d.fused_add) {
    // output = add(conv, residual), with the add's constant per-tensor parameters.
    using In = QLinearConvNhwcIn;
    float r_scale = 1, s_scale = 1;
    int32_t r_zero = 0, s_zero = 0;
    const_pair(ctx, In::kResidualScale, In::kResidualZero, &r_scale, &r_zero);
    const_pair(ctx, In::kSumScale, In::kSumZero, &s_scale, &s_zero);
    fused_add_ = true;
    add_ = kernels::qadd_q8_params(p_.y_scale, p_.y_zero, r_scale, r_zero, s_scale, s_zero, p_.y_type == DType::s8);
    // VNNI adds in the GEMM's registers; the other levels' epilogues work on rows of a
    // 16- or 64-column tile, too short for their add kernels, so the add runs after the
    // GEMM on whole output rows while they are in cache.
    add_in_gemm_ = reg.qadd_in_gemm_epilogue;
    add_after_ = reg.qadd_q8.run;
  }
  if (d.lookup) {  // the fused lookup (octet.LookupQ8, a HardSwish)
    const uint8_t* table = ctx.input_const(QLinearConvNhwcIn::kLookupTable)->data_as<uint8_t>();
    lookup_.assign(table, table + 256);
  }
  const ConvShape& s = d.shape;
  batch_ = s.batch;
  channels_ = s.channels;
  out_channels_ = s.out_channels;
  group_ = s.group;
  cg_ = s.in_per_group();
  mg_ = s.out_per_group();
  k_ = s.k_size();
  x_zero_u8_ = u8_zero(p_);
}

}  // namespace octet::detail
