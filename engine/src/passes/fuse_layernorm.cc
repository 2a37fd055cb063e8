// Folds the decomposed layer normalisation that torch exports before opset 17,
//   m = ReduceMean(x, axes=[-1]); d = Sub(x, m); v = ReduceMean(Pow(d, 2), axes=[-1]);
//   y = Div(d, Sqrt(Add(v, eps))) [-> Mul(y, scale)] [-> Add(y, bias)]
// into one LayerNormalization node (axis -1, epsilon eps) whose kernel makes two passes over
// each row instead of nine. Every constant is checked (exponent 2, a scalar eps, scale and
// bias of one value per normalised element or one in all), every intermediate must feed only
// the pattern (d feeds exactly the Pow and the Div), and the shapes must stay x's.
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
  // The node reading value v when exactly one does and v is not a graph output; else -1.
  int sole(int v) const { return v < 0 || is_output[v] || of[v].size() != 1 ? -1 : of[v][0]; }
};

// A constant f32 scalar input i of n.
bool f32_scalar(const Graph& g, const Node& n, size_t i, float* out) {
  const Tensor* t = nullptr;
  if (i >= n.inputs.size() || !const_scalar(g, n, i, &t) || !t || t->dtype() != DType::f32) return false;
  *out = t->data_as<float>()[0];
  return true;
}

// ReduceMean over the last axis only, keepdims, of a known-rank f32 input.
bool mean_over_last_axis(const Graph& g, const Node& n, int64_t rank) {
  if (!is_onnx(n, "ReduceMean") || n.inputs.empty() || n.outputs.size() != 1 || n.attr_i("keepdims", 1) != 1)
    return false;
  std::vector<int64_t> axes;
  if (n.inputs.size() > 1 && n.inputs[1] >= 0) {
    const Value& a = g.values[n.inputs[1]];
    if (!a.is_const || a.data.dtype() != DType::s64) return false;
    axes.assign(a.data.data_as<int64_t>(), a.data.data_as<int64_t>() + a.data.numel());
  } else {
    axes = n.attr_ints("axes");
  }
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

// The operand of a two-input node that is not `v` (-1 when both or neither are v).
int other_operand(const Node& n, int v) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return -1;
}

// A constant f32 parameter of one value per element of the last axis (or one for all), that
// leaves x's shape unchanged when broadcast against it: its values expanded to `c`.
bool per_channel_param(const Graph& g, int p, int64_t c, std::vector<float>* out) {
  if (p < 0) return false;
  const Value& v = g.values[p];
  if (!v.is_const || v.data.dtype() != DType::f32) return false;
  Shape s = v.data.shape();
  while (!s.empty() && s.front() == 1 && s.size() > 1) s.erase(s.begin());
  if (s.size() > 1 || (s.size() == 1 && s[0] != c && s[0] != 1)) return false;
  const float* d = v.data.data_as<float>();
  out->resize(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) (*out)[i] = v.data.numel() == 1 ? d[0] : d[i];
  return true;
}

Tensor f32_vector(const std::vector<float>& v) {
  Tensor t(DType::f32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<float>()[i] = v[i];
  return t;
}

}  // namespace

