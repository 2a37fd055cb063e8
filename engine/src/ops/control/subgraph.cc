#include "ops/control/subgraph.h"

#include <cstring>

#include "runtime/compiler.h"

namespace octet::detail {

namespace {

// A sequence input of the subgraph: its elements are bound as a graph's sequence inputs are
// (CompileOptions::sequence_shapes), with no declared element shape left to check against.
void bind_sequence(Value& v, const std::vector<Shape>& elements, CompileOptions& options) {
  v.shape.clear();
  v.shape_known = false;
  options.sequence_shapes[v.name] = elements;
}

}  // namespace

CompiledSubgraph::CompiledSubgraph(const NodeContext& c, const std::string& attr, size_t explicit_inputs,
                                   const std::vector<FormalBinding>& formal, bool build)
    : attr_(attr), explicit_inputs_(explicit_inputs) {
  const Attribute* a = c.node().attr(attr);
  c.check(a && a->kind == Attribute::Kind::graph && a->g, "has no graph attribute '" + attr + "'");
  const Graph& sub = *a->g;
  Graph g = sub;
  const size_t n_outer = sub.outer_scope.size();
  c.check(g.inputs.size() >= n_outer, "attribute '" + attr + "': malformed subgraph");
  const size_t n_formal = g.inputs.size() - n_outer;
  c.check(n_formal == formal.size(), "subgraph '" + attr + "' has " + std::to_string(n_formal) +
                                         " inputs; the node gives it " + std::to_string(formal.size()));
  const std::vector<std::string> outer = outer_scope_names(c.node());
  c.check(c.num_inputs() == explicit_inputs + outer.size(), "malformed outer-scope inputs");

  CompileOptions options;
  for (size_t i = 0; i < n_formal; ++i) {
    Value& v = g.values[g.inputs[i]];
    const FormalBinding& b = formal[i];
    const std::string what = "subgraph '" + attr + "' input '" + v.name + "'";
    c.check(v.dtype == DType::undefined || v.dtype == b.dtype,
            what + " is declared " + dtype_name(v.dtype) + " but receives " + dtype_name(b.dtype));
    c.check(!v.is_sequence || b.is_sequence, what + " is declared a sequence but receives a tensor");
    c.check(!b.is_sequence || v.is_sequence || !v.shape_known, what + " is declared a tensor but receives a sequence");
    Shape shape = b.shape;
    if (b.scalar_or_declared && v.shape_known && v.shape.size() == 1 && v.shape[0] == 1) shape = v.shape;
    if (v.shape_known && !b.is_sequence) {
      bool ok = v.shape.size() == shape.size();
      for (size_t d = 0; ok && d < shape.size(); ++d) ok = v.shape[d] < 0 || v.shape[d] == shape[d];
      c.check(ok, what + " is declared " + shape_str(v.shape) + " but receives " + shape_str(shape));
    }
    v.dtype = b.dtype;
    v.shape = shape;
    v.shape_known = true;
    v.dim_names.clear();
    v.is_sequence = b.is_sequence;
    v.seq_shapes = b.seq_shapes;
    sig_.formals.push_back({b.dtype, shape, b.is_sequence, b.seq_shapes});
    if (b.is_sequence) bind_sequence(v, b.seq_shapes, options);
    if (b.constant) {
      c.check(b.constant->numel() == shape_numel(shape) && b.constant->dtype() == b.dtype, what + ": bad constant");
      Tensor t(b.dtype, shape);
      std::memcpy(t.data(), b.constant->data(), t.nbytes());
      options.constant_inputs[v.name] = t;
    }
  }
  for (size_t k = 0; k < n_outer; ++k) {
    Value& v = g.values[g.inputs[n_formal + k]];
    size_t slot = 0;
    while (slot < outer.size() && outer[slot] != v.name) ++slot;
    c.check(slot < outer.size(), "outer-scope value '" + v.name + "' is not an input of the node");
    const Value& src = c.input(explicit_inputs + slot);
    if (src.is_const) {
      options.constant_inputs[v.name] = constant_data(src);
      v.dtype = src.dtype;
      v.shape = src.shape;
    } else {
      v.dtype = src.dtype;
      v.shape = c.input_shape(explicit_inputs + slot);
    }
    v.is_sequence = src.is_sequence;  // an outer sequence read inside (SequenceAt in a Loop body)
    v.seq_shapes = src.seq_shapes;
    v.shape_known = true;
    v.dim_names.clear();
    if (v.is_sequence && !src.is_const) bind_sequence(v, src.seq_shapes, options);
  }
  try {
    Graph prepared = prepare_graph(g, options, c.isa());
    for (int o : prepared.outputs) {
      const Value& v = prepared.values[o];
      sig_.output_names.push_back(v.name);
      sig_.outputs.push_back({v.dtype, v.shape, v.is_sequence, v.is_sequence ? v.seq_shapes : std::vector<Shape>{}});
    }
    if (build) {
      for (int id : prepared.inputs) {
        const std::string& name = prepared.values[id].name;
        int source = 0;
        bool found = false;
        for (size_t i = 0; i < n_formal && !found; ++i)
          if (sub.values[sub.inputs[i]].name == name) source = static_cast<int>(i), found = true;
        for (size_t k = 0; k < outer.size() && !found; ++k)
          if (outer[k] == name) source = -1 - static_cast<int>(k), found = true;
        if (!found) throw Error("input '" + name + "' has no source");
        sources_.emplace_back(name, source);
      }
      program_ = build_program(std::move(prepared), options, c.isa(), nullptr);
    }
  } catch (const Error& e) {
    c.fail("subgraph '" + attr + "': " + e.what());
  }
}

CompiledSubgraph::Runner::Runner(const CompiledSubgraph& s, const KernelContext& ctx)
    : s_(s), ctx_(ctx), session_(s.program_, ctx.pool) {
  if (!s.program_) throw Error("subgraph '" + s.attr_ + "' was not compiled");
}

std::vector<Tensor> CompiledSubgraph::Runner::run(const std::vector<const Tensor*>& formal) {
  std::map<std::string, Tensor> inputs;
  for (const auto& [name, source] : s_.sources_) {
    const Tensor* t = nullptr;
    if (source >= 0) {
      t = static_cast<size_t>(source) < formal.size() ? formal[source] : nullptr;
    } else {
      const size_t slot = s_.explicit_inputs_ + static_cast<size_t>(-1 - source);
      t = slot < ctx_.inputs.size() ? ctx_.inputs[slot] : nullptr;
    }
    if (!t) throw Error("subgraph '" + s_.attr_ + "': no value for its input '" + name + "'");
    inputs[name] = Tensor::wrap(t->dtype(), t->shape(), const_cast<void*>(t->data()));
  }
  std::map<std::string, Tensor> results = session_.run(inputs);
  std::vector<Tensor> out;
  out.reserve(s_.sig_.output_names.size());
  for (const std::string& name : s_.sig_.output_names) {
    auto it = results.find(name);
    if (it == results.end()) throw Error("subgraph '" + s_.attr_ + "' returned no '" + name + "'");
    out.push_back(it->second);
  }
  return out;
}

namespace {
thread_local bool compiling_apart_now = false;
}  // namespace

bool compiling_apart() { return compiling_apart_now; }
CompilingApart::CompilingApart() : saved_(compiling_apart_now) { compiling_apart_now = true; }
CompilingApart::~CompilingApart() { compiling_apart_now = saved_; }

std::string SubgraphValue::str() const {
  if (!is_sequence) return std::string(dtype_name(dtype)) + shape_str(shape);
  std::string s = std::string("sequence of ") + dtype_name(dtype) + " (" + std::to_string(seq_shapes.size()) +
                  (seq_shapes.size() == 1 ? " element" : " elements");
  for (size_t e = 0; e < seq_shapes.size(); ++e) s += (e ? ", " : ": ") + shape_str(seq_shapes[e]);
  return s + ")";
}

AxisView::AxisView(const Shape& shape, int64_t axis, size_t elem_size) {
  inner_bytes = static_cast<int64_t>(elem_size);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) < axis) outer *= shape[d];
    else if (static_cast<int64_t>(d) == axis) length = shape[d];
    else inner_bytes *= shape[d];
  }
}

