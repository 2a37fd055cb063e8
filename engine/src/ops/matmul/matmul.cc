// MatMul (numpy semantics: 1-D promotion, batched, broadcast batch dims) and Gemm (alpha,
// beta, transA, transB, optional C broadcast to [M, N]), over the GEMM loops of
// matmul_gemm.h. Transposed operands are copied to row-major first (once, at creation, for a
// constant B).
//
// FP32 with a constant 2-D B on a SIMD level: B is packed once for the gemm_f32 table and
// every run is one table GEMM over all rows of A (MatMul) or with C folded into the epilogue
// as a bias or a residual (Gemm); see PackedGemmKernel. FP32 MatMul with a run-time B
// (attention's QK^T and softmax x V) packs each batch item's B at run time into per-thread
// scratch and runs the same table, batch items split across threads; see RuntimeBGemmKernel.
#include <algorithm>
#include <vector>

#include "octet/kernels/registry.h"
#include "octet/kernels/thread_scratch.h"
#include "ops/impl_list.h"
#include "ops/matmul/matmul_gemm.h"
#include "ops/op_util.h"
#include "ops/packed_weights.h"

namespace octet::detail {

namespace {

bool matmul_dtype_ok(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::s32 || t == DType::s64 ||
         t == DType::u32 || t == DType::u64;
}

// Calls fn(T{}) for the dtypes of matmul_dtype_ok.
template <class Fn>
void visit_matmul_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32:
      fn(float{});
      break;
    case DType::f64:
      fn(double{});
      break;
    case DType::s32:
      fn(int32_t{});
      break;
    case DType::s64:
      fn(int64_t{});
      break;
    case DType::u32:
      fn(uint32_t{});
      break;
    case DType::u64:
      fn(uint64_t{});
      break;
    default:
      throw Error(std::string("MatMul/Gemm: unsupported dtype ") + dtype_name(t));
  }
}

// dst[c, r] = src[r, c] for a rows x cols row-major matrix, in cache-sized blocks.
template <class T>
void transpose_matrix(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * rows + r] = src[r * cols + c];
    }
}

// ---- FP32 on the gemm_f32 table -----------------------------------------------------------

// Y[rows, N] = epilogue(A[rows, K] x B) with B packed once. Results do not depend on the
// thread count (the table's guarantee).
class PackedGemmKernel : public OpKernel {
 public:
  PackedGemmKernel(const kernels::GemmF32Ops* ops, kernels::PackedBF32 b, std::vector<float> bias,
                   bool c_residual)
      : ops_(ops), b_(std::move(b)), bias_(std::move(bias)), c_residual_(c_residual) {}

  std::string name() const override { return ops_->name; }
  size_t weights_bytes() const override { return b_.data.size(); }
  // B is packed; C is copied into bias_ unless it is read as a residual.
  bool owns_copy_of_input(size_t i) const override { return i == 1 || (i == 2 && !c_residual_); }

  void run(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t K = b_.K, N = b_.N;
    const int64_t rows = N == 0 ? 0 : y.numel() / N;
    kernels::EpilogueF32 ep;
    if (!bias_.empty()) ep.bias = bias_.data();
    if (c_residual_) {
      ep.residual = ctx.input(2).data_as<float>();
      ep.ldr = N;
    }
    ops_->gemm(rows, a.data_as<float>(), K, b_, y.data_as<float>(), N, ep, ctx.pool);
  }

 private:
  const kernels::GemmF32Ops* ops_;
  kernels::PackedBF32 b_;
  std::vector<float> bias_;  // per column, or empty
  bool c_residual_;          // input 2 is a full [M, N] C added as is
};

// Why the packed FP32 GEMM cannot run the node at all (ref level, not f32, B not constant),
// or empty.
std::string packed_gemm_problem(const NodeContext& ctx) {
  if (std::string why = declined_on_ref_level(ctx); !why.empty()) return why;
  if (ctx.input_dtype(0) != DType::f32) return std::string(dtype_name(ctx.input_dtype(0))) + " (the GEMM is FP32)";
  if (!ctx.input_const(1)) return "B is not constant";
  return {};
}

const kernels::GemmF32Ops* f32_table(const NodeContext& ctx) { return kernels::kernel_registry(ctx.isa()).gemm_f32; }

// ---- MatMul ------------------------------------------------------------------------------

