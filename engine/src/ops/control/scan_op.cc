// Scan: runs its body once per slice of the scan inputs, carrying state values. Opset 9+: N
// state inputs, then num_scan_inputs inputs sliced along scan_input_axes (forward or reverse
// per scan_input_directions); scan outputs stacked along scan_output_axes. Opset 8: a first
// input sequence_lens (only the full length is supported), and every input has a batch axis 0
// that the body does not see (the scan axis is then axis 1).
#include <cstring>
#include <memory>
#include <vector>

#include "ops/control/control_ops.h"
#include "ops/control/subgraph.h"
#include "ops/op_util.h"

namespace octet::detail {
namespace {

struct ScanLayout {
  bool batched = false;  // opset 8
  size_t first_state = 0;  // 1 in opset 8 (sequence_lens)
  size_t n_state = 0, n_scan_in = 0, n_scan_out = 0;
  int64_t batch = 1, length = 0;
  std::vector<int64_t> in_axes, in_reverse, out_axes, out_reverse;  // axes without the batch axis
};

Shape drop_axis(Shape s, int64_t axis) {
  s.erase(s.begin() + axis);
  return s;
}

// The node's inputs split into state and scan inputs, and the body bound to their slices.
std::unique_ptr<CompiledSubgraph> compile_scan(const NodeContext& c, bool build, ScanLayout* L) {
  const size_t n_outer = outer_scope_names(c.node()).size();
  const size_t n_explicit = c.num_inputs() - n_outer;
  L->batched = c.opset() < 9;
  L->first_state = L->batched ? 1 : 0;
  const int64_t m = c.node().attr_i("num_scan_inputs", -1);
  c.check(m >= 1 && static_cast<size_t>(m) + L->first_state <= n_explicit,
          "num_scan_inputs is " + std::to_string(m) + " with " + std::to_string(n_explicit) + " inputs");
  L->n_scan_in = static_cast<size_t>(m);
  L->n_state = n_explicit - L->first_state - L->n_scan_in;
  c.check(c.num_outputs() >= L->n_state, "has fewer outputs than state values");
  L->n_scan_out = c.num_outputs() - L->n_state;

  if (L->batched) {
    L->in_axes.assign(L->n_scan_in, 0);
    L->out_axes.assign(L->n_scan_out, 0);
    L->in_reverse = c.node().attr_ints("directions", std::vector<int64_t>(L->n_scan_in, 0));
    L->out_reverse.assign(L->n_scan_out, 0);
    c.check(L->in_reverse.size() == L->n_scan_in, "directions needs one entry per scan input");
  } else {
    L->in_axes = c.node().attr_ints("scan_input_axes", std::vector<int64_t>(L->n_scan_in, 0));
    L->in_reverse = c.node().attr_ints("scan_input_directions", std::vector<int64_t>(L->n_scan_in, 0));
    L->out_axes = c.node().attr_ints("scan_output_axes", std::vector<int64_t>(L->n_scan_out, 0));
    L->out_reverse = c.node().attr_ints("scan_output_directions", std::vector<int64_t>(L->n_scan_out, 0));
    c.check(L->in_axes.size() == L->n_scan_in && L->in_reverse.size() == L->n_scan_in,
            "scan_input_axes and scan_input_directions need one entry per scan input");
    c.check(L->out_axes.size() == L->n_scan_out && L->out_reverse.size() == L->n_scan_out,
            "scan_output_axes and scan_output_directions need one entry per scan output");
  }
  for (int64_t d : L->in_reverse) c.check(d == 0 || d == 1, "a scan direction must be 0 or 1");
  for (int64_t d : L->out_reverse) c.check(d == 0 || d == 1, "a scan direction must be 0 or 1");

  if (L->batched && c.has_input(0))
    c.check(c.input_dtype(0) == DType::s64, "sequence_lens must be int64");
  std::vector<FormalBinding> formal;
  L->batch = -1;
  for (size_t i = 0; i < L->n_state; ++i) {
    const size_t in = L->first_state + i;
    c.check(c.has_input(in), "state input " + std::to_string(i) + " is missing");
    Shape s = c.input_shape(in);
    if (L->batched) {
      c.check(!s.empty(), "state input " + std::to_string(i) + " has no batch axis");
      c.check(L->batch < 0 || L->batch == s[0], "inputs disagree on the batch size");
      L->batch = s[0];
      s = drop_axis(s, 0);
    }
    formal.push_back({c.input_dtype(in), s, false, nullptr, false, {}});
  }
  L->length = -1;
  for (size_t j = 0; j < L->n_scan_in; ++j) {
    const size_t in = L->first_state + L->n_state + j;
    c.check(c.has_input(in), "scan input " + std::to_string(j) + " is missing");
    Shape s = c.input_shape(in);
    if (L->batched) {
      c.check(s.size() >= 2, "scan input " + std::to_string(j) + " needs batch and sequence axes");
      c.check(L->batch < 0 || L->batch == s[0], "inputs disagree on the batch size");
      L->batch = s[0];
      s = drop_axis(s, 0);
    }
    L->in_axes[j] = normalize_axis(c, L->in_axes[j], static_cast<int64_t>(s.size()));
    const int64_t len = s[L->in_axes[j]];
    c.check(L->length < 0 || L->length == len, "scan inputs disagree on the sequence length");
    L->length = len;
    formal.push_back({c.input_dtype(in), drop_axis(s, L->in_axes[j]), false, nullptr, false, {}});
  }
  if (L->batch < 0) L->batch = 1;
  auto body = std::make_unique<CompiledSubgraph>(c, "body", n_explicit, formal, build);
  const SubgraphSignature& s = body->signature();
  c.check(s.output_names.size() == L->n_state + L->n_scan_out,
          "body has " + std::to_string(s.output_names.size()) + " outputs; the node has " +
              std::to_string(c.num_outputs()));
  for (size_t i = 0; i < s.outputs.size(); ++i)
    c.check(!s.outputs[i].is_sequence, "body output " + std::to_string(i) + " is a sequence; Scan takes tensors only");
  for (size_t i = 0; i < L->n_state; ++i)
    c.check(s.outputs[i].dtype == formal[i].dtype && s.outputs[i].shape == formal[i].shape,
            "state value " + std::to_string(i) + " enters the body as " + dtype_name(formal[i].dtype) +
                shape_str(formal[i].shape) + " and leaves it as " + dtype_name(s.outputs[i].dtype) +
                shape_str(s.outputs[i].shape));
  for (size_t k = 0; k < L->n_scan_out; ++k)
    L->out_axes[k] =
        normalize_axis(c, L->out_axes[k], static_cast<int64_t>(s.outputs[L->n_state + k].shape.size()) + 1);
  return body;
}

Shape with_batch(const ScanLayout& L, Shape s) {
  if (L.batched) s.insert(s.begin(), L.batch);
  return s;
}

void infer_scan(NodeContext& c) {
  ScanLayout L;
  std::unique_ptr<CompiledSubgraph> body = compile_scan(c, false, &L);
  const SubgraphSignature& s = body->signature();
  for (size_t i = 0; i < L.n_state; ++i)
    if (c.has_output(i)) c.set_output(i, s.outputs[i].dtype, with_batch(L, s.outputs[i].shape));
  for (size_t k = 0; k < L.n_scan_out; ++k) {
    Shape shape = s.outputs[L.n_state + k].shape;
    shape.insert(shape.begin() + L.out_axes[k], L.length);
    if (c.has_output(L.n_state + k)) c.set_output(L.n_state + k, s.outputs[L.n_state + k].dtype, with_batch(L, shape));
  }
}

class ScanKernel : public OpKernel {
 public:
  explicit ScanKernel(const NodeContext& c) { body_ = compile_scan(c, true, &L_); }

