// FP32 Conv on the gemm_f32 table, NCHW in and out.
//
// Orientation: per image and group, Y_g[Mg, P] = W_g[Mg, K] x col_g[K, P] (K = Cg*kh*kw,
// P = output pixels). The table reads A in place (row-major, any lda) and B packed into
// nr-wide panels, so A is the constant weight matrix as the model stores it and B the
// activations: each block of output columns is packed straight from X into the panel layout
// (gemm_f32.h): for a 1x1 stride-1 unpadded conv that is a copy of X's rows (no im2col), for
// KxK it is the im2col of the block only, into a per-thread scratch of bounded size. The
// output comes out in NCHW with no transpose. (The other orientation, Y^T = col^T x W^T,
// would need X in NHWC and give NHWC.)
//
// Epilogue: the table's bias is per column (here: per pixel), so the per-channel bias (and
// the fused residual Z) are written into Y first and the GEMM starts its FMA chain from them
// (residual = Y, aliasing allowed); ReLU / clip run in the GEMM's store.
//
// Threads: one task per thread and per image and group, over its own columns (each thread
// packs only what it multiplies) or, when there are few columns, its own rows. Each output
// element is one FMA chain in fixed K order (the table's guarantee for any row/column
// subset), so results do not depend on the number of threads.
#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include "octet/kernels/registry.h"
#include "octet/kernels/thread_scratch.h"
#include "ops/conv/conv_fast.h"
#include "ops/impl_list.h"

namespace octet::detail {
namespace {

using kernels::EpilogueF32;
using kernels::GemmF32Ops;
using kernels::PackedBF32;

// Bytes of packed activations per block of output columns (about L2 size on Zen 4).
constexpr int64_t kBlockBytes = int64_t(1) << 20;

// The packing scratch of the calling thread, grown on demand (counted as kernel scratch).
struct PackScratch {
  PackedBF32 packed;
  ~PackScratch() { kernels::add_thread_scratch_bytes(-static_cast<std::ptrdiff_t>(packed.data.size())); }
};
PackedBF32& scratch(size_t bytes) {
  thread_local PackScratch s;
  const size_t before = s.packed.data.size();
  if (before < bytes) {
    s.packed.data.resize(bytes);
    kernels::add_thread_scratch_bytes(static_cast<std::ptrdiff_t>(bytes - before));
  }
  return s.packed;
}

class ConvGemmKernel : public OpKernel {
 public:
  ConvGemmKernel(const GemmF32Ops* ops, kernels::PackIm2colF32 pack, const PackedBF32& layout,
                 const WindowGeometry& g, int64_t C, int64_t M, int64_t group, Tensor w,
                 Tensor bias, ConvFusion fusion)
      : ops_(ops), pack_(pack), isa_(layout.isa), nr_(layout.nr), kc_(layout.kc), g_(g), C_(C), M_(M),
        G_(group), w_(std::move(w)), bias_(std::move(bias)), fusion_(fusion) {
    Cg_ = C_ / G_;
    Mg_ = M_ / G_;
    K_ = Cg_ * g_.kernel[1] * g_.kernel[2];
    P_ = g_.out[1] * g_.out[2];
    pointwise_ = g_.kernel[1] == 1 && g_.kernel[2] == 1 && g_.stride[1] == 1 &&
                 g_.stride[2] == 1 && g_.pad_begin[1] == 0 && g_.pad_begin[2] == 0 &&
                 g_.pad_end[1] == 0 && g_.pad_end[2] == 0;
    rows_.reserve(static_cast<size_t>(K_));
    const int64_t IW = g_.in[2], OW = g_.out[2], SW = g_.stride[2];
    for (int64_t c = 0; c < Cg_; ++c)
      for (int64_t kh = 0; kh < g_.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g_.kernel[2]; ++kw) {
          kernels::Im2colRowF32 r{c * g_.in[1] * IW, kh * g_.dilation[1] - g_.pad_begin[1],
                   kw * g_.dilation[2] - g_.pad_begin[2], 0, 0};
          r.ow_lo = r.w_off >= 0 ? 0 : (-r.w_off + SW - 1) / SW;
          r.ow_hi = IW - 1 - r.w_off >= 0 ? (IW - 1 - r.w_off) / SW + 1 : 0;
          r.ow_lo = std::min(r.ow_lo, OW);
          r.ow_hi = std::clamp(r.ow_hi, r.ow_lo, OW);
          rows_.push_back(r);
        }
    im2col_.in_h = g_.in[1];
    im2col_.in_w = g_.in[2];
    im2col_.out_w = g_.out[2];
    im2col_.stride_h = g_.stride[1];
    im2col_.stride_w = g_.stride[2];
    im2col_.pointwise = pointwise_;
    // A row stride that is a multiple of 2 KiB makes the GEMM copy A on every call (L1 set
    // conflicts): keep the weights with a padded stride instead, once.
    lda_ = K_;
    if ((K_ * 4) % 2048 == 0) {
      lda_ = K_ + 16;
      Tensor padded(DType::f32, {M_, lda_});
      for (int64_t m = 0; m < M_; ++m)
        std::copy(w_.data_as<float>() + m * K_, w_.data_as<float>() + (m + 1) * K_,
                  padded.data_as<float>() + m * lda_);
      w_ = std::move(padded);
    }
    // Columns per block: whole panels within kBlockBytes; one block when P is not much more.
    int64_t cols = std::max<int64_t>(1, kBlockBytes / (K_ * 4) / nr_) * nr_;
    if (cols + cols / 2 >= P_) cols = P_;
    block_cols_ = cols;
  }