struct MatMulShapes {
  Shape a, b;   // operands after 1-D promotion (rank >= 2)
  Shape batch;  // broadcast batch dims
  Shape out;    // the output shape (promoted dims removed)
  int64_t M = 0, K = 0, N = 0;
};

MatMulShapes matmul_shapes(const NodeContext& ctx) {
  const DType dt = ctx.input_dtype(0);
  ctx.check(matmul_dtype_ok(dt),
            std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  ctx.check(ctx.input_dtype(1) == dt, std::string("unsupported dtype ") +
                                          dtype_name(ctx.input_dtype(1)) +
                                          " for input 1 (must match input 0)");
  MatMulShapes s;
  s.a = ctx.input_shape(0);
  s.b = ctx.input_shape(1);
  ctx.check(!s.a.empty() && !s.b.empty(), "MatMul inputs must have rank >= 1");
  const bool a_vec = s.a.size() == 1, b_vec = s.b.size() == 1;
  if (a_vec) s.a.insert(s.a.begin(), 1);
  if (b_vec) s.b.push_back(1);
  s.M = s.a[s.a.size() - 2];
  s.K = s.a.back();
  s.N = s.b.back();
  ctx.check(s.b[s.b.size() - 2] == s.K,
            "inner dimensions differ: " + shape_str(ctx.input_shape(0)) + " x " +
                shape_str(ctx.input_shape(1)));
  Shape ab(s.a.begin(), s.a.end() - 2), bb(s.b.begin(), s.b.end() - 2);
  ctx.check(broadcast_shapes(ab, bb, &s.batch),
            "batch dimensions do not broadcast: " + shape_str(ctx.input_shape(0)) + " x " +
                shape_str(ctx.input_shape(1)));
  s.out = s.batch;
  if (!a_vec) s.out.push_back(s.M);
  if (!b_vec) s.out.push_back(s.N);
  shape_numel(s.out);
  return s;
}

void infer_matmul(NodeContext& ctx) {
  MatMulShapes s = matmul_shapes(ctx);
  ctx.set_output(0, ctx.input_dtype(0), s.out);
}

class MatMulKernel : public OpKernel {
 public:
  MatMulKernel(DType dtype, MatMulShapes s) : dtype_(dtype), s_(std::move(s)) {}

  void run(KernelContext& ctx) const override {
    visit_matmul_dtype(dtype_, [&](auto tag) { run_typed<decltype(tag)>(ctx); });
  }

 private:
  template <class T>
  void run_typed(KernelContext& ctx) const {
    const T* a = ctx.input(0).data_as<T>();
    const T* b = ctx.input(1).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t M = s_.M, K = s_.K, N = s_.N;
    const int64_t batches = shape_numel(s_.batch);
    std::fill(y, y + batches * M * N, T(0));
    if (batches == 0 || M == 0 || N == 0) return;

    const Shape ab(s_.a.begin(), s_.a.end() - 2), bb(s_.b.begin(), s_.b.end() - 2);
    const std::vector<int64_t> a_str = broadcast_strides(ab, s_.batch);
    const std::vector<int64_t> b_str = broadcast_strides(bb, s_.batch);
    const bool b_shared = std::all_of(b_str.begin(), b_str.end(), [](int64_t v) { return v == 0; });
    if (b_shared && shape_numel(ab) == batches) {
      // One B for every batch and A holds all of them: a single [batches*M, K] x [K, N].
      gemm_accumulate<T>(batches * M, N, K, a, K, b, N, y, N, ctx.pool);
      return;
    }
    auto one = [&](int64_t bi, kernels::ThreadPool* pool) {
      int64_t rem = bi, ao = 0, bo = 0;
      for (int64_t d = static_cast<int64_t>(s_.batch.size()) - 1; d >= 0; --d) {
        const int64_t i = rem % s_.batch[d];
        rem /= s_.batch[d];
        ao += i * a_str[d];
        bo += i * b_str[d];
      }
      gemm_accumulate<T>(M, N, K, a + ao * M * K, K, b + bo * K * N, N, y + bi * M * N, N, pool);
    };
    kernels::ThreadPool* pool = ctx.pool;
    if (pool && pool->size() > 1 && batches >= 2 * pool->size()) {
      pool->parallel_for(batches, [&](int64_t begin, int64_t end) {
        for (int64_t bi = begin; bi < end; ++bi) one(bi, nullptr);
      });
    } else {
      for (int64_t bi = 0; bi < batches; ++bi) one(bi, pool);
    }
  }

  DType dtype_;
  MatMulShapes s_;
};

// Y[batch..., M, N] = A[batch..., M, K] x B[batch..., K, N] on the gemm_f32 table with B
// read at run time: each batch item's B is packed into the calling thread's scratch in the
// table's panel layout (the PackedBF32 contract of the SIMD tables), then one table GEMM.
// Batch items go to threads whole when there are enough of them, else each GEMM splits its
// rows over the pool; the table's results do not depend on the thread count, so neither do
// these.
class RuntimeBGemmKernel : public OpKernel {
 public:
  RuntimeBGemmKernel(const kernels::GemmF32Ops* ops, const kernels::PackedBF32& layout, MatMulShapes s)
      : ops_(ops), isa_(layout.isa), nr_(layout.nr), kc_(layout.kc), s_(std::move(s)) {
    const Shape ab(s_.a.begin(), s_.a.end() - 2), bb(s_.b.begin(), s_.b.end() - 2);
    a_str_ = broadcast_strides(ab, s_.batch);
    b_str_ = broadcast_strides(bb, s_.batch);
    batches_ = shape_numel(s_.batch);
    b_shared_ = std::all_of(b_str_.begin(), b_str_.end(), [](int64_t v) { return v == 0; });
    a_whole_ = shape_numel(ab) == batches_;
  }

  std::string name() const override { return std::string(ops_->name) + "_runtime_b"; }

  void run(KernelContext& ctx) const override {
    const float* a = ctx.input(0).data_as<float>();
    const float* b = ctx.input(1).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    const int64_t M = s_.M, K = s_.K, N = s_.N;
    if (batches_ == 0 || M == 0) return;
    kernels::ThreadPool* pool = ctx.pool;
    if (b_shared_ && a_whole_) {
      // One B for every batch item and A holds all of them: a single [batches*M, K] x [K, N].
      thread_local kernels::ThreadScratch scratch;
      const kernels::PackedBF32 packed = pack(b, scratch);
      ops_->gemm(batches_ * M, a, K, packed, y, N, kernels::EpilogueF32{}, pool);
      return;
    }
    auto one = [&](int64_t bi, kernels::ThreadPool* gemm_pool) {
      int64_t rem = bi, ao = 0, bo = 0;
      for (int64_t d = static_cast<int64_t>(s_.batch.size()) - 1; d >= 0; --d) {
        const int64_t i = rem % s_.batch[d];
        rem /= s_.batch[d];
        ao += i * a_str_[d];
        bo += i * b_str_[d];
      }
      thread_local kernels::ThreadScratch scratch;
      const kernels::PackedBF32 packed = pack(b + bo * K * N, scratch);
      ops_->gemm(M, a + ao * M * K, K, packed, y + bi * M * N, N, kernels::EpilogueF32{}, gemm_pool);
    };
    if (pool && pool->size() > 1 && batches_ >= pool->size()) {
      pool->parallel_for(batches_, [&](int64_t begin, int64_t end) {
        for (int64_t bi = begin; bi < end; ++bi) one(bi, nullptr);
      });
    } else {
      for (int64_t bi = 0; bi < batches_; ++bi) one(bi, pool);
    }
  }

 private:
  // B [K, N] (row-major) in panels of nr columns, data[(p * K + k) * nr + j] = B[k, p*nr + j],
  // the columns past N zeroed; a view of `scratch`, valid until its next use on this thread.
  kernels::PackedBF32 pack(const float* b, kernels::ThreadScratch& scratch) const {
    const int64_t K = s_.K, N = s_.N, nr = nr_;
    const int64_t panels = (N + nr - 1) / nr;
    const size_t count = static_cast<size_t>(panels * K * nr);
    float* dst = scratch.get<float>(count);
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t n0 = p * nr, cols = std::min(nr, N - n0);
      float* panel = dst + p * K * nr;
      for (int64_t k = 0; k < K; ++k) {
        const float* src = b + k * N + n0;
        float* row = panel + k * nr;
        std::copy(src, src + cols, row);
        std::fill(row + cols, row + nr, 0.0f);
      }
    }
    kernels::PackedBF32 out;
    out.isa = isa_;
    out.K = K;
    out.N = N;
    out.nr = nr_;
    out.kc = kc_;
    out.data = kernels::AlignedBuffer::borrow(dst, count * sizeof(float), nullptr);
    return out;
  }

  const kernels::GemmF32Ops* ops_;
  kernels::Isa isa_;
  int64_t nr_, kc_;  // the table's panel layout for this K
  MatMulShapes s_;
  std::vector<int64_t> a_str_, b_str_;  // batch strides (in matrices), 0 along broadcast dims
  int64_t batches_ = 0;
  bool b_shared_ = false, a_whole_ = false;
};

