// Folds Conv -> [Add (residual of the same shape)] -> [Relu | Clip | HardSwish] chains into one fused
// conv node (octet.Conv, see ops/conv/conv_fast.h), whose kernels apply the residual and the
// activation in the GEMM's epilogue instead of two more passes over the output.
//
// The fused node takes the place of the last node it absorbs that has to come after Z's
// producer: with an Add, the Add's slot (after the Conv and after Z's producer), otherwise
// the Conv's own slot; so the node order stays topological without re-sorting.
#include <limits>
#include <string>

#include "ops/octet_ops.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace octet::detail {
namespace {

bool is_onnx(const Node& n, const char* op) { return !n.dead && n.domain.empty() && n.op_type == op; }

bool f32_known(const Value& v) { return v.dtype == DType::f32 && v.shape_known; }

// The single consumer of value v, or -1 (graph output, none, or several).
int sole_user(const std::vector<std::vector<int>>& users, const std::vector<char>& is_output, int v) {
  if (v < 0 || is_output[v] || users[v].size() != 1) return -1;
  return users[v][0];
}

// A constant scalar f32 input of a node, or `def` when omitted; false when not constant.
bool const_f32_scalar(const Graph& g, const Node& n, size_t i, float def, float* out) {
  const Tensor* t = nullptr;
  if (!const_scalar(g, n, i, &t) || (t && t->dtype() != DType::f32)) return false;
  *out = t ? t->data_as<float>()[0] : def;
  return true;
}

// Fills the activation attributes from a Relu, Clip or HardSwish node; false when it cannot
// fuse.
bool activation_attrs(const Graph& g, const Node& act, Node* fused) {
  Attribute name;
  name.kind = Attribute::Kind::string_;
  for (const char* op : {"Relu", "HardSwish"})
    if (is_onnx(act, op)) {
      name.s = op;
      fused->attrs["activation"] = name;
      return true;
    }
  if (!is_onnx(act, "Clip")) return false;
  float lo = 0, hi = 0;
  if (!const_f32_scalar(g, act, 1, std::numeric_limits<float>::lowest(), &lo) ||
      !const_f32_scalar(g, act, 2, std::numeric_limits<float>::max(), &hi) || !(lo <= hi))
    return false;
  name.s = "Clip";
  fused->attrs["activation"] = name;
  Attribute a;
  a.kind = Attribute::Kind::float_;
  a.f = lo;
  fused->attrs["clip_min"] = a;
  a.f = hi;
  fused->attrs["clip_max"] = a;
  return true;
}

}  // namespace

void fuse_conv_epilogue(Graph& g) {
  const std::vector<std::vector<int>> users = g.consumers();
  std::vector<char> is_output(g.values.size(), 0);
  for (int o : g.outputs) is_output[o] = 1;

  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    const Node& conv = g.nodes[ci];
    if (!is_onnx(conv, "Conv") || conv.outputs.size() != 1 || conv.inputs.size() < 2) continue;
    if (conv.inputs[1] < 0 || !g.values[conv.inputs[1]].is_const) continue;
    const int y = conv.outputs[0];
    if (y < 0 || !f32_known(g.values[y]) || g.values[conv.inputs[0]].dtype != DType::f32) continue;

    Node fused = conv;
    fused.domain = kOctetDomain;
    fused.inputs.resize(FusedConvIn::kZ, -1);  // X, W, B; then Z
    int slot = static_cast<int>(ci);  // where the fused node goes
    int out = y;                      // the value it writes
    std::vector<int> absorbed;        // nodes that disappear

    // Residual Add: the other operand must have the conv output's shape (no broadcast).
    int next = sole_user(users, is_output, y);
    if (next >= 0 && is_onnx(g.nodes[next], "Add") && g.nodes[next].inputs.size() == 2 &&
        g.nodes[next].outputs.size() == 1) {
      const Node& add = g.nodes[next];
      const int z = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
      if (z >= 0 && z != y && f32_known(g.values[z]) && g.values[z].shape == g.values[y].shape &&
          g.values[add.outputs[0]].shape == g.values[y].shape) {
        fused.inputs.push_back(z);  // FusedConvIn::kZ
        slot = next;
        out = add.outputs[0];
        absorbed.push_back(next);
        next = sole_user(users, is_output, out);
      }
    }
    // Activation.
    if (next >= 0 && g.nodes[next].outputs.size() == 1 && !g.nodes[next].inputs.empty() &&
        g.nodes[next].inputs[0] == out && activation_attrs(g, g.nodes[next], &fused)) {
      out = g.nodes[next].outputs[0];
      absorbed.push_back(next);
    }
    if (absorbed.empty()) continue;

    fused.outputs = {out};
    g.nodes[ci].dead = true;
    for (int n : absorbed) g.nodes[n].dead = true;
    g.nodes[slot] = std::move(fused);
    g.values[out].producer = slot;
  }
}

}  // namespace octet::detail
