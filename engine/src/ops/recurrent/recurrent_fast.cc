#include "ops/recurrent/recurrent_fast.h"

#include <algorithm>
#include <vector>

#include "octet/kernels/registry.h"
#include "ops/impl_list.h"
#include "ops/packed_weights.h"
#include "ops/recurrent/recurrent_gates.h"

namespace octet::detail {
namespace {

// One direction's constant operands, packed for the table.
struct PackedDirection {
  kernels::PackedBF32 w;        // W^T: [input, gates * hidden]
  std::vector<float> x_bias;    // the biases added to X W^T (Wb + Rb, except GRU's Rbh with linear_before_reset)
  kernels::PackedBF32 r;        // R^T: [hidden, gates * hidden] (GRU without linear_before_reset: z and r only)
  std::vector<float> r_bias;    // added to H R^T (GRU with linear_before_reset: 0 for z and r, then Rbh), or empty
  kernels::PackedBF32 r_h;      // GRU without linear_before_reset: Rh^T [hidden, hidden], applied to r * H
  std::vector<float> peephole;  // LSTM [3 * hidden] (i, o, f), or empty
};

class RecurrentFastKernel final : public OpKernel {
 public:
  RecurrentFastKernel(RecurrentDesc d, const kernels::GemmF32Ops* ops,
                      kernels::KernelEntry<kernels::GemvPackedF32Fn> gemv, std::vector<PackedDirection> dirs)
      : d_(std::move(d)), ops_(ops), gemv_(gemv), dirs_(std::move(dirs)) {}

  std::string name() const override {
    return std::string("recurrent_") + ops_->name + (use_gemv() ? std::string("+") + gemv_.name : "");
  }
  size_t weights_bytes() const override {
    size_t n = 0;
    for (const PackedDirection& p : dirs_) n += p.w.data.size() + p.r.data.size() + p.r_h.data.size();
    return n;
  }
  bool owns_copy_of_input(size_t i) const override { return i == kW || i == kR; }

  void run(KernelContext& ctx) const override {
    const RecurrentDesc& d = d_;
    const std::vector<int64_t> lens = recurrent_lengths(d, ctx.has_input(kSeqLens) ? &ctx.input(kSeqLens) : nullptr);
    const int64_t H = d.hidden, G = d.gates * H, B = d.batch;
    const int64_t max_len = lens.empty() ? 0 : *std::max_element(lens.begin(), lens.end());
    const bool lstm = d.cell == RecurrentCell::lstm;
    const float* x = ctx.input(kX).data_as<float>();
    const float* h0 = ctx.has_input(kInitialH) ? ctx.input(kInitialH).data_as<float>() : nullptr;
    const float* c0 = lstm && ctx.has_input(kInitialC) ? ctx.input(kInitialC).data_as<float>() : nullptr;
    float* y = ctx.has_output(0) ? ctx.output(0).data_as<float>() : nullptr;
    float* yh = ctx.has_output(1) ? ctx.output(1).data_as<float>() : nullptr;
    float* yc = lstm && ctx.has_output(2) ? ctx.output(2).data_as<float>() : nullptr;
    if (y) std::fill(y, y + ctx.output(0).numel(), 0.0f);

    const int64_t rows = d.seq * B;  // rows of X, in X's order (row index = x_row / input)
    std::vector<float> xw(static_cast<size_t>(rows * G));
    std::vector<float> h(static_cast<size_t>(B * H)), c(static_cast<size_t>(B * H));
    std::vector<float> hr(static_cast<size_t>(B * G)), rh(static_cast<size_t>(B * H)), gates(static_cast<size_t>(G));
    for (int64_t dir = 0; dir < d.dirs; ++dir) {
      const PackedDirection& p = dirs_[dir];
      kernels::EpilogueF32 xep;
      xep.bias = p.x_bias.data();
      ops_->gemm(rows, x, d.input, p.w, xw.data(), G, xep, ctx.pool);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t srow = d.state_row(dir, b);
        for (int64_t j = 0; j < H; ++j) {
          h[b * H + j] = h0 ? h0[srow + j] : 0.0f;
          c[b * H + j] = c0 ? c0[srow + j] : 0.0f;
        }
      }
      const bool backwards = d.reverse || dir == 1;
      for (int64_t s = 0; s < max_len; ++s) {
        // H R^T for every batch row (rows already past their length are computed and ignored).
        recurrent_product(h.data(), H, p.r, p.r_bias.empty() ? nullptr : p.r_bias.data(), hr.data(), G, ctx.pool);
        if (d.cell == RecurrentCell::gru && !d.linear_before_reset) gru_reset_product(dir, p, lens, s, backwards, xw, h, hr, rh, ctx);
        for (int64_t b = 0; b < B; ++b) {
          if (s >= lens[b]) continue;
          const int64_t t = backwards ? lens[b] - 1 - s : s;
          const float* xrow = xw.data() + d.x_row(t, b) / d.input * G;
          float* hb = h.data() + b * H;
          step(dir, p, xrow, hr.data() + b * G, hb, c.data() + b * H, gates.data());
          if (y) std::copy(hb, hb + H, y + d.y_row(t, dir, b));
        }
      }
      for (int64_t b = 0; b < B; ++b) {
        const int64_t srow = d.state_row(dir, b);
        if (yh) std::copy(h.begin() + b * H, h.begin() + (b + 1) * H, yh + srow);
        if (yc) std::copy(c.begin() + b * H, c.begin() + (b + 1) * H, yc + srow);
      }
    }
  }