struct MatMulDesc {
  const NodeContext* ctx = nullptr;
  MatMulShapes shapes;
};

// A constant 2-D (or 1-D) B shared by every batch: all rows of A in one GEMM.
std::string matmul_packed_conditions(const MatMulDesc& d) {
  const NodeContext& ctx = *d.ctx;
  if (std::string why = packed_gemm_problem(ctx); !why.empty()) return why;
  if (ctx.input_shape(1).size() > 2) return "B has batch dims " + shape_str(ctx.input_shape(1));
  if (ctx.input_shape(0).size() < 2) return "A is a vector";
  if (d.shapes.N == 0) return "N = 0";
  return {};
}

std::unique_ptr<OpKernel> create_matmul_packed(const MatMulDesc& d, const NodeContext& ctx) {
  const kernels::GemmF32Ops* ops = f32_table(ctx);
  kernels::PackedBF32 packed;
  packed_b_f32(ctx, 1, ops, d.shapes.K, d.shapes.N, &packed, [&](kernels::PackedBF32* out) {
    ops->pack_b(ctx.input_const(1)->data_as<float>(), d.shapes.K, d.shapes.N, d.shapes.N, false, out);
  });
  return std::make_unique<PackedGemmKernel>(ops, std::move(packed), std::vector<float>(), false);
}

