// SoftmaxCrossEntropyLoss (opset 12/13): log_prob = LogSoftmax(scores) over the class axis 1,
// then NegativeLogLikelihoodLoss(log_prob, labels, weights) with the same reduction and
// ignore_index. The optional second output is log_prob itself.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/loss/loss.h"

namespace octet::detail {
namespace {

template <class T, class Label>
class SoftmaxCrossEntropyKernel final : public OpKernel {
 public:
  SoftmaxCrossEntropyKernel(LossLayout l, LossAttrs a) : l_(l), a_(a) {}
  void run(KernelContext& ctx) const override {
    const T* x = ctx.input(0).data_as<T>();
    const Label* labels = ctx.input(1).data_as<Label>();
    const T* weights = ctx.has_input(2) ? ctx.input(2).data_as<T>() : nullptr;
    T* log_prob = ctx.has_output(1) ? ctx.output(1).data_as<T>() : nullptr;
    const int64_t n = l_.n, c = l_.c, d = l_.d;
    // log-sum-exp over the classes of each position [n, d], with the max subtracted first so no
    // exponent overflows; the class rows of one n are walked contiguously.
    std::vector<double> lse(static_cast<size_t>(n * d)), peak(static_cast<size_t>(d));
    if (c > 0) {
      for (int64_t b = 0; b < n; ++b) {
        const T* xb = x + b * c * d;
        double* lb = lse.data() + b * d;
        for (int64_t j = 0; j < d; ++j) peak[j] = static_cast<double>(xb[j]);
        for (int64_t k = 1; k < c; ++k)
          for (int64_t j = 0; j < d; ++j) peak[j] = std::max(peak[j], static_cast<double>(xb[k * d + j]));
        std::fill(lb, lb + d, 0.0);
        for (int64_t k = 0; k < c; ++k)
          for (int64_t j = 0; j < d; ++j) lb[j] += std::exp(static_cast<double>(xb[k * d + j]) - peak[j]);
        for (int64_t j = 0; j < d; ++j) lb[j] = peak[j] + std::log(lb[j]);
        if (log_prob != nullptr)
          for (int64_t k = 0; k < c; ++k)
            for (int64_t j = 0; j < d; ++j)
              log_prob[(b * c + k) * d + j] = static_cast<T>(static_cast<double>(xb[k * d + j]) - lb[j]);
      }
    }
    weighted_nll(l_, a_, labels, weights, ctx.output(0).data_as<T>(), "SoftmaxCrossEntropyLoss",
                 [&](int64_t i, int64_t label) {
                   return static_cast<T>(static_cast<double>(x[((i / d) * c + label) * d + i % d]) - lse[i]);
                 });
  }

 private:
  LossLayout l_;
  LossAttrs a_;
};

void infer_softmax_cross_entropy(NodeContext& c) {
  infer_loss_output(c);
  if (c.has_output(1)) c.set_output(1, c.input_dtype(0), c.input_shape(0));
}

}  // namespace

void register_softmax_cross_entropy_ops(OpRegistry& r) {
  r.add(OpDef{"", "SoftmaxCrossEntropyLoss", infer_softmax_cross_entropy,
              create_loss_kernel<SoftmaxCrossEntropyKernel>});
}

}  // namespace octet::detail
