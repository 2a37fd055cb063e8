// Integer matrix products: QLinearMatMul and MatMulInteger, with numpy matmul semantics
// (1-D operands, batch broadcasting). Zero points are per tensor, per row of A ([M]) or per
// column of B ([N]); the sums are exact int32; QLinearMatMul requantizes in float with
// multiplier = a_scale[m] * b_scale[n] / y_scale and round-half-even.
#include <algorithm>

#include "ops/impl_list.h"
#include "ops/qgemm/packed_qgemm.h"
#include "ops/qgemm/qlinear_params.h"
#include "ops/quant/quant_util.h"

namespace octet::detail {
namespace {

struct MatMulGeom {
  int64_t M = 0, K = 0, N = 0;
  Shape batch;                          // broadcast batch shape
  std::vector<int64_t> a_step, b_step;  // per batch dim, in matrices (0 = broadcast)
  Shape out;
};

struct IntMatMulInputs {
  size_t a, b, a_zero, b_zero;
  size_t a_scale = 0, b_scale = 0, y_scale = 0, y_zero = 0;
  bool qlinear = false;
};

constexpr IntMatMulInputs kQLinearMatMul{0, 3, 2, 5, 1, 4, 6, 7, true};
constexpr IntMatMulInputs kMatMulInteger{0, 1, 2, 3, 0, 0, 0, 0, false};

MatMulGeom matmul_geometry(const NodeContext& ctx, const IntMatMulInputs& in) {
  Shape a = ctx.input_shape(in.a), b = ctx.input_shape(in.b);
  if (a.empty() || b.empty()) ctx.fail("MatMul operands must have rank >= 1");
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulGeom g;
  g.M = a[a.size() - 2];
  g.K = a[a.size() - 1];
  g.N = b[b.size() - 1];
  if (b[b.size() - 2] != g.K)
    ctx.fail("inner dimensions differ: " + shape_str(ctx.input_shape(in.a)) + " x " + shape_str(ctx.input_shape(in.b)));
  Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  if (!broadcast_shapes(ab, bb, &g.batch)) ctx.fail("batch dimensions do not broadcast");
  g.a_step = broadcast_strides(ab, g.batch);
  g.b_step = broadcast_strides(bb, g.batch);
  g.out = g.batch;
  if (!a_vec) g.out.push_back(g.M);
  if (!b_vec) g.out.push_back(g.N);
  return g;
}

MatMulGeom check_int_matmul(const NodeContext& ctx, const IntMatMulInputs& in) {
  for (size_t i : {in.a, in.b})
    if (!is_q8(ctx.input_dtype(i)))
      ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(i)) + " for input " + std::to_string(i));
  MatMulGeom g = matmul_geometry(ctx, in);
  auto check_zero = [&](size_t zi, size_t data, int64_t count, const char* what) {
    if (!ctx.has_input(zi)) return;
    if (ctx.input_dtype(zi) != ctx.input_dtype(data))
      ctx.fail(std::string(what) + "_zero_point must have the dtype of " + what);
    int64_t n = shape_numel(ctx.input_shape(zi));
    if (!(n == 1 || (n == count && ctx.input_shape(zi).size() == 1)))
      ctx.fail(std::string(what) + "_zero_point has shape " + shape_str(ctx.input_shape(zi)) +
               "; expected a scalar or " + std::to_string(count) + " values");
  };
  check_zero(in.a_zero, in.a, g.M, "a");
  check_zero(in.b_zero, in.b, g.N, "b");
  if (in.qlinear) {
    check_quant_param(ctx, in.a_scale, in.a_zero, g.M, "a");
    check_quant_param(ctx, in.b_scale, in.b_zero, g.N, "b");
    check_quant_param(ctx, in.y_scale, in.y_zero, -1, "y");
    if (ctx.has_input(in.y_zero) && !is_q8(ctx.input_dtype(in.y_zero)))
      ctx.fail(std::string("unsupported dtype ") + dtype_name(ctx.input_dtype(in.y_zero)) + " for y_zero_point");
  }
  return g;
}

class IntMatMulKernel : public OpKernel {
 public:
  IntMatMulKernel(MatMulGeom g, IntMatMulInputs in) : g_(std::move(g)), in_(in) {}