// A run-time B on the FP32 table: the SIMD levels only (their panel layout is the packing
// contract this kernel writes to).
std::string matmul_runtime_b_conditions(const MatMulDesc& d) {
  const NodeContext& ctx = *d.ctx;
  if (std::string why = declined_on_ref_level(ctx); !why.empty()) return why;
  if (ctx.input_dtype(0) != DType::f32) return std::string(dtype_name(ctx.input_dtype(0))) + " (the GEMM is FP32)";
  if (d.shapes.N == 0) return "N = 0";
  if (d.shapes.K == 0) return "K = 0";
  if (f32_table(ctx)->nr <= 1) return std::string("the table ") + f32_table(ctx)->name + " has no panel layout";
  return {};
}

std::unique_ptr<OpKernel> create_matmul_runtime_b(const MatMulDesc& d, const NodeContext& ctx) {
  const kernels::GemmF32Ops* ops = f32_table(ctx);
  // The table's layout for this K, from packing a K x 1 probe (nr and kc depend on K alone).
  kernels::PackedBF32 layout;
  const std::vector<float> probe(static_cast<size_t>(d.shapes.K), 0.0f);
  ops->pack_b(probe.data(), d.shapes.K, 1, 1, false, &layout);
  return std::make_unique<RuntimeBGemmKernel>(ops, layout, d.shapes);
}

std::unique_ptr<OpKernel> create_matmul_reference(const MatMulDesc& d, const NodeContext& ctx) {
  return std::make_unique<MatMulKernel>(ctx.input_dtype(0), d.shapes);
}

const OpImpl<MatMulDesc> kMatMulImpls[] = {
    {"matmul_packed_gemm", matmul_packed_conditions, create_matmul_packed},
    {"matmul_runtime_b_gemm", matmul_runtime_b_conditions, create_matmul_runtime_b},
    {"matmul_reference", accepts_every_node<MatMulDesc>, create_matmul_reference},
};

std::unique_ptr<OpKernel> create_matmul(const NodeContext& ctx) {
  MatMulDesc d;
  d.ctx = &ctx;
  d.shapes = matmul_shapes(ctx);
  return create_first_accepting(kMatMulImpls, d, ctx);
}

// ---- Gemm --------------------------------------------------------------------------------

struct GemmParams {
  const NodeContext* ctx = nullptr;  // the node, for its implementations' conditions
  bool trans_a = false, trans_b = false;
  float alpha = 1, beta = 1;
  int64_t M = 0, K = 0, N = 0;
  bool has_c = false;
  Shape c_shape;
};

