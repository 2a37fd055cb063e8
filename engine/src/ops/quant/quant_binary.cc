// com.microsoft QLinearAdd / QLinearMul (ONNX Runtime contrib ops found in QOperator models),
// per-tensor parameters, numpy broadcasting. Add is kernels/qadd_q8.h's formula (ONNX
// Runtime's: the inputs scaled by a_scale / c_scale and b_scale / c_scale, added, rounded);
// Mul is c = quantize(dequantize(a) * dequantize(b) / c_scale), dequantization through a
// 256-entry table per input.
// When every scale and zero point is a compile-time constant, the output byte depends only on
// the pair of input bytes: the kernel then computes that 256 x 256 table once, with the same
// arithmetic, and each element is one lookup (bit-identical to the per-element path); Add on
// AVX2 and up runs the same float operations in SIMD instead (kernels/qadd_q8.h).
#include <algorithm>
#include <cmath>

#include "octet/kernels/registry.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

enum class BinaryOp { add, mul };

Shape check_qlinear_binary(const NodeContext& ctx) {
  DType t = ctx.input_dtype(0);
  if (!is_q8(t)) ctx.fail(std::string("unsupported dtype ") + dtype_name(t) + " for input 0");
  if (ctx.input_dtype(3) != t) ctx.fail("A and B must have the same dtype");
  for (size_t zi : {2, 5, 7})
    if (ctx.has_input(zi) && ctx.input_dtype(zi) != t) ctx.fail("zero points must have the dtype of A");
  check_quant_param(ctx, 1, 2, -1, "A");
  check_quant_param(ctx, 4, 5, -1, "B");
  check_quant_param(ctx, 6, 7, -1, "C");
  Shape out;
  if (!broadcast_shapes(ctx.input_shape(0), ctx.input_shape(3), &out))
    ctx.fail("shapes " + shape_str(ctx.input_shape(0)) + " and " + shape_str(ctx.input_shape(3)) + " do not broadcast");
  return out;
}

void infer_qlinear_binary(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), check_qlinear_binary(ctx)); }

// The value of a raw 8-bit element.
int32_t q8_value(bool s8, uint8_t raw) { return s8 ? static_cast<int8_t>(raw) : raw; }

// Table of dequantized values indexed by the raw byte.
std::vector<float> dequant_table(DType t, const QuantParam& q) {
  std::vector<float> table(256);
  for (int v = 0; v < 256; ++v)
    table[v] = static_cast<float>(q8_value(t == DType::s8, static_cast<uint8_t>(v)) - q.zero[0]) * q.scale[0];
  return table;
}

class QLinearBinaryKernel : public OpKernel {
 public:
  explicit QLinearBinaryKernel(BinaryOp op) : op_(op) {}
  void run(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    const QuantParam qa = read_quant_param(ctx, 1, 2), qb = read_quant_param(ctx, 4, 5);
    const QuantParam qc = read_quant_param(ctx, 6, 7);
    const std::vector<float> ta = dequant_table(a.dtype(), qa), tb = dequant_table(b.dtype(), qb);
    const kernels::QAddQ8Params add = kernels::qadd_q8_params(qa.scale[0], qa.zero[0], qb.scale[0], qb.zero[0],
                                                              qc.scale[0], qc.zero[0], y.dtype() == DType::s8);
    int32_t lo, hi;
    q8_range(y.dtype(), &lo, &hi);
    const Shape& out = y.shape();
    const std::vector<int64_t> sa = broadcast_strides(a.shape(), out), sb = broadcast_strides(b.shape(), out);
    const uint8_t* pa = static_cast<const uint8_t*>(a.data());
    const uint8_t* pb = static_cast<const uint8_t*>(b.data());
    uint8_t* py = static_cast<uint8_t*>(y.data());  // u8 and s8 share the byte layout
    const size_t r = out.size();
    const int64_t inner = r ? out[r - 1] : 1, ia = r ? sa[r - 1] : 0, ib = r ? sb[r - 1] : 0;
    const int64_t rows = y.numel() / inner;
    std::vector<int64_t> idx(r, 0);
    int64_t oa = 0, ob = 0;
    for (int64_t row = 0; row < rows; ++row) {
      for (int64_t i = 0; i < inner; ++i) {
        const uint8_t ra = pa[oa + i * ia], rb = pb[ob + i * ib];
        const int32_t q = op_ == BinaryOp::add ? kernels::qadd_q8_scalar(q8_value(add.s8, ra), q8_value(add.s8, rb), add)
                                               : quantize_value(ta[ra] * tb[rb] / qc.scale[0], qc.zero[0], lo, hi);
        py[row * inner + i] = static_cast<uint8_t>(q);  // two's complement byte for s8
      }
      for (int64_t d = static_cast<int64_t>(r) - 2; d >= 0; --d) {
        oa += sa[d];
        ob += sb[d];
        if (++idx[d] < out[d]) break;
        oa -= sa[d] * out[d];
        ob -= sb[d] * out[d];
        idx[d] = 0;
      }
    }
  }

