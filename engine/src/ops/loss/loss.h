// The loss op family: NegativeLogLikelihoodLoss (nll_loss.cc) and SoftmaxCrossEntropyLoss
// (softmax_cross_entropy_loss.cc), both in their opset-13 form. They share the input contract
// (scores [N, C, d1..dk], labels [N, d1..dk] of int32/int64, optional weights [C]), the
// attributes (reduction, ignore_index) and the weighted gather-and-reduce written here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ops/float_kernel.h"

namespace octet::detail {

enum class LossReduction { none, sum, mean };

// The scores seen as [n, c, d] (d = d1 * ... * dk, 1 without extra dims); labels as [n, d].
struct LossLayout {
  int64_t n = 1, c = 1, d = 1;
};

struct LossAttrs {
  LossReduction reduction = LossReduction::mean;
  bool has_ignore = false;  // ignore_index given
  int64_t ignore_index = 0;
};

// Validates the node's inputs (scores 0, labels 1, optional weights 2) and attributes, and
// sets output 0 (the loss: the labels' shape for reduction "none", else a scalar).
// Fails through c with the reason.
void infer_loss_output(NodeContext& c);
LossLayout loss_layout(const NodeContext& c);
LossAttrs loss_attrs(const NodeContext& c);

// The loss from the log-probability of each position's label: log_prob_at(i, label) with
// i = n * d + j the position in the labels. loss_i = -log_prob * weight[label] (weight 1
// without weights), 0 with weight 0 where label == ignore_index. "sum" adds them, "mean"
// divides that sum by the sum of the weights applied (NaN when every position is ignored, as
// 0 / 0). A label outside [0, C) other than ignore_index throws Error naming `op`.
template <class T, class Label, class LogProbAt>
void weighted_nll(const LossLayout& l, const LossAttrs& a, const Label* labels, const T* weights, T* out,
                  const char* op, LogProbAt log_prob_at) {
  const int64_t count = l.n * l.d;
  double total = 0, total_weight = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t label = static_cast<int64_t>(labels[i]);
    T loss = T(0), weight = T(0);
    if (!(a.has_ignore && label == a.ignore_index)) {
      if (label < 0 || label >= l.c)
        throw Error(std::string(op) + ": label " + std::to_string(label) + " at position " + std::to_string(i) +
                    " is outside [0, " + std::to_string(l.c) + ")" +
                    (a.has_ignore ? " and is not ignore_index " + std::to_string(a.ignore_index) : ""));
      weight = weights != nullptr ? weights[label] : T(1);
      loss = -log_prob_at(i, label) * weight;
    }
    if (a.reduction == LossReduction::none) {
      out[i] = loss;
    } else {
      total += static_cast<double>(loss);
      total_weight += static_cast<double>(weight);
    }
  }
  if (a.reduction == LossReduction::sum) out[0] = static_cast<T>(total);
  if (a.reduction == LossReduction::mean) out[0] = static_cast<T>(total / total_weight);
}

// The kernel Kernel<T, Label>(layout, attrs) for the node's scores dtype (f16/bf16 through
// f32) and labels dtype (int32 / int64), after infer_loss_output has validated the node.
template <template <class, class> class Kernel>
std::unique_ptr<OpKernel> create_loss_kernel(const NodeContext& c) {
  const LossLayout l = loss_layout(c);
  const LossAttrs a = loss_attrs(c);
  const bool labels32 = c.input_dtype(1) == DType::s32;
  return make_float_kernel(c.input_dtype(0), [&](auto tag) -> std::unique_ptr<OpKernel> {
    using T = decltype(tag);
    if (labels32) return std::make_unique<Kernel<T, int32_t>>(l, a);
    return std::make_unique<Kernel<T, int64_t>>(l, a);
  });
}

// Called by register_loss_ops (loss.cc).
void register_nll_loss_ops(OpRegistry& r);                 // nll_loss.cc
void register_softmax_cross_entropy_ops(OpRegistry& r);   // softmax_cross_entropy_loss.cc

}  // namespace octet::detail