GemmParams gemm_params(const NodeContext& ctx) {
  const DType dt = ctx.input_dtype(0);
  ctx.check(matmul_dtype_ok(dt),
            std::string("unsupported dtype ") + dtype_name(dt) + " for input 0");
  for (size_t i = 1; i < 3; ++i)
    if (ctx.has_input(i))
      ctx.check(ctx.input_dtype(i) == dt, std::string("unsupported dtype ") +
                                              dtype_name(ctx.input_dtype(i)) + " for input " +
                                              std::to_string(i) + " (must match input 0)");
  GemmParams p;
  p.trans_a = ctx.node().attr_i("transA", 0) != 0;
  p.trans_b = ctx.node().attr_i("transB", 0) != 0;
  p.alpha = ctx.node().attr_f("alpha", 1.0f);
  p.beta = ctx.node().attr_f("beta", 1.0f);
  const Shape& a = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  ctx.check(a.size() == 2 && b.size() == 2,
            "A and B must be matrices, got " + shape_str(a) + " and " + shape_str(b));
  p.M = p.trans_a ? a[1] : a[0];
  p.K = p.trans_a ? a[0] : a[1];
  const int64_t kb = p.trans_b ? b[1] : b[0];
  p.N = p.trans_b ? b[0] : b[1];
  ctx.check(kb == p.K, "inner dimensions differ: A " + shape_str(a) + (p.trans_a ? "^T" : "") +
                           " x B " + shape_str(b) + (p.trans_b ? "^T" : ""));
  p.has_c = ctx.has_input(2);
  if (p.has_c) {
    p.c_shape = ctx.input_shape(2);
    const Shape& c = p.c_shape;
    bool ok = c.size() <= 2;
    if (ok && c.size() >= 1) ok = c.back() == 1 || c.back() == p.N;
    if (ok && c.size() == 2) ok = c[0] == 1 || c[0] == p.M;
    ctx.check(ok, "C " + shape_str(c) + " does not broadcast to [" + std::to_string(p.M) + "," +
                      std::to_string(p.N) + "]");
  }
  return p;
}

void infer_gemm(NodeContext& ctx) {
  GemmParams p = gemm_params(ctx);
  Shape y{p.M, p.N};
  shape_numel(y);
  ctx.set_output(0, ctx.input_dtype(0), y);
}

class GemmKernel : public OpKernel {
 public:
  GemmKernel(DType dtype, GemmParams p, Tensor b_rowmajor)
      : dtype_(dtype), p_(std::move(p)), b_rowmajor_(std::move(b_rowmajor)) {}

  void run(KernelContext& ctx) const override {
    visit_matmul_dtype(dtype_, [&](auto tag) { run_typed<decltype(tag)>(ctx); });
  }
  size_t weights_bytes() const override { return b_rowmajor_.nbytes(); }

 private:
  template <class T>
  void run_typed(KernelContext& ctx) const {
    const int64_t M = p_.M, K = p_.K, N = p_.N;
    T* y = ctx.output(0).data_as<T>();
    std::fill(y, y + M * N, T(0));
    const T* a = ctx.input(0).data_as<T>();
    std::vector<T> a_buf, b_buf;
    if (p_.trans_a) {
      a_buf.resize(static_cast<size_t>(M * K));
      transpose_matrix(a, K, M, a_buf.data());
      a = a_buf.data();
    }
    const T* b = ctx.input(1).data_as<T>();
    if (!b_rowmajor_.empty()) {
      b = b_rowmajor_.data_as<T>();
    } else if (p_.trans_b) {
      b_buf.resize(static_cast<size_t>(K * N));
      transpose_matrix(b, N, K, b_buf.data());
      b = b_buf.data();
    }
    gemm_accumulate<T>(M, N, K, a, K, b, N, y, N, ctx.pool);

    const T alpha = static_cast<T>(p_.alpha), beta = static_cast<T>(p_.beta);
    const T* c = p_.has_c && p_.beta != 0 ? ctx.input(2).data_as<T>() : nullptr;
    if (p_.alpha == 1 && !c) return;
    // C's strides within [M, N]: 0 along a broadcast dim.
    const std::vector<int64_t> cs =
        c ? broadcast_strides(p_.c_shape, Shape{M, N}) : std::vector<int64_t>{0, 0};
    for (int64_t i = 0; i < M; ++i) {
      T* yr = y + i * N;
      if (p_.alpha != 1)
        for (int64_t j = 0; j < N; ++j) yr[j] = alpha * yr[j];
      if (c) {
        const T* cr = c + i * cs[0];
        for (int64_t j = 0; j < N; ++j) yr[j] += beta * cr[j * cs[1]];
      }
    }
  }

