// Loop: runs its body while the iteration count is under M and the condition holds. Values
// carried from one iteration to the next keep their shape; scan outputs (one slice per
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

namespace octet::detail {
namespace {

constexpr size_t kLoopFixedInputs = 2;  // M, cond
constexpr int64_t kMaxIterationsCompiledApart = 64;

// The body bound to the node's inputs: iteration number, condition, carried values.
std::unique_ptr<CompiledSubgraph> compile_body(const NodeContext& c, bool build, const Tensor* iteration = nullptr) {
  const size_t n_outer = outer_scope_names(c.node()).size();
  c.check(c.num_inputs() >= kLoopFixedInputs + n_outer, "needs inputs M and cond (each may be empty)");
  const size_t n_carried = c.num_inputs() - kLoopFixedInputs - n_outer;
  if (c.has_input(0))
    c.check(c.input_dtype(0) == DType::s64 && shape_numel(c.input_shape(0)) == 1,
            "M must be one int64, is " + std::string(dtype_name(c.input_dtype(0))) + shape_str(c.input_shape(0)));
  if (c.has_input(1))
    c.check(c.input_dtype(1) == DType::boolean && shape_numel(c.input_shape(1)) == 1,
            "cond must be one bool, is " + std::string(dtype_name(c.input_dtype(1))) + shape_str(c.input_shape(1)));
  c.check(c.has_input(0) || c.has_input(1), "has neither M nor cond: it would never end");
  std::vector<FormalBinding> formal;
  formal.push_back({DType::s64, {}, true, iteration});
  formal.push_back({DType::boolean, {}, true});
  for (size_t i = 0; i < n_carried; ++i) {
    c.check(c.has_input(kLoopFixedInputs + i), "carried input " + std::to_string(i) + " is missing");
    formal.push_back({c.input_dtype(kLoopFixedInputs + i), c.input_shape(kLoopFixedInputs + i), false});
  }
  auto body = std::make_unique<CompiledSubgraph>(c, "body", c.num_inputs() - n_outer, formal, build);
  const SubgraphSignature& s = body->signature();
  c.check(s.output_names.size() >= 1 + n_carried,
          "body has " + std::to_string(s.output_names.size()) + " outputs; it needs cond and the " +
              std::to_string(n_carried) + " carried values");
  c.check(s.output_dtypes[0] == DType::boolean && shape_numel(s.output_shapes[0]) == 1,
          "body output 0 (cond) must be one bool");
  const size_t n_scan = s.output_names.size() - 1 - n_carried;
  c.check(c.num_outputs() == n_carried + n_scan,
          "has " + std::to_string(c.num_outputs()) + " outputs; its body makes " + std::to_string(n_carried) +
              " carried values and " + std::to_string(n_scan) + " scan outputs");
  for (size_t i = 0; i < n_carried; ++i) {
    const Shape& in = s.formal_shapes[kLoopFixedInputs + i];
    c.check(s.output_dtypes[1 + i] == c.input_dtype(kLoopFixedInputs + i) && s.output_shapes[1 + i] == in,
            "carried value " + std::to_string(i) + " enters the body as " +
                dtype_name(c.input_dtype(kLoopFixedInputs + i)) + shape_str(in) + " and leaves it as " +
                dtype_name(s.output_dtypes[1 + i]) + shape_str(s.output_shapes[1 + i]) +
                " (octet needs carried values of one shape)");
  }
  return body;
}

size_t num_carried(const NodeContext& c) { return c.num_inputs() - kLoopFixedInputs - outer_scope_names(c.node()).size(); }

// Iterations the scan outputs are compiled for.
int64_t static_trip_count(const NodeContext& c) {
  const Tensor* m = c.has_input(0) ? c.input_const(0) : nullptr;
  c.check(m != nullptr, "has scan outputs, so its trip count M must be known at compile time (octet needs static shapes)");
  const int64_t count = *m->data_as<int64_t>();
  c.check(count >= 0, "trip count M is negative (" + std::to_string(count) + ")");
  return count;
}

// One body for every iteration, or, when that does not compile and M is a small constant, one
// per iteration with its number bound (all with the same output shapes).
std::vector<std::unique_ptr<CompiledSubgraph>> compile_bodies(const NodeContext& c, bool build) {
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies;
  try {
    bodies.push_back(compile_body(c, build));
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
    bodies.push_back(compile_body(c, build, &iteration));
    c.check(bodies.back()->signature().output_shapes == bodies[0]->signature().output_shapes,
            "the body's output shapes change with the iteration number (octet needs static shapes)");
  }
  return bodies;
}

void infer_loop(NodeContext& c) {
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies = compile_bodies(c, false);
  const SubgraphSignature& s = bodies[0]->signature();
  const size_t n_carried = num_carried(c);
  for (size_t i = 0; i < n_carried; ++i)
    if (c.has_output(i)) c.set_output(i, s.output_dtypes[1 + i], s.output_shapes[1 + i]);
  if (c.num_outputs() == n_carried) return;
  const int64_t trips = static_trip_count(c);
  for (size_t k = n_carried; k < c.num_outputs(); ++k) {
    Shape shape = s.output_shapes[1 + k];
    shape.insert(shape.begin(), trips);
    if (c.has_output(k)) c.set_output(k, s.output_dtypes[1 + k], shape);
  }
}

class LoopKernel : public OpKernel {
 public:
  explicit LoopKernel(const NodeContext& c) : bodies_(compile_bodies(c, true)), n_carried_(num_carried(c)) {
    n_scan_ = c.num_outputs() - n_carried_;
    if (n_scan_ > 0) trips_ = static_trip_count(c);
  }

  void run(KernelContext& ctx) const override {
    const int64_t max_trips = ctx.has_input(0) ? *ctx.input(0).data_as<int64_t>() : std::numeric_limits<int64_t>::max();
    if (n_scan_ > 0 && max_trips != trips_)
      throw Error("trip count M is " + std::to_string(max_trips) + " but the scan outputs were compiled for " +
                  std::to_string(trips_));
    bool cond = ctx.has_input(1) ? bool_scalar(ctx.input(1), "cond") : true;
    std::vector<Tensor> carried;
    for (size_t i = 0; i < n_carried_; ++i) carried.push_back(ctx.input(kLoopFixedInputs + i));
    const SubgraphSignature& sig = bodies_[0]->signature();
    Tensor iter(DType::s64, sig.formal_shapes[0]);
    Tensor cond_t(DType::boolean, sig.formal_shapes[1]);
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
    for (size_t v = 0; v < n_carried_; ++v)
      if (ctx.has_output(v)) copy_result(carried[v], ctx.output(v), "carried value " + std::to_string(v));
  }
  std::string name() const override { return "subgraph"; }

 private:
  std::vector<std::unique_ptr<CompiledSubgraph>> bodies_;
  size_t n_carried_ = 0, n_scan_ = 0;
  int64_t trips_ = 0;
};

std::unique_ptr<OpKernel> create_loop(const NodeContext& c) { return std::make_unique<LoopKernel>(c); }

}  // namespace

void register_loop_op(OpRegistry& r) { r.add({"", "Loop", infer_loop, create_loop}); }

}  // namespace octet::detail