void fuse_layernorm(Graph& g) {
  Users u{g.consumers(), std::vector<char>(g.values.size(), 0)};
  for (int o : g.outputs) u.is_output[o] = 1;
  for (size_t mi = 0; mi < g.nodes.size(); ++mi) {
    const Node& mean1 = g.nodes[mi];
    if (mean1.dead || mean1.inputs.empty() || mean1.inputs[0] < 0) continue;
    const int x = mean1.inputs[0];
    const Value& xv = g.values[x];
    if (xv.dtype != DType::f32 || !xv.shape_known || xv.shape.empty()) continue;
    const int64_t rank = static_cast<int64_t>(xv.shape.size()), c = xv.shape.back();
    if (c <= 0 || !mean_over_last_axis(g, mean1, rank)) continue;
    const int m = mean1.outputs[0];
    // d = Sub(x, m)
    const int sub_i = u.sole(m);
    if (sub_i < 0 || !is_onnx(g.nodes[sub_i], "Sub") || g.nodes[sub_i].inputs.size() != 2 ||
        g.nodes[sub_i].inputs[0] != x || g.nodes[sub_i].inputs[1] != m)
      continue;
    const int d = g.nodes[sub_i].outputs[0];
    if (u.is_output[d] || u.of[d].size() != 2 || g.values[d].shape != xv.shape) continue;
    int pow_i = u.of[d][0], div_i = u.of[d][1];
    if (is_onnx(g.nodes[div_i], "Pow")) std::swap(pow_i, div_i);
    float exponent = 0;
    const Node& pow = g.nodes[pow_i];
    if (!is_onnx(pow, "Pow") || pow.inputs.size() != 2 || pow.inputs[0] != d || !f32_scalar(g, pow, 1, &exponent) ||
        exponent != 2.0f || g.values[pow.outputs[0]].shape != xv.shape)
      continue;
    // v = ReduceMean(d^2); Add(v, eps); Sqrt
    const int mean2_i = u.sole(pow.outputs[0]);
    if (mean2_i < 0 || !mean_over_last_axis(g, g.nodes[mean2_i], rank)) continue;
    const int v = g.nodes[mean2_i].outputs[0];
    const int add_eps_i = u.sole(v);
    if (add_eps_i < 0 || !is_onnx(g.nodes[add_eps_i], "Add")) continue;
    const Node& add_eps = g.nodes[add_eps_i];
    float eps = 0;
    const int eps_v = other_operand(add_eps, v);
    if (eps_v < 0 || !f32_scalar(g, add_eps, add_eps.inputs[0] == v ? 1 : 0, &eps) || !(eps >= 0) ||
        g.values[add_eps.outputs[0]].shape != g.values[v].shape)
      continue;
    const int sqrt_i = u.sole(add_eps.outputs[0]);
    if (sqrt_i < 0 || !is_onnx(g.nodes[sqrt_i], "Sqrt")) continue;
    const Node& div = g.nodes[div_i];
    if (!is_onnx(div, "Div") || div.inputs.size() != 2 || div.inputs[0] != d ||
        div.inputs[1] != g.nodes[sqrt_i].outputs[0] || u.sole(g.nodes[sqrt_i].outputs[0]) != div_i ||
        g.values[div.outputs[0]].shape != xv.shape)
      continue;
    std::vector<int> absorbed = {static_cast<int>(mi), sub_i, pow_i, mean2_i, add_eps_i, sqrt_i, div_i};
    int out = div.outputs[0];
    // [Mul(scale)] [Add(bias)], either operand order.
    std::vector<float> scale(static_cast<size_t>(c), 1.0f), bias;
    int next = u.sole(out);
    if (next >= 0 && is_onnx(g.nodes[next], "Mul") &&
        per_channel_param(g, other_operand(g.nodes[next], out), c, &scale) &&
        g.values[g.nodes[next].outputs[0]].shape == xv.shape) {
      absorbed.push_back(next);
      out = g.nodes[next].outputs[0];
      next = u.sole(out);
    }
    if (next >= 0 && is_onnx(g.nodes[next], "Add") &&
        per_channel_param(g, other_operand(g.nodes[next], out), c, &bias) &&
        g.values[g.nodes[next].outputs[0]].shape == xv.shape) {
      absorbed.push_back(next);
      out = g.nodes[next].outputs[0];
    }

    Node ln;
    ln.name = g.nodes[absorbed.back()].name + "_layernorm";
    ln.op_type = "LayerNormalization";
    Attribute a;
    a.kind = Attribute::Kind::int_;
    a.i = -1;
    ln.attrs["axis"] = a;
    a = Attribute{};
    a.kind = Attribute::Kind::float_;
    a.f = eps;
    ln.attrs["epsilon"] = a;
    ln.inputs = {x, g.add_const(ln.name + "_scale", f32_vector(scale))};
    if (!bias.empty()) ln.inputs.push_back(g.add_const(ln.name + "_bias", f32_vector(bias)));
    ln.outputs = {out};
    const int slot = absorbed.back();  // the last node of the chain: every input is ready there
    for (int n : absorbed) g.nodes[n].dead = true;
    g.nodes[slot] = std::move(ln);
    g.values[out].producer = slot;
    // add_const grew g.values: keep the bookkeeping as long.
    u.of.resize(g.values.size());
    u.is_output.resize(g.values.size(), 0);
  }
}

}  // namespace octet::detail
