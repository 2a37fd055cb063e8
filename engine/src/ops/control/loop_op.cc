// Loop: runs its body while the iteration count is under M and the condition holds. Values
// carried from one iteration to the next keep their shape, except sequences in a body compiled
// per iteration (below), which may change their elements every iteration (SequenceInsert into
// a carried SequenceEmpty); such a loop must run all M iterations. Scan outputs (one slice per
// iteration, stacked on a new axis 0) need M known at compile time, and a loop that stops
// early at run time with scan outputs is refused (its stacked shape would depend on data).
// A body whose shapes need the iteration number at compile time (a Slice starting at it) is
// compiled once per iteration, for trip counts known at compile time up to
// kMaxIterationsCompiledApart.
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "ops/control/control_ops.h"
#include "ops/control/subgraph.h"
#include "ops/sequence/sequence_value.h"

namespace octet::detail {
namespace {

constexpr size_t kLoopFixedInputs = 2;  // M, cond
constexpr int64_t kMaxIterationsCompiledApart = 64;

// The carried values as the node's inputs give them to the first iteration.
std::vector<SubgraphValue> carried_inputs(const NodeContext& c, size_t n_carried) {
  std::vector<SubgraphValue> carried;
  for (size_t i = 0; i < n_carried; ++i) {
    const size_t in = kLoopFixedInputs + i;
    c.check(c.has_input(in), "carried input " + std::to_string(i) + " is missing");
    const Value& v = c.input(in);
    carried.push_back({c.input_dtype(in), c.input_shape(in), v.is_sequence, v.is_sequence ? v.seq_shapes : std::vector<Shape>{}});
  }
  return carried;
}

size_t num_carried(const NodeContext& c) {
  const size_t n_outer = outer_scope_names(c.node()).size();
  c.check(c.num_inputs() >= kLoopFixedInputs + n_outer, "needs inputs M and cond (each may be empty)");
  return c.num_inputs() - kLoopFixedInputs - n_outer;
}

// The body bound to the iteration number, condition and carried values. A body compiled for
// one iteration of a chain (chained) may change its carried sequences' element shapes: the
// next iteration's body is bound to what this one returns.
std::unique_ptr<CompiledSubgraph> compile_body(const NodeContext& c, bool build, const std::vector<SubgraphValue>& carried,
                                               const Tensor* iteration = nullptr, bool chained = false) {
  const size_t n_carried = num_carried(c);
  if (c.has_input(0))
    c.check(c.input_dtype(0) == DType::s64 && shape_numel(c.input_shape(0)) == 1,
            "M must be one int64, is " + std::string(dtype_name(c.input_dtype(0))) + shape_str(c.input_shape(0)));
  if (c.has_input(1))
    c.check(c.input_dtype(1) == DType::boolean && shape_numel(c.input_shape(1)) == 1,
            "cond must be one bool, is " + std::string(dtype_name(c.input_dtype(1))) + shape_str(c.input_shape(1)));
  c.check(c.has_input(0) || c.has_input(1), "has neither M nor cond: it would never end");
  std::vector<FormalBinding> formal;
  formal.push_back({DType::s64, {}, true, iteration, false, {}});
  formal.push_back({DType::boolean, {}, true, nullptr, false, {}});
  for (const SubgraphValue& v : carried) formal.push_back({v.dtype, v.shape, false, nullptr, v.is_sequence, v.seq_shapes});
  auto body = std::make_unique<CompiledSubgraph>(c, "body", c.num_inputs() - outer_scope_names(c.node()).size(),
                                                 formal, build);
  const SubgraphSignature& s = body->signature();
  c.check(s.output_names.size() >= 1 + n_carried,
          "body has " + std::to_string(s.output_names.size()) + " outputs; it needs cond and the " +
              std::to_string(n_carried) + " carried values");
  c.check(s.outputs[0].dtype == DType::boolean && shape_numel(s.outputs[0].shape) == 1 && !s.outputs[0].is_sequence,
          "body output 0 (cond) must be one bool");
  const size_t n_scan = s.output_names.size() - 1 - n_carried;
  c.check(c.num_outputs() == n_carried + n_scan,
          "has " + std::to_string(c.num_outputs()) + " outputs; its body makes " + std::to_string(n_carried) +
              " carried values and " + std::to_string(n_scan) + " scan outputs");
  for (size_t i = 0; i < n_carried; ++i) {
    const SubgraphValue& in = s.formals[kLoopFixedInputs + i];
    const SubgraphValue& out = s.outputs[1 + i];
    const bool may_change = chained && in.is_sequence && out.is_sequence && in.dtype == out.dtype;
    c.check(may_change || in == out,
            "carried value " + std::to_string(i) + " enters the body as " + in.str() + " and leaves it as " +
                out.str() +
                (in.is_sequence && out.is_sequence && in.dtype == out.dtype
                     ? " (a carried sequence may change its elements only when M is a constant up to " +
                           std::to_string(kMaxIterationsCompiledApart) + ")"
                     : " (octet needs carried values of one shape)"));
  }
  for (size_t k = 1 + n_carried; k < s.outputs.size(); ++k)
    c.check(!s.outputs[k].is_sequence, "scan output " + std::to_string(k - 1 - n_carried) +
                                           " is a sequence; scan outputs stack tensors");
  return body;
}

// Iterations the scan outputs are compiled for.
int64_t static_trip_count(const NodeContext& c) {
  const Tensor* m = c.has_input(0) ? c.input_const(0) : nullptr;
  c.check(m != nullptr, "has scan outputs, so its trip count M must be known at compile time (octet needs static shapes)");
  const int64_t count = *m->data_as<int64_t>();
  c.check(count >= 0, "trip count M is negative (" + std::to_string(count) + ")");
  return count;
}

// One body for every iteration, or, when that does not compile and M is a small constant, one
// per iteration with its number bound and the carried values as the iteration before returns
// them (carried sequences may grow; everything else keeps its shape).
std::vector<std::unique_ptr<CompiledSubgraph>> compile_bodies(const NodeContext& c, bool build) {
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies;
  std::vector<SubgraphValue> carried = carried_inputs(c, num_carried(c));
  try {
    bodies.push_back(compile_body(c, build, carried));
    return bodies;
  } catch (const Error&) {
    const Tensor* m = c.has_input(0) ? c.input_const(0) : nullptr;
    if (compiling_apart() || !m || *m->data_as<int64_t>() < 1 || *m->data_as<int64_t>() > kMaxIterationsCompiledApart)
      throw;
  }
  const CompilingApart guard;
  const int64_t trips = *c.input_const(0)->data_as<int64_t>();
  for (int64_t i = 0; i < trips; ++i) {
    Tensor iteration(DType::s64, {});
    *iteration.data_as<int64_t>() = i;
    bodies.push_back(compile_body(c, build, carried, &iteration, true));
    const std::vector<SubgraphValue>& out = bodies.back()->signature().outputs;
    const std::vector<SubgraphValue>& first = bodies[0]->signature().outputs;
    for (size_t k = 1 + carried.size(); k < out.size(); ++k)
      c.check(out[k] == first[k], "scan output " + std::to_string(k - 1 - carried.size()) + " is " + first[k].str() +
                                      " in iteration 0 but " + out[k].str() + " in iteration " + std::to_string(i) +
                                      " (octet needs static shapes)");
    for (size_t v = 0; v < carried.size(); ++v) carried[v] = out[1 + v];
  }
  return bodies;
}

// The loop's carried values once it has run: what the last body returns.
const SubgraphSignature& final_signature(const std::vector<std::unique_ptr<CompiledSubgraph>>& bodies) {
  return bodies.back()->signature();
}

void infer_loop(NodeContext& c) {
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies = compile_bodies(c, false);
  const SubgraphSignature& s = final_signature(bodies);
  const size_t n_carried = num_carried(c);
  for (size_t i = 0; i < n_carried; ++i) {
    const SubgraphValue& v = s.outputs[1 + i];
    if (v.is_sequence)
      set_sequence_output(c, i, v.dtype, v.seq_shapes);
    else if (c.has_output(i))
      c.set_output(i, v.dtype, v.shape);
  }
  if (c.num_outputs() == n_carried) return;
  const int64_t trips = static_trip_count(c);
  for (size_t k = n_carried; k < c.num_outputs(); ++k) {
    Shape shape = s.outputs[1 + k].shape;
    shape.insert(shape.begin(), trips);
    if (c.has_output(k)) c.set_output(k, s.outputs[1 + k].dtype, shape);
  }
}

// Whether a carried sequence has other element shapes after some iteration than at the end:
// then the loop must run all the iterations it was compiled for.
bool carried_shapes_change(const NodeContext& c, const std::vector<std::unique_ptr<CompiledSubgraph>>& bodies) {
  const size_t n_carried = num_carried(c);
  const std::vector<SubgraphValue> in = carried_inputs(c, n_carried);
  const std::vector<SubgraphValue>& last = final_signature(bodies).outputs;
  for (size_t v = 0; v < n_carried; ++v) {
    if (in[v] != last[1 + v]) return true;
    for (const auto& b : bodies)
      if (b->signature().outputs[1 + v] != last[1 + v]) return true;
  }
  return false;
}

class LoopKernel : public OpKernel {
 public:
  explicit LoopKernel(const NodeContext& c) : bodies_(compile_bodies(c, true)), n_carried_(num_carried(c)) {
    n_scan_ = c.num_outputs() - n_carried_;
    if (n_scan_ > 0) trips_ = static_trip_count(c);
    shapes_change_ = carried_shapes_change(c, bodies_);
    if (shapes_change_) trips_ = static_cast<int64_t>(bodies_.size());
  }