 private:
  BinaryOp op_;
};

// Same-shape inputs with constant parameters: out = table[a * 256 + b].
class QLinearBinaryTableKernel : public OpKernel {
 public:
  QLinearBinaryTableKernel(BinaryOp op, DType t, const QuantParam& qa, const QuantParam& qb, const QuantParam& qc,
                           const kernels::IsaChoice& isa)
      : table_(256 * 256) {
    // Add on AVX2 and up (AVX-512 kernel where the level has it): the same float operations in
    // SIMD (qadd_q8.h; the kernels go the scalar way where qadd_q8_params_ok fails), for
    // finite positive multipliers; the table otherwise.
    params_ = kernels::qadd_q8_params(qa.scale[0], qa.zero[0], qb.scale[0], qb.zero[0], qc.scale[0], qc.zero[0],
                                      t == DType::s8);
    auto normal = [](float s) { return std::isnormal(s) && s > 0; };
    simd_add_ = op == BinaryOp::add && isa.isa != kernels::Isa::ref && normal(params_.a_mult) && normal(params_.b_mult);
    add_ = kernels::kernel_registry(isa).qadd_q8;
    const std::vector<float> ta = dequant_table(t, qa), tb = dequant_table(t, qb);
    int32_t lo, hi;
    q8_range(t, &lo, &hi);
    for (int a = 0; a < 256; ++a)
      for (int b = 0; b < 256; ++b) {
        const int32_t q =
            op == BinaryOp::add
                ? kernels::qadd_q8_scalar(q8_value(params_.s8, uint8_t(a)), q8_value(params_.s8, uint8_t(b)), params_)
                : quantize_value(ta[a] * tb[b] / qc.scale[0], qc.zero[0], lo, hi);
        table_[a * 256 + b] = static_cast<uint8_t>(q);
      }
  }
  std::string name() const override {
    return simd_add_ ? add_.name : "qlinear_binary_table";
  }
  size_t weights_bytes() const override { return table_.size(); }

  void run(KernelContext& ctx) const override {
    const uint8_t* pa = static_cast<const uint8_t*>(ctx.input(0).data());
    const uint8_t* pb = static_cast<const uint8_t*>(ctx.input(3).data());
    uint8_t* py = static_cast<uint8_t*>(ctx.output(0).data());
    const uint8_t* t = table_.data();
    const int64_t n = ctx.output(0).numel();
    auto range = [&](int64_t i0, int64_t i1) {
      if (simd_add_) {
        add_.run(pa + i0, pb + i0, py + i0, i1 - i0, params_);
        return;
      }
      for (int64_t i = i0; i < i1; ++i) py[i] = t[pa[i] * 256 + pb[i]];
    };
    for_chunks(ctx, n, 1 << 14, range);
  }

 private:
  std::vector<uint8_t> table_;
  bool simd_add_ = false;
  kernels::KernelEntry<kernels::QAddQ8Fn> add_;
  kernels::QAddQ8Params params_;
};

std::unique_ptr<OpKernel> create_qlinear_binary(const NodeContext& ctx, BinaryOp op) {
  const Shape out = check_qlinear_binary(ctx);
  QuantParam qa, qb, qc;
  if (ctx.input_shape(0) == out && ctx.input_shape(3) == out && const_quant_param(ctx, 1, 2, &qa) &&
      const_quant_param(ctx, 4, 5, &qb) && const_quant_param(ctx, 6, 7, &qc))
    return std::make_unique<QLinearBinaryTableKernel>(op, ctx.input_dtype(0), qa, qb, qc, ctx.isa());
  return std::make_unique<QLinearBinaryKernel>(op);
}

std::unique_ptr<OpKernel> create_qlinear_add(const NodeContext& ctx) { return create_qlinear_binary(ctx, BinaryOp::add); }

std::unique_ptr<OpKernel> create_qlinear_mul(const NodeContext& ctx) { return create_qlinear_binary(ctx, BinaryOp::mul); }

}  // namespace

void register_quant_binary_ops(OpRegistry& r) {
  r.add(OpDef{"com.microsoft", "QLinearAdd", infer_qlinear_binary, create_qlinear_add});
  r.add(OpDef{"com.microsoft", "QLinearMul", infer_qlinear_binary, create_qlinear_mul});
}

}  // namespace octet::detail