  std::string name() const override {
    return std::string(pointwise_ ? "conv1x1_gemm[" : "conv_im2col_gemm[") + ops_->name + "]";
  }

  // The padded copy of the weights, when one was made (otherwise the graph's constant).
  size_t weights_bytes() const override { return lda_ != K_ ? w_.nbytes() : 0; }
  bool owns_copy_of_input(size_t i) const override { return i == 1 && lda_ != K_; }

  void run(KernelContext& ctx) const override {
    const Tensor& xt = ctx.input(0);
    const float* x = xt.data_as<float>();
    const float* z = fusion_.residual ? ctx.input(FusedConvIn::kZ).data_as<float>() : nullptr;
    float* y = ctx.output(0).data_as<float>();
    const int64_t N = xt.shape()[0];
    const int64_t IS = g_.in[1] * g_.in[2];
    const float* bias = bias_.empty() ? nullptr : bias_.data_as<float>();
    kernels::ThreadPool* pool = ctx.pool;
    int threads = pool ? pool->size() : 1;
    // Below ~1M multiply-adds the wake-up of other threads costs more than it saves.
    if (double(Mg_) * double(K_) * double(P_) < double(1 << 20)) threads = 1;
    const int64_t panels = (P_ + nr_ - 1) / nr_;
    const int64_t m_tiles = (Mg_ + ops_->mr - 1) / ops_->mr;
    // One wake-up per image and group: each thread packs and multiplies its own share.
    // With enough panels the threads split the columns (each packs only its own); otherwise
    // they split the rows (tiles of mr) and each packs every column (a small B then).
    const bool split_columns = panels >= 4 * threads || m_tiles < threads;
    if (panels < threads && m_tiles < threads) threads = 1;

    for (int64_t n = 0; n < N; ++n)
      for (int64_t gi = 0; gi < G_; ++gi) {
        Slice sl;
        sl.x = x + (n * C_ + gi * Cg_) * IS;
        sl.y = y + (n * M_ + gi * Mg_) * P_;
        sl.z = z ? z + (n * M_ + gi * Mg_) * P_ : nullptr;
        sl.bias = bias ? bias + gi * Mg_ : nullptr;
        sl.w = w_.data_as<float>() + gi * Mg_ * lda_;
        if (threads == 1) {
          run_part(sl, 0, P_, 0, Mg_);
          continue;
        }
        std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
        pool->run_tasks(threads, [&](int t) {
          try {
            int64_t b, e;
            if (split_columns) {
              kernels::split_range(panels, threads, t, &b, &e);
              run_part(sl, b * nr_, std::min(P_, e * nr_), 0, Mg_);
            } else {
              kernels::split_range(m_tiles, threads, t, &b, &e);
              run_part(sl, 0, P_, b * ops_->mr, std::min(Mg_, e * ops_->mr));
            }
          } catch (...) {
            errors[static_cast<size_t>(t)] = std::current_exception();
          }
        });
        for (const std::exception_ptr& e : errors)
          if (e) std::rethrow_exception(e);
      }
  }

 private:
  // One image and group.
  struct Slice {
    const float* x;     // its input channels
    float* y;           // its output channels
    const float* z;     // its residual channels, or null
    const float* bias;  // its bias, or null
    const float* w;     // its weight rows (stride lda_)
  };

