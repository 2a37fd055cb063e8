// NegativeLogLikelihoodLoss (opset 12/13): loss[n, d] = -input[n, label[n, d], d] * weight[label],
// reduced by "none", "sum" or "mean" (over the weights applied), positions labelled
// ignore_index contributing nothing.
#include "ops/loss/loss.h"

namespace octet::detail {
namespace {

template <class T, class Label>
class NllLossKernel final : public OpKernel {
 public:
  NllLossKernel(LossLayout l, LossAttrs a) : l_(l), a_(a) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    const Label* labels = ctx.input(1).data_as<Label>();
    const T* weights = ctx.has_input(2) ? ctx.input(2).data_as<T>() : nullptr;
    const int64_t c = l_.c, d = l_.d;
    weighted_nll(l_, a_, labels, weights, ctx.output(0).data_as<T>(), "NegativeLogLikelihoodLoss",
                 [&](int64_t i, int64_t label) { return x[((i / d) * c + label) * d + i % d]; });
  }

 private:
  LossLayout l_;
  LossAttrs a_;
};

}  // namespace

void register_nll_loss_ops(OpRegistry& r) {
  r.add(OpDef{"", "NegativeLogLikelihoodLoss", infer_loss_output, create_loss_kernel<NllLossKernel>});
}

}  // namespace octet::detail