void copy_slice_out(const AxisView& v, const void* src, int64_t index, void* dst) {
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  for (int64_t o = 0; o < v.outer; ++o)
    std::memcpy(d + o * v.inner_bytes, s + (o * v.length + index) * v.inner_bytes, static_cast<size_t>(v.inner_bytes));
}

void copy_slice_in(const AxisView& v, const void* src, int64_t index, void* dst) {
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  for (int64_t o = 0; o < v.outer; ++o)
    std::memcpy(d + (o * v.length + index) * v.inner_bytes, s + o * v.inner_bytes, static_cast<size_t>(v.inner_bytes));
}

void copy_result(const Tensor& src, Tensor& dst, const std::string& what) {
  if (src.dtype() != dst.dtype() || src.shape() != dst.shape())
    throw Error(what + " is " + dtype_name(src.dtype()) + shape_str(src.shape()) + " but was compiled as " +
                dtype_name(dst.dtype()) + shape_str(dst.shape()));
  if (src.nbytes() > 0 && src.data() != dst.data()) std::memcpy(dst.data(), src.data(), src.nbytes());
}

bool bool_scalar(const Tensor& t, const std::string& what) {
  if (t.dtype() != DType::boolean || t.numel() != 1)
    throw Error(what + " must be one bool, is " + dtype_name(t.dtype()) + shape_str(t.shape()));
  return *static_cast<const uint8_t*>(t.data()) != 0;
}

}  // namespace octet::detail
