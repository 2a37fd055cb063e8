#include "ops/recurrent/recurrent_ref.h"

#include <algorithm>
#include <vector>

#include "ops/float_kernel.h"

namespace octet::detail {
namespace {

template <class T>
T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t k = 0; k < n; ++k) s += a[k] * b[k];
  return s;
}

// The tensors of one direction, offset to that direction's slices.
template <class T>
struct DirectionData {
  const T* w;       // [gates * hidden, input]
  const T* r;       // [gates * hidden, hidden]
  const T* wb;      // [gates * hidden] or null
  const T* rb;      // [gates * hidden] or null
  const T* p;       // LSTM [3 * hidden] (i, o, f) or null
};

template <class T>
class RecurrentRefKernel final : public OpKernel {
 public:
  explicit RecurrentRefKernel(RecurrentDesc d) : d_(std::move(d)) {}

  void run(KernelContext& ctx) const override {
    const RecurrentDesc& d = d_;
    const std::vector<int64_t> lens = recurrent_lengths(d, ctx.has_input(kSeqLens) ? &ctx.input(kSeqLens) : nullptr);
    const int64_t H = d.hidden, G = d.gates * H;
    const T* x = ctx.input(kX).data_as<T>();
    const T* h0 = ctx.has_input(kInitialH) ? ctx.input(kInitialH).data_as<T>() : nullptr;
    const bool lstm = d.cell == RecurrentCell::lstm;
    const T* c0 = lstm && ctx.has_input(kInitialC) ? ctx.input(kInitialC).data_as<T>() : nullptr;
    T* y = ctx.has_output(0) ? ctx.output(0).data_as<T>() : nullptr;
    T* yh = ctx.has_output(1) ? ctx.output(1).data_as<T>() : nullptr;
    T* yc = lstm && ctx.has_output(2) ? ctx.output(2).data_as<T>() : nullptr;
    // Steps past a batch entry's length are zero in Y.
    if (y) std::fill(y, y + ctx.output(0).numel(), T(0));

    std::vector<T> h(H), c(H), pre(G), h_new(H);
    for (int64_t dir = 0; dir < d.dirs; ++dir) {
      DirectionData<T> dd;
      dd.w = ctx.input(kW).data_as<T>() + dir * G * d.input;
      dd.r = ctx.input(kR).data_as<T>() + dir * G * H;
      dd.wb = ctx.has_input(kB) ? ctx.input(kB).data_as<T>() + dir * 2 * G : nullptr;
      dd.rb = dd.wb ? dd.wb + G : nullptr;
      dd.p = lstm && ctx.has_input(kPeephole) ? ctx.input(kPeephole).data_as<T>() + dir * 3 * H : nullptr;
      const bool backwards = d.reverse || dir == 1;
      for (int64_t b = 0; b < d.batch; ++b) {
        const int64_t srow = d.state_row(dir, b);
        for (int64_t j = 0; j < H; ++j) {
          h[j] = h0 ? h0[srow + j] : T(0);
          c[j] = c0 ? c0[srow + j] : T(0);
        }
        for (int64_t s = 0; s < lens[b]; ++s) {
          const int64_t t = backwards ? lens[b] - 1 - s : s;
          step(dir, dd, x + d.x_row(t, b), h.data(), c.data(), pre.data(), h_new.data());
          if (y) std::copy(h.begin(), h.end(), y + d.y_row(t, dir, b));
        }
        if (yh) std::copy(h.begin(), h.end(), yh + srow);
        if (yc) std::copy(c.begin(), c.end(), yc + srow);
      }
    }
  }

 private:
  // One time step of one batch entry: h (and c) updated in place.
  void step(int64_t dir, const DirectionData<T>& dd, const T* xt, T* h, T* c, T* pre, T* h_new) const {
    const RecurrentDesc& d = d_;
    const int64_t H = d.hidden, I = d.input, G = d.gates * H;
    // Wb + Rb + X W^T, and H R^T for every gate except GRU's h gate, which needs r first.
    const int64_t recurrent_rows = d.cell == RecurrentCell::gru ? 2 * H : G;
    for (int64_t j = 0; j < G; ++j) {
      T v = dot(xt, dd.w + j * I, I);
      if (dd.wb) v += dd.wb[j];
      if (j < recurrent_rows) {
        v += dot(h, dd.r + j * H, H);
        if (dd.rb) v += dd.rb[j];
      }
      pre[j] = v;
    }
    const RecurrentActivation& f = d.act(dir, 0);
    switch (d.cell) {
      case RecurrentCell::rnn:
        for (int64_t j = 0; j < H; ++j) h[j] = f(d.clipped(pre[j]));
        break;
      case RecurrentCell::gru: {
        const RecurrentActivation& g = d.act(dir, 1);
        T* z = pre;
        T* r = pre + H;
        for (int64_t j = 0; j < 2 * H; ++j) pre[j] = f(d.clipped(pre[j]));
        const T* rh = dd.r + 2 * H * H;
        const T* rbh = dd.rb ? dd.rb + 2 * H : nullptr;
        if (d.linear_before_reset) {
          for (int64_t j = 0; j < H; ++j) {
            T lin = dot(h, rh + j * H, H) + (rbh ? rbh[j] : T(0));
            h_new[j] = g(d.clipped(pre[2 * H + j] + r[j] * lin));
          }
        } else {
          std::vector<T> rh_prod(H);
          for (int64_t k = 0; k < H; ++k) rh_prod[k] = r[k] * h[k];
          for (int64_t j = 0; j < H; ++j) {
            T lin = dot(rh_prod.data(), rh + j * H, H) + (rbh ? rbh[j] : T(0));
            h_new[j] = g(d.clipped(pre[2 * H + j] + lin));
          }
        }
        for (int64_t j = 0; j < H; ++j) h[j] = (T(1) - z[j]) * h_new[j] + z[j] * h[j];
        break;
      }
      case RecurrentCell::lstm: {
        const RecurrentActivation& g = d.act(dir, 1);
        const RecurrentActivation& hf = d.act(dir, 2);
        // Gate blocks in W / R / B: i, o, f, c; peepholes: i, o, f.
        const T* pi = dd.p;
        const T* po = dd.p ? dd.p + H : nullptr;
        const T* pf = dd.p ? dd.p + 2 * H : nullptr;
        for (int64_t j = 0; j < H; ++j) {
          const T it = f(d.clipped(pre[j] + (pi ? pi[j] * c[j] : T(0))));
          const T ft = d.input_forget ? T(1) - it : f(d.clipped(pre[2 * H + j] + (pf ? pf[j] * c[j] : T(0))));
          const T ct = g(d.clipped(pre[3 * H + j]));
          c[j] = ft * c[j] + it * ct;
          const T ot = f(d.clipped(pre[H + j] + (po ? po[j] * c[j] : T(0))));
          h[j] = ot * hf(c[j]);
        }
        break;
      }
    }
  }

  RecurrentDesc d_;
};

}  // namespace

std::unique_ptr<OpKernel> create_recurrent_ref(const RecurrentDesc& d, const NodeContext& c) {
  return make_float_kernel(c.input_dtype(kX), [&](auto tag) -> std::unique_ptr<OpKernel> {
    return std::make_unique<RecurrentRefKernel<decltype(tag)>>(d);
  });
}

}  // namespace octet::detail