 private:
  // One batch row: the GEMV keeps more FMA chains in flight than the GEMM's one-row tile.
  bool use_gemv() const { return d_.batch == 1 && gemv_.run != nullptr; }

  // C[batch, b.N] (ldc) = A[batch, K] (lda) x B + bias: the per-step product with R^T. The GEMV
  // splits B's panels over the pool when the product is large enough to pay for the wake-up.
  void recurrent_product(const float* a, int64_t lda, const kernels::PackedBF32& b, const float* bias, float* c,
                         int64_t ldc, kernels::ThreadPool* pool) const {
    if (!use_gemv()) {
      kernels::EpilogueF32 ep;
      ep.bias = bias;
      ops_->gemm(d_.batch, a, lda, b, c, ldc, ep, pool);
      return;
    }
    const int64_t panels = (b.N + b.nr - 1) / b.nr;
    if (pool && pool->size() > 1 && b.K * b.N >= (int64_t(1) << 17)) {
      pool->parallel_for(panels, [&](int64_t p0, int64_t p1) { gemv_.run(a, b, bias, c, p0, p1); });
    } else {
      gemv_.run(a, b, bias, c, 0, panels);
    }
  }

  // GRU without linear_before_reset: r = f(x_r + h R_r^T) for each active row, then
  // (r * H) Rh^T into the h block of hr (whose ld is 3H; the z and r blocks hold H R_zr^T).
  void gru_reset_product(int64_t dir, const PackedDirection& p, const std::vector<int64_t>& lens, int64_t s,
                         bool backwards, const std::vector<float>& xw, const std::vector<float>& h,
                         std::vector<float>& hr, std::vector<float>& rh, KernelContext& ctx) const {
    const RecurrentDesc& d = d_;
    const int64_t H = d.hidden, G = d.gates * H;
    std::vector<float> r(static_cast<size_t>(H));
    for (int64_t b = 0; b < d.batch; ++b) {
      float* rhb = rh.data() + b * H;
      if (s >= lens[b]) {
        std::fill(rhb, rhb + H, 0.0f);
        continue;
      }
      const int64_t t = backwards ? lens[b] - 1 - s : s;
      const float* xr = xw.data() + d.x_row(t, b) / d.input * G + H;
      const float* hrr = hr.data() + b * G + H;
      for (int64_t j = 0; j < H; ++j) r[j] = xr[j] + hrr[j];
      clip_gates(d, r.data(), H);
      activate(d.act(dir, 0), r.data(), H);
      const float* hb = h.data() + b * H;
      for (int64_t j = 0; j < H; ++j) rhb[j] = r[j] * hb[j];
    }
    recurrent_product(rh.data(), H, p.r_h, nullptr, hr.data() + 2 * H, G, ctx.pool);
  }

  // One step of one batch row: xrow = X W^T + biases, hrow = H R^T (+ bias); h, c in place.
  void step(int64_t dir, const PackedDirection& p, const float* xrow, const float* hrow, float* h, float* c,
            float* g) const {
    const RecurrentDesc& d = d_;
    const int64_t H = d.hidden;
    const RecurrentActivation& f = d.act(dir, 0);
    switch (d.cell) {
      case RecurrentCell::rnn:
        for (int64_t j = 0; j < H; ++j) g[j] = xrow[j] + hrow[j];
        clip_gates(d, g, H);
        activate(f, g, H);
        std::copy(g, g + H, h);
        return;
      case RecurrentCell::gru: {
        float* z = g;
        float* r = g + H;
        float* n = g + 2 * H;
        for (int64_t j = 0; j < 2 * H; ++j) g[j] = xrow[j] + hrow[j];
        clip_gates(d, g, 2 * H);
        activate(f, g, 2 * H);
        if (d.linear_before_reset)
          for (int64_t j = 0; j < H; ++j) n[j] = xrow[2 * H + j] + r[j] * hrow[2 * H + j];
        else
          for (int64_t j = 0; j < H; ++j) n[j] = xrow[2 * H + j] + hrow[2 * H + j];
        clip_gates(d, n, H);
        activate(d.act(dir, 1), n, H);
        for (int64_t j = 0; j < H; ++j) h[j] = (1.0f - z[j]) * n[j] + z[j] * h[j];
        return;
      }
      case RecurrentCell::lstm: {
        float* gi = g;
        float* go = g + H;
        float* gf = g + 2 * H;
        float* gc = g + 3 * H;
        for (int64_t j = 0; j < 4 * H; ++j) g[j] = xrow[j] + hrow[j];
        if (!p.peephole.empty()) {
          const float* pi = p.peephole.data();
          const float* pf = pi + 2 * H;
          for (int64_t j = 0; j < H; ++j) {
            gi[j] += pi[j] * c[j];
            gf[j] += pf[j] * c[j];
          }
        }
        clip_gates(d, gi, H);
        clip_gates(d, gf, 2 * H);  // f and c blocks
        activate(f, gi, H);
        if (d.input_forget)
          for (int64_t j = 0; j < H; ++j) gf[j] = 1.0f - gi[j];
        else
          activate(f, gf, H);
        activate(d.act(dir, 1), gc, H);
        for (int64_t j = 0; j < H; ++j) c[j] = gf[j] * c[j] + gi[j] * gc[j];
        if (!p.peephole.empty()) {
          const float* po = p.peephole.data() + H;
          for (int64_t j = 0; j < H; ++j) go[j] += po[j] * c[j];
        }
        clip_gates(d, go, H);
        activate(f, go, H);
        std::copy(c, c + H, gc);
        activate(d.act(dir, 2), gc, H);
        for (int64_t j = 0; j < H; ++j) h[j] = go[j] * gc[j];
        return;
      }
    }
  }

