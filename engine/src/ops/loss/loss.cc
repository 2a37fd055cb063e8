// The loss family's shared contract: input and attribute validation, the output shape, and the
// family's registration.
#include "ops/loss/loss.h"

namespace octet::detail {

LossLayout loss_layout(const NodeContext& c) {
  const Shape& x = c.input_shape(0);
  c.check(x.size() >= 2, "the scores (input 0) must have rank >= 2 ([N, C, d1..dk]), got " + shape_str(x));
  LossLayout l;
  l.n = x[0];
  l.c = x[1];
  for (size_t i = 2; i < x.size(); ++i) l.d *= x[i];
  return l;
}

LossAttrs loss_attrs(const NodeContext& c) {
  LossAttrs a;
  const std::string r = c.node().attr_s("reduction", "mean");
  if (r == "none") a.reduction = LossReduction::none;
  else if (r == "sum") a.reduction = LossReduction::sum;
  else if (r == "mean") a.reduction = LossReduction::mean;
  else c.fail("reduction must be \"none\", \"sum\" or \"mean\", got \"" + r + "\"");
  a.has_ignore = c.node().has_attr("ignore_index");
  if (a.has_ignore) a.ignore_index = c.node().attr_i("ignore_index", 0);
  return a;
}

void infer_loss_output(NodeContext& c) {
  check_input_dtype(c, 0, kFloatTypes);
  c.check(c.has_input(1), "the labels (input 1) are required");
  const DType labels_dtype = c.input_dtype(1);
  c.check(labels_dtype == DType::s32 || labels_dtype == DType::s64,
          std::string("unsupported dtype ") + dtype_name(labels_dtype) + " for input 1 (labels: int32 or int64)");
  const LossAttrs a = loss_attrs(c);
  loss_layout(c);  // the scores' rank
  const Shape& x = c.input_shape(0);
  const Shape& labels = c.input_shape(1);
  bool fits = labels.size() + 1 == x.size() && labels[0] == x[0];
  for (size_t i = 1; fits && i < labels.size(); ++i) fits = labels[i] == x[i + 1];
  c.check(fits, "the labels' shape " + shape_str(labels) + " must be the scores' shape " + shape_str(x) +
                    " without the class axis 1");
  if (c.has_input(2)) {
    check_same_dtype(c, 2);
    c.check(c.input_shape(2) == Shape{x[1]}, "the weights (input 2) must have shape [C] = " + shape_str(Shape{x[1]}) +
                                                 ", got " + shape_str(c.input_shape(2)));
  }
  c.set_output(0, c.input_dtype(0), a.reduction == LossReduction::none ? labels : Shape{});
}

void register_loss_ops(OpRegistry& r) {
  register_nll_loss_ops(r);
  register_softmax_cross_entropy_ops(r);
}

}  // namespace octet::detail
