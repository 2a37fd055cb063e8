// Channels-last layout for 8-bit CNN graphs. The INT8 convolutions are GEMMs over pixel rows,
// so they want [N, H, W, C]; run on NCHW tensors each one transposes its input and its
// output. This pass plans the layout once for the graph instead:
// * a QLinearConv with a channels-last kernel becomes octet.QLinearConvNhwc on the NHWC twin
//   of its input;
// * a layout-agnostic op (QLinearAdd / QLinearMul of same-shape tensors with per-tensor
//   parameters) whose input already has a twin runs on the twins;
// * an 8-bit max pool (octet.MaxPool) whose input has a twin becomes octet.MaxPoolNhwc;
// * an NHWC value gets an octet.ToNHWC from its NCHW value where it is first needed, and every
//   NHWC result an octet.ToNCHW back to the original value, which dead-code elimination then
//   drops unless an op without an NHWC form (or the graph output) reads it.
// So conversions stay only at the edges of the channels-last regions. Twins are named
// "<value>/nhwc" and carry Value::nhwc_of; the arithmetic of every op is unchanged, so the
// results are bit-identical to the NCHW graph.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "ops/quant_fast.h"
#include "passes/passes.h"

namespace octet::detail {
namespace {

bool is_q8(DType t) { return t == DType::u8 || t == DType::s8; }

bool const_scalar(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return true;  // omitted zero point
  const Value& v = g.values[n.inputs[i]];
  return v.is_const && v.data.numel() == 1;
}

bool rank4_q8(const Value& v) { return v.shape_known && v.shape.size() == 4 && is_q8(v.dtype); }

// Element-wise 8-bit ops whose data inputs (positions 0 and 3) and output all have one
// rank-4 shape and whose parameters are per-tensor: they run unchanged on NHWC tensors.
bool layout_agnostic(const Graph& g, const Node& n) {
  if (n.domain != "com.microsoft" || (n.op_type != "QLinearAdd" && n.op_type != "QLinearMul")) return false;
  if (n.inputs.size() < 7 || n.outputs.size() != 1 || n.outputs[0] < 0) return false;
  const Value& y = g.values[n.outputs[0]];
  if (!rank4_q8(y)) return false;
  for (size_t i : {size_t(0), size_t(3)}) {
    if (n.inputs[i] < 0) return false;
    const Value& v = g.values[n.inputs[i]];
    if (v.is_const || !rank4_q8(v) || v.shape != y.shape) return false;
  }
  for (size_t i : {size_t(1), size_t(2), size_t(4), size_t(5), size_t(6), size_t(7)})
    if (!const_scalar(g, n, i)) return false;
  return n.inputs[1] >= 0 && n.inputs[4] >= 0 && n.inputs[6] >= 0;
}

class LayoutPlanner {
 public:
  explicit LayoutPlanner(Graph& g) : g_(g), twin_(g.values.size(), -1) {}

  void run(const kernels::IsaChoice& isa) {
    std::vector<Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    for (size_t k = 0; k < nodes.size(); ++k) {
      Node& n = nodes[k];
      if (n.dead) continue;
      if (n.op_type == "QLinearConv" && n.domain.empty() && n.outputs.size() == 1 && n.outputs[0] >= 0 &&
          rank4_q8(g_.values[n.outputs[0]]) && channels_last_conv(nodes, k, isa)) {
        n.op_type = "QLinearConvNhwc";
        n.domain = "octet";
        emit_on_twins(std::move(n), {0});
      } else if (layout_agnostic(g_, n) && (has_twin(n.inputs[0]) || has_twin(n.inputs[3]))) {
        emit_on_twins(std::move(n), {0, 3});
      } else if (n.op_type == "MaxPool" && n.domain == "octet" && !n.inputs.empty() && has_twin(n.inputs[0]) &&
                 n.outputs.size() == 1 && n.outputs[0] >= 0) {
        n.op_type = "MaxPoolNhwc";
        emit_on_twins(std::move(n), {0});
      } else {
        g_.nodes.push_back(std::move(n));
      }
    }
    g_.toposort();  // recomputes producers
  }

 private:
  bool has_twin(int v) const { return v >= 0 && twin_[v] >= 0; }

  // Asks the kernel family about the node as it stands in the original graph.
  bool channels_last_conv(const std::vector<Node>& nodes, size_t k, const kernels::IsaChoice& isa) {
    g_.nodes.push_back(nodes[k]);  // NodeContext reads the node from the graph
    bool ok = false;
    try {
      ok = qlinear_conv_has_channels_last_kernel(NodeContext(g_, static_cast<int>(g_.nodes.size()) - 1, isa));
    } catch (const Error&) {
      ok = false;
    }
    g_.nodes.pop_back();
    return ok;
  }

  // A new value: the NHWC form of value v (same dtype, [N, H, W, C]).
  int add_twin_value(int v) {
    const std::string name = g_.values[v].name + "/nhwc";
    std::string unique = name;
    for (int i = 2; g_.find_value(unique) >= 0; ++i) unique = name + std::to_string(i);
    const int t = g_.add_value(unique);
    Value& tv = g_.values[t];
    const Value& src = g_.values[v];
    tv.dtype = src.dtype;
    tv.shape = {src.shape[0], src.shape[2], src.shape[3], src.shape[1]};
    tv.shape_known = true;
    tv.nhwc_of = src.name;
    twin_.push_back(-1);
    return t;
  }

  // The twin of v, converting it where this is the first use.
  int twin_of(int v) {
    if (twin_[v] >= 0) return twin_[v];
    const int t = add_twin_value(v);
    Node conv;
    conv.name = g_.values[v].name + "/to_nhwc";
    conv.op_type = "ToNHWC";
    conv.domain = "octet";
    conv.inputs = {v};
    conv.outputs = {t};
    g_.nodes.push_back(std::move(conv));
    twin_[v] = t;
    return t;
  }

  // Emits n reading the twins of its inputs at `positions` and writing the twin of its
  // output, then the conversion back to the original output value.
  void emit_on_twins(Node n, std::initializer_list<size_t> positions) {
    for (size_t i : positions) n.inputs[i] = twin_of(n.inputs[i]);
    const int y = n.outputs[0];
    const int t = add_twin_value(y);
    n.outputs[0] = t;
    twin_[y] = t;
    Node back;
    back.name = n.name + "/to_nchw";
    back.op_type = "ToNCHW";
    back.domain = "octet";
    back.inputs = {t};
    back.outputs = {y};
    g_.nodes.push_back(std::move(n));
    g_.nodes.push_back(std::move(back));
  }

  Graph& g_;
  std::vector<int> twin_;  // value id -> its NHWC twin, -1 when none yet
};

}  // namespace

void plan_nhwc_layout(Graph& g, const PassOptions& options) {
  if (options.isa.isa == kernels::Isa::ref) return;  // the reference kernels are NCHW only
  LayoutPlanner(g).run(options.isa);
}

}  // namespace octet::detail