  void run(KernelContext& ctx) const override {
    const int64_t max_trips = ctx.has_input(0) ? *ctx.input(0).data_as<int64_t>() : std::numeric_limits<int64_t>::max();
    if ((n_scan_ > 0 || shapes_change_) && max_trips != trips_)
      throw Error("trip count M is " + std::to_string(max_trips) + " but the scan outputs were compiled for " +
                  std::to_string(trips_));
    bool cond = ctx.has_input(1) ? bool_scalar(ctx.input(1), "cond") : true;
    std::vector<Tensor> carried;
    for (size_t i = 0; i < n_carried_; ++i) carried.push_back(ctx.input(kLoopFixedInputs + i));
    const SubgraphSignature& sig = bodies_[0]->signature();
    Tensor iter(DType::s64, sig.formals[0].shape);
    Tensor cond_t(DType::boolean, sig.formals[1].shape);
    std::unique_ptr<CompiledSubgraph::Runner> runner;
    if (bodies_.size() == 1) runner = std::make_unique<CompiledSubgraph::Runner>(*bodies_[0], ctx);
    int64_t i = 0;
    for (; i < max_trips && cond; ++i) {
      if (bodies_.size() > 1) {
        if (static_cast<size_t>(i) >= bodies_.size()) throw Error("more iterations than compiled bodies");
        runner = std::make_unique<CompiledSubgraph::Runner>(*bodies_[i], ctx);
      }
      *iter.data_as<int64_t>() = i;
      *static_cast<uint8_t*>(cond_t.data()) = cond ? 1 : 0;
      std::vector<const Tensor*> formal = {&iter, &cond_t};
      for (const Tensor& t : carried) formal.push_back(&t);
      std::vector<Tensor> out = runner->run(formal);
      cond = bool_scalar(out[0], "body output cond");
      for (size_t v = 0; v < n_carried_; ++v) carried[v] = out[1 + v];
      for (size_t k = 0; k < n_scan_; ++k) {
        if (!ctx.has_output(n_carried_ + k)) continue;
        Tensor& dst = ctx.output(n_carried_ + k);
        const Tensor& slice = out[1 + n_carried_ + k];
        if (slice.nbytes() * static_cast<size_t>(trips_) != dst.nbytes())
          throw Error("scan output " + std::to_string(k) + " slice is " + shape_str(slice.shape()));
        std::memcpy(static_cast<char*>(dst.data()) + static_cast<size_t>(i) * slice.nbytes(), slice.data(),
                    slice.nbytes());
      }
    }
    if (n_scan_ > 0 && i != trips_)
      throw Error("the loop's condition ended it after " + std::to_string(i) + " of " + std::to_string(trips_) +
                  " iterations; its scan outputs were compiled for " + std::to_string(trips_) +
                  " (octet needs static shapes)");
    if (shapes_change_ && i != trips_)
      throw Error("the loop's condition ended it after " + std::to_string(i) + " of " + std::to_string(trips_) +
                  " iterations; its carried sequences change their elements every iteration and were compiled "
                  "for all " + std::to_string(trips_) + " (octet needs static shapes)");
    for (size_t v = 0; v < n_carried_; ++v)
      if (ctx.has_output(v)) copy_result(carried[v], ctx.output(v), "carried value " + std::to_string(v));
  }
  std::string name() const override { return "subgraph"; }

 private:
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies_;
  size_t n_carried_ = 0, n_scan_ = 0;
  int64_t trips_ = 0;
  bool shapes_change_ = false;  // a carried sequence's elements change: every iteration must run
};

std::unique_ptr<OpKernel> create_loop(const NodeContext& c) { return std::make_unique<LoopKernel>(c); }

}  // namespace

void register_loop_op(OpRegistry& r) { r.add({"", "Loop", infer_loop, create_loop}); }

}  // namespace octet::detail