  DType dtype_;
  GemmParams p_;
  Tensor b_rowmajor_;  // a constant B^T transposed once at creation; empty otherwise
};

// Gemm with a constant B, no transA: B (times alpha) packed once; beta*C as a per-column
// bias when C is constant and broadcast over rows, or added as a residual when C is [M, N]
// and beta is 1.
bool c_per_column(const GemmParams& p) {
  const Shape& cs = p.c_shape;
  return cs.empty() || cs.size() == 1 || cs[0] == 1;
}

std::string gemm_packed_conditions(const GemmParams& p) {
  const NodeContext& ctx = *p.ctx;
  if (std::string why = packed_gemm_problem(ctx); !why.empty()) return why;
  if (p.trans_a) return "transA";
  if (p.N == 0) return "N = 0";
  if (p.has_c && p.beta != 0) {
    const Shape& cs = p.c_shape;
    if (c_per_column(p) && ctx.input_const(2)) return {};
    if (!(cs.size() == 2 && cs[0] == p.M && cs[1] == p.N && p.beta == 1))
      return "C " + shape_str(cs) + " is neither a constant row nor [M, N] with beta 1";
  }
  return {};
}

std::unique_ptr<OpKernel> create_gemm_packed(const GemmParams& p, const NodeContext& ctx) {
  const kernels::GemmF32Ops* ops = f32_table(ctx);
  const Tensor* b = ctx.input_const(1);
  std::vector<float> bias;
  bool c_residual = false;
  if (p.has_c && p.beta != 0) {
    const Tensor* c = ctx.input_const(2);
    if (c_per_column(p) && c) {
      const int64_t cn = c->numel();
      bias.resize(static_cast<size_t>(p.N));
      for (int64_t j = 0; j < p.N; ++j)
        bias[static_cast<size_t>(j)] = p.beta * c->data_as<float>()[cn == 1 ? 0 : j];
    } else {
      c_residual = true;
    }
  }
  kernels::PackedBF32 packed;
  packed_b_f32(ctx, 1, ops, p.K, p.N, &packed, [&](kernels::PackedBF32* out) {
    std::vector<float> scaled;
    const float* bd = b->data_as<float>();
    if (p.alpha != 1) {
      scaled.assign(bd, bd + b->numel());
      for (float& v : scaled) v *= p.alpha;
      bd = scaled.data();
    }
    ops->pack_b(bd, p.K, p.N, p.trans_b ? p.K : p.N, p.trans_b, out);
  });
  return std::make_unique<PackedGemmKernel>(ops, std::move(packed), std::move(bias), c_residual);
}

std::unique_ptr<OpKernel> create_gemm_reference(const GemmParams& p, const NodeContext& ctx) {
  Tensor b_rowmajor;
  const Tensor* b = ctx.input_const(1);
  if (p.trans_b && b) {
    b_rowmajor = Tensor(b->dtype(), Shape{p.K, p.N});
    visit_matmul_dtype(b->dtype(), [&](auto tag) {
      using T = decltype(tag);
      transpose_matrix(b->data_as<T>(), p.N, p.K, b_rowmajor.data_as<T>());
    });
  }
  return std::make_unique<GemmKernel>(ctx.input_dtype(0), p, std::move(b_rowmajor));
}

const OpImpl<GemmParams> kGemmImpls[] = {
    {"gemm_packed_gemm", gemm_packed_conditions, create_gemm_packed},
    {"gemm_reference", accepts_every_node<GemmParams>, create_gemm_reference},
};

std::unique_ptr<OpKernel> create_gemm(const NodeContext& ctx) {
  GemmParams p = gemm_params(ctx);
  p.ctx = &ctx;
  return create_first_accepting(kGemmImpls, p, ctx);
}

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  r.add(OpDef{"", "MatMul", infer_matmul, create_matmul});
  r.add(OpDef{"", "Gemm", infer_gemm, create_gemm});
}

}  // namespace octet::detail
