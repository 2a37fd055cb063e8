#include "ops/qconv/qconv_desc.h"

#include "ops/impl_list.h"
#include "ops/octet_ops.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {

QConvDesc qconv_desc(const NodeContext& ctx, const Shape& x, bool channels_last) {
  QConvDesc d;
  d.ctx = &ctx;
  d.channels_last = channels_last;
  d.shape = conv_shape(ctx, x, ctx.input_shape(QLinearConvNhwcIn::kW));
  d.fused_add = channels_last && ctx.has_input(QLinearConvNhwcIn::kResidual);
  d.lookup = channels_last && ctx.has_input(QLinearConvNhwcIn::kLookupTable);
  d.not_fast = [&]() -> std::string {
    if (std::string why = declined_on_ref_level(ctx); !why.empty()) return why;
    if (!s8_weights_zero_free(ctx, QLinearConvNhwcIn::kW, QLinearConvNhwcIn::kWZero))
      return "the weights are not constant s8 with zero points 0";
    if (ctx.has_input(QLinearConvNhwcIn::kB) &&
        (!ctx.input_const(QLinearConvNhwcIn::kB) || ctx.input_dtype(QLinearConvNhwcIn::kB) != DType::s32 ||
         ctx.input_const(QLinearConvNhwcIn::kB)->numel() != d.shape.out_channels))
      return "the bias is not a constant int32 value per output channel";
    if (!read_qlinear_params(ctx, d.shape.out_channels, &d.params))
      return "the activation scales and zero points are not constant per-tensor values";
    return {};
  }();
  return d;
}

std::vector<std::unique_ptr<PackedQGemm>>& QConvDesc::gemms() const {
  if (!gemms_.empty() || shape.depthwise()) return gemms_;
  const NodeContext& c = *ctx;
  const ConvShape& s = shape;
  const int64_t cg = s.in_per_group(), mg = s.out_per_group(), k = s.k_size(), taps = s.win.kernel_size();
  std::vector<int32_t> bias(static_cast<size_t>(s.out_channels), 0);
  if (c.has_input(QLinearConvNhwcIn::kB)) bias = tensor_to_int32s(*c.input_const(QLinearConvNhwcIn::kB));
  const Tensor* w = c.input_const(QLinearConvNhwcIn::kW);
  std::vector<int8_t> repacked;
  for (int64_t grp = 0; grp < s.group; ++grp) {
    auto group_weights = [&] {  // [m][c][tap] -> [m][tap][c]
      const int8_t* src = w->data_as<int8_t>() + grp * mg * k;
      repacked.resize(static_cast<size_t>(mg * k));
      for (int64_t m = 0; m < mg; ++m)
        for (int64_t ch = 0; ch < cg; ++ch)
          for (int64_t t = 0; t < taps; ++t) repacked[m * k + t * cg + ch] = src[(m * cg + ch) * taps + t];
      return static_cast<const int8_t*>(repacked.data());
    };
    gemms_.push_back(std::make_unique<PackedQGemm>(c, QLinearConvNhwcIn::kW, group_weights, k, mg, k, /*trans_b=*/true,
                                                   bias.data() + grp * mg, u8_zero(params),
                                                   requant_scales(params, grp * mg, mg), out_type_of(params.y_type),
                                                   params.y_zero));
  }
  return gemms_;
}

}  // namespace octet::detail
