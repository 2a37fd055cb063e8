// Folds the erf GELU that torch exports before opset 20,
//   y = x * 0.5 * (1 + Erf(x / sqrt(2)))
// into one Gelu node (approximate "none"), whose kernel makes one pass instead of five. The
// orders torch writes are all taken: Div(x, sqrt 2) or Mul(x, 1/sqrt 2); Add(Erf, 1) either
// way round; then (x * a) * 0.5, (0.5 * x) * a with the half first, or (a * 0.5) * x, every
// Mul with its operands either way round. Every constant is checked (to float rounding of
// sqrt 2, exactly 1 and 0.5), every intermediate must feed only the pattern, and the shapes must
// stay x's.
#include <cmath>
#include <string>

#include "passes/pass_util.h"
#include "passes/passes.h"

namespace octet::detail {
namespace {

bool is_onnx(const Node& n, const char* op) { return !n.dead && n.domain.empty() && n.op_type == op; }

struct Users {
  std::vector<std::vector<int>> of;
  std::vector<char> is_output;
  int sole(int v) const { return v < 0 || is_output[v] || of[v].size() != 1 ? -1 : of[v][0]; }
};

// The constant f32 scalar operand of a two-input node whose other operand is v (NaN if none).
float scalar_beside(const Graph& g, const Node& n, int v) {
  if (n.inputs.size() != 2 || n.outputs.size() != 1) return std::nanf("");
  for (size_t i = 0; i < 2; ++i) {
    const Tensor* t = nullptr;
    if (n.inputs[1 - i] == v && const_scalar(g, n, i, &t) && t && t->dtype() == DType::f32)
      return t->data_as<float>()[0];
  }
  return std::nanf("");
}

// The operand of a two-input node that is not `v` (-1 when both or neither are v).
int other_operand(const Node& n, int v) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return -1;
}

bool near(float a, double b) { return std::fabs(a - b) <= 1e-6 * b; }

}  // namespace

void fuse_gelu(Graph& g) {
  Users u{g.consumers(), std::vector<char>(g.values.size(), 0)};
  for (int o : g.outputs) u.is_output[o] = 1;
  for (size_t ei = 0; ei < g.nodes.size(); ++ei) {
    const Node& erf = g.nodes[ei];
    if (!is_onnx(erf, "Erf") || erf.inputs.size() != 1 || erf.outputs.size() != 1 || erf.inputs[0] < 0) continue;
    // z = x / sqrt 2 (or x * 1/sqrt 2), read only by the Erf.
    const int z = erf.inputs[0];
    const int scale_i = g.values[z].producer;
    if (scale_i < 0 || u.sole(z) != static_cast<int>(ei)) continue;
    const Node& scale = g.nodes[scale_i];
    int x = -1;
    if (is_onnx(scale, "Div") && scale.inputs.size() == 2 && near(scalar_beside(g, scale, scale.inputs[0]), std::sqrt(2.0)))
      x = scale.inputs[0];
    else if (is_onnx(scale, "Mul"))
      for (int cand : scale.inputs)
        if (near(scalar_beside(g, scale, cand), std::sqrt(0.5))) x = cand;
    if (x < 0) continue;
    const Value& xv = g.values[x];
    if (xv.dtype != DType::f32 || !xv.shape_known || g.values[z].shape != xv.shape) continue;
    // a = Erf + 1
    const int add_i = u.sole(erf.outputs[0]);
    if (add_i < 0 || !is_onnx(g.nodes[add_i], "Add") || scalar_beside(g, g.nodes[add_i], erf.outputs[0]) != 1.0f)
      continue;
    const int a = g.nodes[add_i].outputs[0];
    if (g.values[a].shape != xv.shape) continue;
    // The two Muls joining x, a and 0.5.
    const int m1_i = u.sole(a);
    if (m1_i < 0 || !is_onnx(g.nodes[m1_i], "Mul")) continue;
    const Node& m1 = g.nodes[m1_i];
    const int partner = other_operand(m1, a);
    if (partner < 0 || m1.outputs.size() != 1) continue;
    std::vector<int> absorbed = {scale_i, static_cast<int>(ei), add_i, m1_i};
    int out = -1;
    if (partner == x || scalar_beside(g, m1, a) == 0.5f) {
      // (x * a) * 0.5 or (a * 0.5) * x: the second Mul takes what the first lacks.
      const int m2_i = u.sole(m1.outputs[0]);
      if (m2_i < 0 || !is_onnx(g.nodes[m2_i], "Mul")) continue;
      const Node& m2 = g.nodes[m2_i];
      const int rest = other_operand(m2, m1.outputs[0]);
      const bool ok = partner == x ? scalar_beside(g, m2, m1.outputs[0]) == 0.5f : rest == x;
      if (!ok) continue;
      absorbed.push_back(m2_i);
      out = m2.outputs[0];
    } else {
      // (x * 0.5) * a: the half is its own Mul, read only here.
      const int h_i = g.values[partner].producer;
      if (h_i < 0 || !is_onnx(g.nodes[h_i], "Mul") || u.sole(partner) != m1_i ||
          scalar_beside(g, g.nodes[h_i], x) != 0.5f || g.values[partner].shape != xv.shape)
        continue;
      absorbed.push_back(h_i);
      out = m1.outputs[0];
    }
    if (g.values[out].shape != xv.shape) continue;
    // Every intermediate reads only into the pattern: checked above for z, the Erf output, a
    // and the half; the first Mul's output too when a second Mul follows.
    Node gelu;
    gelu.name = g.nodes[g.values[out].producer].name + "_gelu";
    gelu.op_type = "Gelu";
    gelu.inputs = {x};
    gelu.outputs = {out};
    const int slot = g.values[out].producer;  // the chain's last node: x is ready there
    for (int n : absorbed) g.nodes[n].dead = true;
    g.nodes[slot] = std::move(gelu);
  }
}

}  // namespace octet::detail
