// octet.LookupQ8(X, Table) -> Y: an 8-bit element-wise function as a table, Y[i] =
// Table[raw byte of X[i]], Y of X's type and shape, Table a constant u8 [256]. fuse_qdq makes
// it of DequantizeLinear -> HardSwish -> QuantizeLinear with per-tensor parameters (the
// table holds exactly what those three ops compute), and the layout pass folds it into the
// 8-bit conv before it (octet.QLinearConvNhwc input 14).
#include "octet/kernels/registry.h"
#include "ops/elementwise/elementwise_util.h"
#include "ops/octet_ops.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

void infer_lookup_q8(NodeContext& ctx) {
  ctx.check(ctx.num_inputs() == 2 && ctx.has_input(0) && ctx.has_input(1), "octet.LookupQ8 takes X and Table");
  ctx.check(is_q8(ctx.input_dtype(0)), std::string("octet.LookupQ8: X must be u8 or s8, not ") +
                                            dtype_name(ctx.input_dtype(0)));
  const Tensor* table = ctx.input_const(1);
  ctx.check(table && table->dtype() == DType::u8 && table->numel() == 256,
            "octet.LookupQ8: Table must be a constant u8 tensor of 256 elements");
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
}

class LookupQ8Kernel : public OpKernel {
 public:
  LookupQ8Kernel(const kernels::IsaChoice& isa, const Tensor& table)
      : kernel_(kernels::kernel_registry(isa).lookup_q8), table_(table.data_as<uint8_t>(), table.data_as<uint8_t>() + 256) {}
  std::string name() const override { return kernel_.name; }
  size_t weights_bytes() const override { return table_.size(); }
  bool owns_copy_of_input(size_t i) const override { return i == 1; }
  void run(KernelContext& ctx) const override {
    const auto* x = static_cast<const uint8_t*>(ctx.input(0).data());
    auto* y = static_cast<uint8_t*>(ctx.output(0).data());
    for_chunks(ctx, ctx.output(0).numel(), 1 << 15,
               [&](int64_t i0, int64_t i1) { kernel_.run(table_.data(), x + i0, y + i0, i1 - i0); });
  }

 private:
  kernels::KernelEntry<kernels::LookupQ8Fn> kernel_;
  std::vector<uint8_t> table_;
};

std::unique_ptr<OpKernel> create_lookup_q8(const NodeContext& ctx) {
  return std::make_unique<LookupQ8Kernel>(ctx.isa(), *ctx.input_const(1));
}

}  // namespace

std::vector<uint8_t> hardswish_lookup_table(DType t, float x_scale, int32_t x_zero, float y_scale, int32_t y_zero) {
  int32_t lo, hi;
  q8_range(t, &lo, &hi);
  std::vector<uint8_t> table(256);
  for (int raw = 0; raw < 256; ++raw) {
    const int32_t v = t == DType::s8 ? static_cast<int8_t>(static_cast<uint8_t>(raw)) : raw;
    const float x = static_cast<float>(v - x_zero) * x_scale;                        // DequantizeLinear
    const float y = hardswish_reference(x);                                          // HardSwish
    table[raw] = static_cast<uint8_t>(quantize_value(y / y_scale, y_zero, lo, hi));  // QuantizeLinear
  }
  return table;
}

void register_quant_lookup_ops(OpRegistry& r) {
  r.add(OpDef{kOctetDomain, kOpLookupQ8, infer_lookup_q8, create_lookup_q8});
}

}  // namespace octet::detail