  void run(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(in_.a);
    const Tensor& b = ctx.input(in_.b);
    Tensor& y = ctx.output(0);
    const int64_t M = g_.M, K = g_.K, N = g_.N;
    std::vector<int32_t> a_zero = zeros(ctx, in_.a_zero), b_zero = zeros(ctx, in_.b_zero);

    // A as int16 (a - a_zero[row]), B as int16 (b - b_zero[column]).
    std::vector<int16_t> a16(static_cast<size_t>(a.numel())), b16(static_cast<size_t>(b.numel()));
    const char* ap = static_cast<const char*>(a.data());
    for (int64_t r = 0; r < a.numel() / std::max<int64_t>(K, 1); ++r)
      widen_minus_zero(a.dtype(), ap + r * K, K, a_zero.size() == 1 ? a_zero[0] : a_zero[r % M], a16.data() + r * K);
    if (b_zero.size() == 1) {
      widen_minus_zero(b.dtype(), b.data(), b.numel(), b_zero[0], b16.data());
    } else {
      widen_minus_zero(b.dtype(), b.data(), b.numel(), 0, b16.data());
      for (int64_t i = 0; i < b.numel(); ++i) b16[i] = static_cast<int16_t>(b16[i] - b_zero[i % N]);
    }

    std::vector<float> mult_row, mult_col;  // multiplier[m][n] = a_scale[m] * b_scale[n] / y_scale
    float y_scale = 1.0f;
    int32_t y_zero = 0, lo = 0, hi = 0;
    std::vector<int32_t> acc;
    if (in_.qlinear) {
      QuantParam aq = read_quant_param(ctx, in_.a_scale, in_.a_zero);
      QuantParam bq = read_quant_param(ctx, in_.b_scale, in_.b_zero);
      QuantParam yq = read_quant_param(ctx, in_.y_scale, in_.y_zero);
      mult_row = aq.scale;
      mult_col = bq.scale;
      y_scale = yq.scale[0];
      y_zero = yq.zero[0];
      q8_range(y.dtype(), &lo, &hi);
      acc.resize(static_cast<size_t>(M * N));
    }

    const int64_t batches = shape_numel(g_.batch);
    const size_t nb = g_.batch.size();
    std::vector<int64_t> idx(nb, 0);
    int64_t a_mat = 0, b_mat = 0;
    for (int64_t bi = 0; bi < batches; ++bi) {
      int32_t* c = in_.qlinear ? acc.data() : y.data_as<int32_t>() + bi * M * N;
      gemm_s16_s32(M, N, K, a16.data() + a_mat * M * K, K, b16.data() + b_mat * K * N, N, c, N, ctx.pool);
      if (in_.qlinear) {
        for (int64_t m = 0; m < M; ++m) {
          const float sa = mult_row.size() == 1 ? mult_row[0] : mult_row[m];
          const int32_t* row = acc.data() + m * N;
          auto store = [&](auto* out) {
            using Q = std::remove_pointer_t<decltype(out)>;
            for (int64_t n = 0; n < N; ++n) {
              const float mult = sa * (mult_col.size() == 1 ? mult_col[0] : mult_col[n]) / y_scale;
              out[n] = static_cast<Q>(quantize_value(static_cast<float>(row[n]) * mult, y_zero, lo, hi));
            }
          };
          if (y.dtype() == DType::u8) store(y.data_as<uint8_t>() + (bi * M + m) * N);
          else store(y.data_as<int8_t>() + (bi * M + m) * N);
        }
      }
      for (int64_t d = static_cast<int64_t>(nb) - 1; d >= 0; --d) {  // next batch index
        a_mat += g_.a_step[d];
        b_mat += g_.b_step[d];
        if (++idx[d] < g_.batch[d]) break;
        a_mat -= g_.a_step[d] * g_.batch[d];
        b_mat -= g_.b_step[d] * g_.batch[d];
        idx[d] = 0;
      }
    }
  }

 private:
  static std::vector<int32_t> zeros(const KernelContext& ctx, size_t i) {
    if (ctx.has_input(i) && ctx.input(i).numel() > 0) return tensor_to_int32s(ctx.input(i));
    return {0};
  }

  MatMulGeom g_;
  IntMatMulInputs in_;
};

void infer_qlinear_matmul(NodeContext& ctx) {
  MatMulGeom g = check_int_matmul(ctx, kQLinearMatMul);
  DType yt = ctx.has_input(kQLinearMatMul.y_zero) ? ctx.input_dtype(kQLinearMatMul.y_zero) : ctx.input_dtype(0);
  ctx.set_output(0, yt, g.out);
}

