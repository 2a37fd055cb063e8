// The shape family's entry point, and the ops that only relabel a tensor's shape (Reshape,
// Flatten, Squeeze, Unsqueeze: a plain copy that the memory planner may turn into an alias)
// or whose output is known at compile time (Shape, Size).
#include <algorithm>
#include <set>

#include "ops/shape/shape_util.h"

namespace octet::detail {
namespace {

std::unique_ptr<OpKernel> create_copy(const NodeContext&) { return std::make_unique<CopyKernel>(); }

// --- Reshape ------------------------------------------------------------------------------

Shape reshape_target(const NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  std::vector<int64_t> spec = const_input_ints(ctx, 1, "Reshape's shape");
  if (ctx.input_shape(1).size() != 1) ctx.fail("the shape input must be 1-D");
  bool allowzero = ctx.node().attr_i("allowzero", 0) != 0;
  Shape out(spec.size());
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == -1) {
      if (infer_at >= 0) ctx.fail("the shape has more than one -1");
      infer_at = static_cast<int>(i);
      continue;
    }
    if (d == 0 && !allowzero) {
      if (i >= in.size()) ctx.fail("shape[" + std::to_string(i) + "] = 0 copies a dimension the input lacks");
      d = in[i];
    }
    if (d < 0) ctx.fail("invalid dimension " + std::to_string(d) + " in the shape");
    out[i] = d;
    known = shape_numel({known, d});
  }
  int64_t total = shape_numel(in);
  if (infer_at >= 0) {
    if (known == 0) ctx.fail("cannot infer the -1 dimension when another dimension is 0");
    if (total % known != 0)
      ctx.fail("cannot reshape " + std::to_string(total) + " elements into " + shape_str(spec));
    out[infer_at] = total / known;
  } else if (known != total) {
    ctx.fail("cannot reshape " + std::to_string(total) + " elements into " + shape_str(out));
  }
  return out;
}

void infer_reshape(NodeContext& ctx) { ctx.set_output(0, ctx.input_dtype(0), reshape_target(ctx)); }

// --- Flatten ------------------------------------------------------------------------------

void infer_flatten(NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  int64_t r = static_cast<int64_t>(in.size());
  int64_t axis = ctx.node().attr_i("axis", 1);
  if (axis < -r || axis > r)
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r));
  if (axis < 0) axis += r;
  ctx.set_output(0, ctx.input_dtype(0),
                 {dims_product(in, 0, size_t(axis)), dims_product(in, size_t(axis), in.size())});
}

// --- Squeeze / Unsqueeze --------------------------------------------------------------------

void infer_squeeze(NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  int64_t r = static_cast<int64_t>(in.size());
  std::vector<bool> drop(in.size(), false);
  std::vector<int64_t> axes;
  if (ctx.has_input(1)) axes = const_input_ints(ctx, 1, "Squeeze's axes");
  if (!axes.empty()) {
    for (int64_t a : axes) {
      int64_t axis = normalize_axis(ctx, a, r);
      if (drop[axis]) ctx.fail("axis " + std::to_string(a) + " is listed twice");
      if (in[axis] != 1)
        ctx.fail("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(in[axis]));
      drop[axis] = true;
    }
  } else {  // no axes (or an empty list): every dimension of size 1
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  ctx.set_output(0, ctx.input_dtype(0), out);
}

void infer_unsqueeze(NodeContext& ctx) {
  check_fixed_size_dtype(ctx, 0);
  const Shape& in = ctx.input_shape(0);
  if (!ctx.has_input(1)) ctx.fail("the axes input is required");
  std::vector<int64_t> axes = const_input_ints(ctx, 1, "Unsqueeze's axes");
  int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) {
    int64_t axis = normalize_axis(ctx, a, out_rank);
    if (is_new[axis]) ctx.fail("axis " + std::to_string(a) + " is listed twice");
    is_new[axis] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(is_new[i] ? 1 : in[next++]);
  ctx.set_output(0, ctx.input_dtype(0), out);
}

// --- Shape / Size ---------------------------------------------------------------------------

void infer_shape(NodeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  int64_t r = static_cast<int64_t>(in.size());
  auto clamp_index = [r](int64_t v) {
    if (v < 0) v += r;
    return std::clamp<int64_t>(v, 0, r);
  };
  int64_t start = clamp_index(ctx.node().attr_i("start", 0));
  int64_t end = ctx.node().has_attr("end") ? clamp_index(ctx.node().attr_i("end", r)) : r;
  int64_t n = std::max<int64_t>(end - start, 0);
  Tensor t(DType::s64, {n});
  for (int64_t i = 0; i < n; ++i) t.data_as<int64_t>()[i] = in[start + i];
  ctx.set_output_const(0, t);
}

void infer_size(NodeContext& ctx) {
  Tensor t(DType::s64, {});
  *t.data_as<int64_t>() = shape_numel(ctx.input_shape(0));
  ctx.set_output_const(0, t);
}

// The engine drops nodes whose outputs are all constant, but a kernel is still well defined.
std::unique_ptr<OpKernel> create_const_output(const NodeContext& ctx) {
  const Value& v = ctx.output(0);
  if (!v.is_const) ctx.fail("internal: the output was not inferred as a constant");
  return std::make_unique<ConstOutputKernel>(v.data);
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r.add(OpDef{"", "Reshape", infer_reshape, create_copy});
  r.add(OpDef{"", "Flatten", infer_flatten, create_copy});
  r.add(OpDef{"", "Squeeze", infer_squeeze, create_copy});
  r.add(OpDef{"", "Unsqueeze", infer_unsqueeze, create_copy});
  r.add(OpDef{"", "Shape", infer_shape, create_const_output});
  r.add(OpDef{"", "Size", infer_size, create_const_output});
  register_data_movement_ops(r);
  register_shape_index_ops(r);
  register_shape_make_ops(r);
  register_unique_ops(r);
}

}  // namespace octet::detail