  // Output columns [c0, c1) x rows [m0, m1) of one slice on the calling thread, in blocks
  // of block_cols_ columns: pack, write bias + residual into Y, GEMM (epilogue: residual =
  // Y, activation).
  void run_part(const Slice& sl, int64_t c0, int64_t c1, int64_t m0, int64_t m1) const {
    if (c1 <= c0 || m1 <= m0) return;
    const int64_t panels_max = (block_cols_ + nr_ - 1) / nr_;
    PackedBF32& packed = scratch(static_cast<size_t>(panels_max * K_ * nr_) * sizeof(float));
    packed.isa = isa_;
    packed.nr = nr_;
    packed.kc = kc_;
    packed.K = K_;
    float* dst = packed.data.as<float>();
    const bool has_init = sl.bias || sl.z;
    for (int64_t p0 = c0; p0 < c1; p0 += block_cols_) {
      const int64_t cols = std::min(block_cols_, c1 - p0);
      const int64_t panels = (cols + nr_ - 1) / nr_;
      auto pack = [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q)
          pack_panel(sl.x, p0 + q * nr_, std::min<int64_t>(nr_, cols - q * nr_), dst + q * K_ * nr_);
      };
      auto init = [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
          float* yr = sl.y + m * P_ + p0;
          const float b = sl.bias ? sl.bias[m] : 0.0f;
          if (sl.z) {
            const float* zr = sl.z + m * P_ + p0;
            for (int64_t j = 0; j < cols; ++j) yr[j] = b + zr[j];
          } else {
            for (int64_t j = 0; j < cols; ++j) yr[j] = b;
          }
        }
      };
      pack(0, panels);
      if (has_init) init(m0, m1);
      packed.N = cols;
      EpilogueF32 ep;
      if (has_init) {
        ep.residual = sl.y + p0;
        ep.ldr = P_;
      }
      ep.act = fusion_.act;
      ep.clip_lo = fusion_.clip_lo;
      ep.clip_hi = fusion_.clip_hi;
      if (has_init) ep.residual += m0 * P_;
      ops_->gemm(m1 - m0, sl.w + m0 * lda_, lda_, packed, sl.y + m0 * P_ + p0, P_, ep, nullptr);
    }
  }

  // Packs output columns [p, p + cols) (cols <= nr) of the im2col matrix of one image and
  // group into one panel (the table's packer).
  void pack_panel(const float* xg, int64_t p, int64_t cols, float* dst) const {
    pack_(im2col_, rows_.data(), K_, xg, p, cols, nr_, dst);
  }

  const GemmF32Ops* ops_;
  kernels::PackIm2colF32 pack_;
  kernels::Im2colF32 im2col_;
  kernels::Isa isa_;
  int64_t nr_, kc_;
  WindowGeometry g_;
  int64_t C_, M_, G_, Cg_ = 0, Mg_ = 0, K_ = 0, P_ = 0;
  Tensor w_, bias_;
  ConvFusion fusion_;
  bool pointwise_ = false;
  int64_t lda_ = 0;  // row stride of the weights in w_
  std::vector<kernels::Im2colRowF32> rows_;
  int64_t block_cols_ = 0;
};

}  // namespace

namespace {

// The table's layout parameters for this K (isa, nr, kc), from packing a K x 1 matrix.
PackedBF32 panel_layout(const GemmF32Ops& ops, int64_t K) {
  std::vector<float> probe_b(static_cast<size_t>(K), 0.0f);
  PackedBF32 layout;
  ops.pack_b(probe_b.data(), K, 1, 1, false, &layout);
  return layout;
}

}  // namespace

std::string conv_fast_problem(const ConvDesc& d) {
  const NodeContext& ctx = *d.ctx;
  if (std::string why = declined_on_ref_level(ctx); !why.empty()) return why;
  if (ctx.input_dtype(0) != DType::f32) return std::string(dtype_name(ctx.input_dtype(0))) + " (the fast kernels are FP32)";
  const WindowGeometry& g = d.shape.win;
  if (g.in[0] != 1 || g.kernel[0] != 1 || g.out[0] != 1) return "3-D";
  if (!ctx.input_const(1)) return "the weights are not constant";
  if (ctx.has_input(2) && !ctx.input_const(2)) return "the bias is not constant";
  return {};
}

std::string conv_gemm_conditions(const ConvDesc& d) {
  if (std::string why = conv_fast_problem(d); !why.empty()) return why;
  const GemmF32Ops* ops = kernels::kernel_registry(d.ctx->isa()).gemm_f32;
  if (ops->nr <= 1) return std::string(ops->name) + " has no panel layout to pack the im2col matrix into";
  const int64_t K = d.shape.k_size();
  if (K == 0 || d.shape.win.out_size() == 0) return "an empty convolution";
  if (panel_layout(*ops, K).nr != ops->nr) return std::string(ops->name) + " packs K = " + std::to_string(K) + " in another panel width";
  return {};
}

std::unique_ptr<OpKernel> create_conv_gemm(const ConvDesc& d, const NodeContext& ctx) {
  const kernels::KernelRegistry& reg = kernels::kernel_registry(ctx.isa());
  const Tensor* b = ctx.has_input(2) ? ctx.input_const(2) : nullptr;
  const ConvShape& s = d.shape;
  return std::make_unique<ConvGemmKernel>(reg.gemm_f32, reg.im2col_f32.run, panel_layout(*reg.gemm_f32, s.k_size()),
                                          s.win, s.channels, s.out_channels, s.group, *ctx.input_const(1),
                                          b ? *b : Tensor(), d.fusion);
}

}  // namespace octet::detail