  void run(KernelContext& ctx) const override {
    const SubgraphSignature& sig = body_->signature();
    if (L_.batched && ctx.has_input(0)) {
      const Tensor& lens = ctx.input(0);
      for (int64_t b = 0; b < lens.numel(); ++b)
        if (lens.data_as<int64_t>()[b] != L_.length)
          throw Error("sequence_lens[" + std::to_string(b) + "] is " + std::to_string(lens.data_as<int64_t>()[b]) +
                      "; octet supports only the full length " + std::to_string(L_.length));
    }
    CompiledSubgraph::Runner runner(*body_, ctx);
    std::vector<Tensor> slices(L_.n_scan_in);
    for (size_t j = 0; j < L_.n_scan_in; ++j)
      slices[j] = Tensor(ctx.input(L_.first_state + L_.n_state + j).dtype(), sig.formals[L_.n_state + j].shape);
    for (int64_t b = 0; b < L_.batch; ++b) {
      std::vector<Tensor> state;
      for (size_t i = 0; i < L_.n_state; ++i) state.push_back(batch_part(ctx.input(L_.first_state + i), b, sig.formals[i].shape));
      for (int64_t t = 0; t < L_.length; ++t) {
        std::vector<const Tensor*> formal;
        for (const Tensor& s : state) formal.push_back(&s);
        for (size_t j = 0; j < L_.n_scan_in; ++j) {
          const Tensor& in = ctx.input(L_.first_state + L_.n_state + j);
          const Tensor part = batch_part(in, b, with_axis(sig.formals[L_.n_state + j].shape, L_.in_axes[j]));
          const AxisView v(part.shape(), L_.in_axes[j], dtype_size(in.dtype()));
          copy_slice_out(v, part.data(), L_.in_reverse[j] ? L_.length - 1 - t : t, slices[j].data());
          formal.push_back(&slices[j]);
        }
        std::vector<Tensor> out = runner.run(formal);
        for (size_t i = 0; i < L_.n_state; ++i) state[i] = out[i];
        for (size_t k = 0; k < L_.n_scan_out; ++k) {
          if (!ctx.has_output(L_.n_state + k)) continue;
          const Tensor& slice = out[L_.n_state + k];
          Shape whole = sig.outputs[L_.n_state + k].shape;
          if (slice.shape() != whole) throw Error("scan output " + std::to_string(k) + " slice is " + shape_str(slice.shape()));
          whole.insert(whole.begin() + L_.out_axes[k], L_.length);
          Tensor dst = batch_part(ctx.output(L_.n_state + k), b, whole);
          const AxisView v(whole, L_.out_axes[k], dtype_size(slice.dtype()));
          copy_slice_in(v, slice.data(), L_.out_reverse[k] ? L_.length - 1 - t : t, dst.data());
        }
      }
      for (size_t i = 0; i < L_.n_state; ++i) {
        if (!ctx.has_output(i)) continue;
        Tensor dst = batch_part(ctx.output(i), b, sig.outputs[i].shape);
        copy_result(state[i], dst, "state value " + std::to_string(i));
      }
    }
  }
  std::string name() const override { return "subgraph"; }

 private:
  Shape with_axis(Shape s, int64_t axis) const {
    s.insert(s.begin() + axis, L_.length);
    return s;
  }
  // Batch element b of t as a tensor of `shape` (the whole of t when not batched).
  Tensor batch_part(const Tensor& t, int64_t b, const Shape& shape) const {
    if (!L_.batched) return Tensor::wrap(t.dtype(), shape, const_cast<void*>(t.data()));
    const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(t.dtype());
    return Tensor::wrap(t.dtype(), shape, static_cast<char*>(const_cast<void*>(t.data())) + static_cast<size_t>(b) * bytes);
  }

  ScanLayout L_;
  std::unique_ptr<CompiledSubgraph> body_;
};

std::unique_ptr<OpKernel> create_scan(const NodeContext& c) { return std::make_unique<ScanKernel>(c); }

}  // namespace

void register_scan_op(OpRegistry& r) { r.add({"", "Scan", infer_scan, create_scan}); }

}  // namespace octet::detail