  RecurrentDesc d_;
  const kernels::GemmF32Ops* ops_;
  kernels::KernelEntry<kernels::GemvPackedF32Fn> gemv_;
  std::vector<PackedDirection> dirs_;
};

}  // namespace

std::string recurrent_fast_problem(const RecurrentDesc& d, const NodeContext& c) {
  (void)d;
  if (std::string why = declined_on_ref_level(c); !why.empty()) return why;
  if (c.input_dtype(kX) != DType::f32) return std::string(dtype_name(c.input_dtype(kX))) + " (the GEMM is FP32)";
  if (!c.input_const(kW) || !c.input_const(kR)) return "W or R is not constant";
  if (c.has_input(kB) && !c.input_const(kB)) return "B is not constant";
  if (c.has_input(kPeephole) && !c.input_const(kPeephole)) return "P is not constant";
  return {};
}

std::unique_ptr<OpKernel> create_recurrent_fast(const RecurrentDesc& d, const NodeContext& c) {
  const kernels::KernelRegistry& registry = kernels::kernel_registry(c.isa());
  const kernels::GemmF32Ops* ops = registry.gemm_f32;
  const int64_t H = d.hidden, G = d.gates * H, I = d.input;
  const bool gru_split = d.cell == RecurrentCell::gru && !d.linear_before_reset;
  const float* bias = c.has_input(kB) ? c.input_const(kB)->data_as<float>() : nullptr;
  std::vector<PackedDirection> dirs(static_cast<size_t>(d.dirs));
  for (int64_t dir = 0; dir < d.dirs; ++dir) {
    PackedDirection& p = dirs[dir];
    packed_b_f32(c, kW, ops, I, G, &p.w, [&](kernels::PackedBF32* out) {
      ops->pack_b(c.input_const(kW)->data_as<float>() + dir * G * I, I, G, I, true, out);
    });
    const int64_t r_cols = gru_split ? 2 * H : G;
    packed_b_f32(c, kR, ops, H, r_cols, &p.r, [&](kernels::PackedBF32* out) {
      ops->pack_b(c.input_const(kR)->data_as<float>() + dir * G * H, H, r_cols, H, true, out);
    });
    if (gru_split)
      packed_b_f32(c, kR, ops, H, H, &p.r_h, [&](kernels::PackedBF32* out) {
        ops->pack_b(c.input_const(kR)->data_as<float>() + dir * G * H + 2 * H * H, H, H, H, true, out);
      });
    p.x_bias.assign(static_cast<size_t>(G), 0.0f);
    if (bias) {
      const float* wb = bias + dir * 2 * G;
      const float* rb = wb + G;
      for (int64_t j = 0; j < G; ++j) p.x_bias[j] = wb[j] + rb[j];
      if (d.cell == RecurrentCell::gru && d.linear_before_reset) {
        // Rbh is inside r * (H Rh^T + Rbh): it goes with the recurrent product.
        p.r_bias.assign(static_cast<size_t>(G), 0.0f);
        for (int64_t j = 2 * H; j < G; ++j) {
          p.x_bias[j] = wb[j];
          p.r_bias[j] = rb[j];
        }
      }
    }
    if (d.cell == RecurrentCell::lstm && c.has_input(kPeephole)) {
      const float* pp = c.input_const(kPeephole)->data_as<float>() + dir * 3 * H;
      p.peephole.assign(pp, pp + 3 * H);
    }
  }
  return std::make_unique<RecurrentFastKernel>(d, ops, registry.gemv_packed_f32, std::move(dirs));
}

}  // namespace octet::detail