// B constant s8 packed once for the level's INT8 GEMM (qgemm/packed_qgemm.h); A's rows (all
// batch dims folded into M) go through it with its requantizing epilogue.
class PackedQLinearMatMul : public OpKernel {
 public:
  PackedQLinearMatMul(const NodeContext& ctx, ConstQParams p) : p_(std::move(p)) {
    const Tensor& b = *ctx.input_const(3);
    const int64_t K = b.shape()[0], N = b.shape()[1];
    gemm_ = std::make_unique<PackedQGemm>(ctx, 3, [&b] { return b.data_as<int8_t>(); }, K, N, N, false, nullptr,
                                          u8_zero(p_),
                                          requant_scales(p_, 0, N), out_type_of(p_.y_type), p_.y_zero);
  }
  std::string name() const override { return gemm_->kernel_name(); }
  size_t weights_bytes() const override { return gemm_->bytes(); }
  bool owns_copy_of_input(size_t i) const override { return i == 3; }  // B, packed

  void run(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const int64_t K = gemm_->K(), rows = K > 0 ? a.numel() / K : 0;
    const uint8_t* src = static_cast<const uint8_t*>(a.data());
    std::vector<uint8_t> converted;
    if (p_.x_type == DType::s8) {
      converted.resize(static_cast<size_t>(a.numel()));
      to_u8(DType::s8, src, a.numel(), converted.data());
      src = converted.data();
    }
    gemm_->run(rows, src, K, ctx.output(0).data(), gemm_->N(), ctx.pool);
  }

 private:
  ConstQParams p_;
  std::unique_ptr<PackedQGemm> gemm_;
};

// QLinearMatMul's implementations, in order: the packed INT8 GEMM, then the reference.
struct QMatMulDesc {
  const NodeContext* ctx = nullptr;
  MatMulGeom geom;
};

std::string packed_gemm_conditions(const QMatMulDesc& d) {
  const NodeContext& ctx = *d.ctx;
  if (std::string why = declined_on_ref_level(ctx); !why.empty()) return why;
  if (!s8_weights_zero_free(ctx, 3, 5)) return "B is not constant s8 with zero points 0";
  if (ctx.input_shape(3).size() != 2) return "B is not a matrix (" + shape_str(ctx.input_shape(3)) + ")";
  if (ctx.input_shape(0).size() < 2) return "A is a vector";
  ConstQParams p;
  if (!read_qlinear_params(ctx, ctx.input_shape(3)[1], &p))
    return "the scales and zero points are not constant per-tensor values (or b_scale per column)";
  return {};
}

std::unique_ptr<OpKernel> create_packed_gemm(const QMatMulDesc&, const NodeContext& ctx) {
  ConstQParams p;
  read_qlinear_params(ctx, ctx.input_shape(3)[1], &p);
  return std::make_unique<PackedQLinearMatMul>(ctx, std::move(p));
}

std::unique_ptr<OpKernel> create_reference(const QMatMulDesc& d, const NodeContext&) {
  return std::make_unique<IntMatMulKernel>(d.geom, kQLinearMatMul);
}

const OpImpl<QMatMulDesc> kQLinearMatMulImpls[] = {
    {"qmatmul_packed_gemm", packed_gemm_conditions, create_packed_gemm},
    {"qmatmul_reference", accepts_every_node<QMatMulDesc>, create_reference},
};

std::unique_ptr<OpKernel> create_qlinear_matmul(const NodeContext& ctx) {
  QMatMulDesc d;
  d.ctx = &ctx;
  d.geom = check_int_matmul(ctx, kQLinearMatMul);
  return create_first_accepting(kQLinearMatMulImpls, d, ctx);
}

void infer_matmul_integer(NodeContext& ctx) {
  ctx.set_output(0, DType::s32, check_int_matmul(ctx, kMatMulInteger).out);
}

std::unique_ptr<OpKernel> create_matmul_integer(const NodeContext& ctx) {
  return std::make_unique<IntMatMulKernel>(check_int_matmul(ctx, kMatMulInteger), kMatMulInteger);
}

}  // namespace

void register_quant_matmul_ops(OpRegistry& r) {
  r.add(OpDef{"", "QLinearMatMul", infer_qlinear_matmul, create_qlinear_matmul});
  r.add(OpDef{"", "MatMulInteger", infer_matmul_integer, create_matmul_integer});
}

}  // namespace octet::detail
