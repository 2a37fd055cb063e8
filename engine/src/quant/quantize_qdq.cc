// FP32 graph -> QDQ graph (see quantize_qdq.h for the scheme).
#include "quant/quantize_qdq.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace octet::detail {
namespace {

bool is_activation(const Graph& g, int v) { return v >= 0 && !g.values[v].is_const && g.values[v].dtype == DType::f32; }

bool const_f32(const Graph& g, int v) { return v >= 0 && g.values[v].is_const && g.values[v].dtype == DType::f32; }

bool has(const Node& n, size_t i) { return i < n.inputs.size() && n.inputs[i] >= 0; }

Attribute int_attr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::int_;
  a.i = v;
  return a;
}

Attribute float_attr(float v) {
  Attribute a;
  a.kind = Attribute::Kind::float_;
  a.f = v;
  return a;
}

template <class T>
Tensor scalar_tensor(DType t, T v) {
  Tensor s(t, {});
  *s.data_as<T>() = v;
  return s;
}

Tensor s64_vector(const std::vector<int64_t>& v) {
  Tensor t(DType::s64, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data_as<int64_t>());
  return t;
}

// A value name not yet in the graph: base, else base_1, base_2...
std::string unique_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int k = 1; g.find_value(name) >= 0; ++k) name = base + "_" + std::to_string(k);
  return name;
}

int new_value(Graph& g, const std::string& base) { return g.add_value(unique_name(g, base)); }

std::vector<char> output_flags(const Graph& g) {
  std::vector<char> out(g.values.size(), 0);
  for (int o : g.outputs) out[o] = 1;
  return out;
}

// Relu, or Clip whose constant bounds hold 0 (lo <= 0 <= hi): quantizing the producer's output
// to the range of the activation's output computes the activation exactly.
bool foldable_activation(const Graph& g, const Node& act) {
  if (act.dead || !act.domain.empty()) return false;
  if (act.op_type == "Relu") return true;
  if (act.op_type != "Clip") return false;
  for (size_t i : {size_t(1), size_t(2)}) {
    if (!has(act, i)) continue;
    const Value& b = g.values[act.inputs[i]];
    if (!b.is_const || b.dtype != DType::f32 || b.data.numel() != 1) return false;
    float v = *b.data.data_as<float>();
    if (i == 1 ? !(v <= 0.0f) : !(v >= 0.0f)) return false;
  }
  return true;
}

// --- normalisation ------------------------------------------------------------------------

// The constant's values when it broadcasts as one value per channel of dim `axis` of a tensor of
// rank `rank` (or as one value overall); empty otherwise.
std::vector<float> per_channel_values(const Tensor& c, int64_t rank, int64_t axis, int64_t channels) {
  const Shape& s = c.shape();
  if (static_cast<int64_t>(s.size()) > rank) return {};
  const float* p = c.data_as<float>();
  if (c.numel() == 1) return std::vector<float>(static_cast<size_t>(channels), p[0]);
  const int64_t offset = rank - static_cast<int64_t>(s.size());
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    int64_t want = d + offset == axis ? channels : 1;
    if (s[d] != want) return {};
  }
  return std::vector<float>(p, p + channels);
}

bool fold_conv_add(Graph& g, Node& conv, Node& add, int y) {
  if (!const_f32(g, conv.inputs[1]) || g.values[conv.inputs[1]].data.rank() < 3) return false;
  if (has(conv, 2) && !const_f32(g, conv.inputs[2])) return false;
  const int other = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
  if (!const_f32(g, other) || add.inputs[0] == add.inputs[1]) return false;
  const Value& yv = g.values[y];
  if (!yv.shape_known || yv.shape.size() < 3) return false;
  const int64_t m = g.values[conv.inputs[1]].data.shape()[0];
  std::vector<float> extra = per_channel_values(g.values[other].data, static_cast<int64_t>(yv.shape.size()), 1, m);
  if (extra.empty()) return false;
  // The sum keeps the output shape only when the constant does not add dimensions.
  if (g.values[other].data.rank() > yv.shape.size()) return false;
  Tensor bias(DType::f32, {m});
  for (int64_t c = 0; c < m; ++c)
    bias.data_as<float>()[c] = (has(conv, 2) ? g.values[conv.inputs[2]].data.data_as<float>()[c] : 0.0f) + extra[c];
  int b = g.add_const(conv.name + "_bias", std::move(bias));
  conv.inputs.resize(3, -1);
  conv.inputs[2] = b;
  conv.outputs[0] = add.outputs[0];
  add.dead = true;
  return true;
}

// Gemm: alpha into B, beta into C (both constant), so that the quantized form needs neither.
void fold_gemm_scalars(Graph& g, Node& gemm) {
  if (!has(gemm, 1) || !const_f32(g, gemm.inputs[1])) return;
  const float alpha = gemm.attr_f("alpha", 1.0f), beta = gemm.attr_f("beta", 1.0f);
  if (alpha != 1.0f) {
    Tensor b = g.values[gemm.inputs[1]].data.clone();
    for (int64_t i = 0; i < b.numel(); ++i) b.data_as<float>()[i] *= alpha;
    gemm.inputs[1] = g.add_const(gemm.name + "_B_alpha", std::move(b));
    gemm.attrs["alpha"] = float_attr(1.0f);
  }
  if (beta != 1.0f && has(gemm, 2) && const_f32(g, gemm.inputs[2])) {
    Tensor c = g.values[gemm.inputs[2]].data.clone();
    for (int64_t i = 0; i < c.numel(); ++i) c.data_as<float>()[i] *= beta;
    gemm.inputs[2] = g.add_const(gemm.name + "_C_beta", std::move(c));
    gemm.attrs["beta"] = float_attr(1.0f);
  }
}

// MatMul(x, B [K,N]) + Add(constant [N]) -> Gemm(x2d, B, C) (+ Reshapes for rank > 2).
bool matmul_add_to_gemm(Graph& g, Node& mm, Node& add, int y, std::vector<Node>* added,
                        std::map<int, int>* flattened) {
  const int x = mm.inputs[0], w = mm.inputs[1];
  if (!is_activation(g, x) || !const_f32(g, w) || g.values[w].data.rank() != 2) return false;
  const Value& xv = g.values[x];
  if (!xv.shape_known || xv.shape.size() < 2) return false;
  const int other = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
  if (!const_f32(g, other) || add.inputs[0] == add.inputs[1]) return false;
  const int64_t K = g.values[w].data.shape()[0], N = g.values[w].data.shape()[1];
  const int64_t rank = static_cast<int64_t>(xv.shape.size());
  if (g.values[other].data.rank() > static_cast<size_t>(rank)) return false;
  std::vector<float> bias = per_channel_values(g.values[other].data, rank, rank - 1, N);
  if (bias.empty()) return false;
  Tensor c(DType::f32, {N});
  std::copy(bias.begin(), bias.end(), c.data_as<float>());
  const int cv = g.add_const(mm.name + "_bias", std::move(c));
  const int out = add.outputs[0];
  Node gemm;
  gemm.name = mm.name;
  gemm.op_type = "Gemm";
  if (rank == 2) {
    gemm.inputs = {x, w, cv};
    gemm.outputs = {out};
  } else {
    const int64_t rows = shape_numel(xv.shape) / K;
    Shape out_shape(xv.shape.begin(), xv.shape.end() - 1);
    out_shape.push_back(N);
    // One [rows, K] view of x serves every Gemm that reads it (Q, K, V projections).
    auto it = flattened->find(x);
    int x2 = it != flattened->end() ? it->second : -1;
    if (x2 < 0) {
      Node r1;
      r1.name = mm.name + "_to2d";
      r1.op_type = "Reshape";
      r1.inputs = {x, g.add_const(mm.name + "_shape2d", s64_vector({rows, K}))};
      x2 = new_value(g, g.values[x].name + "_2d");
      r1.outputs = {x2};
      added->push_back(std::move(r1));
      (*flattened)[x] = x2;
    }
    Node r2;
    const int y2 = new_value(g, g.values[out].name + "_2d");
    gemm.inputs = {x2, w, cv};
    gemm.outputs = {y2};
    r2.name = mm.name + "_from2d";
    r2.op_type = "Reshape";
    r2.inputs = {y2, g.add_const(mm.name + "_shape", s64_vector(out_shape))};
    r2.outputs = {out};
    added->push_back(std::move(r2));
  }
  mm = std::move(gemm);
  add.dead = true;
  return true;
}

}  // namespace

void normalize_for_quantization(Graph& g) {
  const std::vector<std::vector<int>> users = g.consumers();
  const std::vector<char> is_output = output_flags(g);
  std::vector<Node> added;
  std::map<int, int> flattened;  // x -> its 2-D view
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    Node& node = g.nodes[n];
    if (node.dead || !node.domain.empty() || node.outputs.empty() || node.outputs[0] < 0) continue;
    if (node.op_type == "Gemm") {
      fold_gemm_scalars(g, node);
      continue;
    }
    if (node.op_type != "Conv" && node.op_type != "MatMul") continue;
    const int y = node.outputs[0];
    if (is_output[y] || users[y].size() != 1 || node.inputs.size() < 2) continue;
    Node& add = g.nodes[users[y][0]];
    if (add.dead || !add.domain.empty() || add.op_type != "Add" || add.inputs.size() != 2) continue;
    if (node.op_type == "Conv") fold_conv_add(g, node, add, y);
    else matmul_add_to_gemm(g, node, add, y, &added, &flattened);
  }
  for (Node& n : added) g.nodes.push_back(std::move(n));
  g.toposort();
  g.compact();
}

void quantize_weights_s8(const Tensor& w, int64_t axis, Tensor* q, Tensor* scales, int bits) {
  if (bits != 7 && bits != 8) throw Error("weight bits must be 7 or 8, got " + std::to_string(bits));
  const float qmax = bits == 8 ? 127.0f : 63.0f;
  const Shape& s = w.shape();
  int64_t channels = s[axis], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
  *q = Tensor(DType::s8, s);
  *scales = Tensor(DType::f32, {channels});
  const float* src = w.data_as<float>();
  float* sc = scales->data_as<float>();
  for (int64_t c = 0; c < channels; ++c) {
    float m = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) m = std::max(m, std::fabs(src[(o * channels + c) * inner + i]));
    sc[c] = m > 0 && std::isfinite(m) ? m / qmax : 1.0f;
  }
  int8_t* dst = q->data_as<int8_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = (o * channels + c) * inner + i;
        float v = std::nearbyint(src[k] / sc[c]);
        dst[k] = static_cast<int8_t>(std::min(qmax, std::max(-qmax, v)));
      }
}

namespace {

// How the quantizer treats a node.
enum class Role {
  none,      // stays FP32
  compute,   // Conv / MatMul / Gemm with constant weights: input 0 quantized, weights s8
  add,       // Add of two activations
  pool,      // AveragePool / GlobalAveragePool: own output range
  movement,  // MaxPool, Reshape, Transpose, ...: exact on 8-bit values, output shares input's range
  concat,    // Concat: one range for every input and the output where possible
};

bool movement_op(const Graph& g, const Node& n) {
  static const std::set<std::string> ops = {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
                                            "Resize"};
  if (!ops.count(n.op_type) || n.inputs.empty() || !is_activation(g, n.inputs[0])) return false;
  if (n.op_type == "MaxPool" && n.outputs.size() > 1 && n.outputs[1] >= 0) return false;  // Indices
  if (n.op_type == "Resize" && n.attr_s("mode", "nearest") != "nearest") return false;
  for (size_t i = 1; i < n.inputs.size(); ++i)  // shapes, axes, scales: constants
    if (n.inputs[i] >= 0 && !g.values[n.inputs[i]].is_const) return false;
  return true;
}

Role classify(const Graph& g, const Node& n) {
  if (n.dead || !n.domain.empty() || n.outputs.empty() || n.outputs[0] < 0) return Role::none;
  if (g.values[n.outputs[0]].dtype != DType::f32) return Role::none;
  const std::string& op = n.op_type;
  const int x = n.inputs.empty() ? -1 : n.inputs[0];
  if (op == "Conv") {
    if (is_activation(g, x) && has(n, 1) && const_f32(g, n.inputs[1]) && g.values[n.inputs[1]].data.rank() >= 3 &&
        (!has(n, 2) || const_f32(g, n.inputs[2])))
      return Role::compute;
  } else if (op == "MatMul") {
    if (is_activation(g, x) && g.values[x].shape.size() >= 2 && const_f32(g, n.inputs[1]) &&
        g.values[n.inputs[1]].data.rank() == 2)
      return Role::compute;
  } else if (op == "Gemm") {
    if (is_activation(g, x) && g.values[x].shape.size() == 2 && n.attr_i("transA", 0) == 0 &&
        n.attr_f("alpha", 1.0f) == 1.0f && const_f32(g, n.inputs[1]) && g.values[n.inputs[1]].data.rank() == 2) {
      if (!has(n, 2)) return Role::compute;
      const Tensor& w = g.values[n.inputs[1]].data;
      const int64_t N = n.attr_i("transB", 0) ? w.shape()[0] : w.shape()[1];
      const Tensor& c = g.values[n.inputs[2]].data;
      if (const_f32(g, n.inputs[2]) && n.attr_f("beta", 1.0f) == 1.0f && !per_channel_values(c, 2, 1, N).empty())
        return Role::compute;
    }
  } else if (op == "Add") {
    if (n.inputs.size() == 2 && is_activation(g, n.inputs[0]) && is_activation(g, n.inputs[1])) return Role::add;
  } else if (op == "AveragePool" || op == "GlobalAveragePool") {
    if (is_activation(g, x) && n.outputs.size() == 1) return Role::pool;
  } else if (op == "Concat") {
    bool all = !n.inputs.empty();
    for (int i : n.inputs) all = all && is_activation(g, i);
    if (all) return Role::concat;
  } else if (movement_op(g, n)) {
    return Role::movement;
  }
  return Role::none;
}

class QdqWriter {
 public:
  explicit QdqWriter(Graph& g) : g_(g) {}

  // DequantizeLinear(constant q, scale, zero point) -> a new f32 value.
  int dequantize_const(const std::string& base, Tensor q, Tensor scale, Tensor zero, int64_t axis) {
    const int qv = g_.add_const(base + "_quantized", std::move(q));
    const int sv = g_.add_const(base + "_scale", std::move(scale));
    const int zv = g_.add_const(base + "_zero_point", std::move(zero));
    const int out = new_value(g_, base + "_dequantized");
    Node n;
    n.name = g_.values[out].name + "_DequantizeLinear";
    n.op_type = "DequantizeLinear";
    n.inputs = {qv, sv, zv};
    n.outputs = {out};
    if (g_.values[sv].data.numel() > 1) n.attrs["axis"] = int_attr(axis);
    g_.nodes.push_back(std::move(n));
    return out;
  }

  // QuantizeLinear -> DequantizeLinear on activation v: {u8 value, dequantized value}.
  std::pair<int, int> quantize_dequantize(int v, float scale, int32_t zero) {
    const std::string base = g_.values[v].name;
    const int sv = g_.add_const(base + "_scale", scalar_tensor<float>(DType::f32, scale));
    const int zv = g_.add_const(base + "_zero_point", scalar_tensor<uint8_t>(DType::u8, static_cast<uint8_t>(zero)));
    const int qv = new_value(g_, base + "_quantized");
    const int dqv = new_value(g_, base + "_dequantized");
    Node q;
    q.name = base + "_QuantizeLinear";
    q.op_type = "QuantizeLinear";
    q.inputs = {v, sv, zv};
    q.outputs = {qv};
    Node dq;
    dq.name = base + "_DequantizeLinear";
    dq.op_type = "DequantizeLinear";
    dq.inputs = {qv, sv, zv};
    dq.outputs = {dqv};
    g_.nodes.push_back(std::move(q));
    g_.nodes.push_back(std::move(dq));
    return {qv, dqv};
  }

 private:
  Graph& g_;
};

// The opset the QDQ graph declares (what export_qdq writes). Per-axis DequantizeLinear needs
// 13. The graph holds the newest form of every op (the frontend upgrades old ones), so a
// reduction with its axes as an input (the opset-18 form of ReduceMean & co.) needs 18. The
// Softmax family, the one op whose meaning changed at 13 without an upgrade, gets an explicit
// last axis where that keeps its meaning; otherwise the opset stays below 13 (and per-axis
// weights then make the export invalid for other runtimes; octet itself does not care).
void raise_opset_for_qdq(Graph& g) {
  static const std::set<std::string> reductions_18 = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                                      "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                                                      "ReduceSumSquare"};
  int64_t target = 13;
  for (const Node& n : g.nodes)
    if (!n.dead && n.domain.empty() && reductions_18.count(n.op_type) && has(n, 1)) target = 18;
  if (g.opset() >= target) return;
  std::vector<Node*> softmax;
  for (Node& n : g.nodes) {
    if (n.dead || !n.domain.empty()) continue;
    if (n.op_type != "Softmax" && n.op_type != "LogSoftmax" && n.op_type != "Hardmax") continue;
    if (g.opset() >= 13) continue;
    const int64_t rank = static_cast<int64_t>(g.values[n.inputs[0]].shape.size());
    int64_t axis = n.attr_i("axis", 1);
    if (axis < 0) axis += rank;
    if (axis != rank - 1) return;
    softmax.push_back(&n);
  }
  for (Node* n : softmax) n->attrs["axis"] = int_attr(-1);
  // Opset 18's Split names its output count when the sizes are not an input.
  if (target >= 18)
    for (Node& n : g.nodes)
      if (!n.dead && n.domain.empty() && n.op_type == "Split" && !has(n, 1) && !n.has_attr("num_outputs"))
        n.attrs["num_outputs"] = int_attr(static_cast<int64_t>(n.outputs.size()));
  g.opsets[""] = target;
}

}  // namespace

Graph quantize_qdq(const Graph& fp32, const std::map<std::string, Range>& ranges, const QuantizeSettings& settings,
                   std::vector<QuantizedTensor>* quantized) {
  Graph g = fp32;
  g.toposort();
  const size_t num_nodes = g.nodes.size(), num_values = g.values.size();
  const std::vector<std::vector<int>> users = g.consumers();
  const std::vector<char> is_output = output_flags(g);

  std::vector<Role> role(num_nodes);
  for (size_t n = 0; n < num_nodes; ++n)
    role[n] = settings.fp32_nodes.count(g.nodes[n].name) ? Role::none : classify(g, g.nodes[n]);

  // The Relu / Clip a compute or add node would fold: its sole consumer (-1 if none).
  auto fold_target = [&](size_t n) -> int {
    if (role[n] != Role::compute && role[n] != Role::add) return -1;
    const int y = g.nodes[n].outputs[0];
    if (is_output[y] || users[y].size() != 1) return -1;
    const int a = users[y][0];
    if (!foldable_activation(g, g.nodes[a]) || g.nodes[a].inputs[0] != y) return -1;
    if (settings.fp32_nodes.count(g.nodes[a].name)) return -1;
    return a;
  };

  // 1. needed[v]: some consumer reads v as an 8-bit input worth having, directly or through
  //    data movement / a foldable activation. Reverse topological order: consumers first.
  std::vector<char> needed(num_values, 0);
  for (size_t r = num_nodes; r-- > 0;) {
    const Node& node = g.nodes[r];
    for (int y : node.outputs) {
      if (y < 0) continue;
      for (int c : users[y]) {
        const Node& cn = g.nodes[c];
        bool want = false;
        switch (role[c]) {
          case Role::compute: want = cn.inputs[0] == y; break;
          case Role::add:
          case Role::pool:
          case Role::movement:
          case Role::concat: {
            const int t = fold_target(c);
            want = needed[t >= 0 ? g.nodes[t].outputs[0] : cn.outputs[0]];
            if (role[c] == Role::movement) want = want && cn.inputs[0] == y;
            break;
          }
          case Role::none:
            if (foldable_activation(g, cn) && fold_target(r) == c) want = needed[cn.outputs[0]];
            break;
        }
        if (want) needed[y] = 1;
      }
    }
  }

  // 2. Which nodes run quantized, which values get a Q -> DQ pair.
  std::vector<char> enabled(num_nodes, 0), quantize_value(num_values, 0);
  std::vector<int> final_output(num_nodes, -1);  // the value the quantized node writes
  std::vector<int> range_source(num_values, -1);  // movement outputs take their input's range
  for (size_t n = 0; n < num_nodes; ++n) {
    const Node& node = g.nodes[n];
    const int t = fold_target(n);
    final_output[n] = t >= 0 ? g.nodes[t].outputs[0] : (node.outputs.empty() ? -1 : node.outputs[0]);
    if (role[n] == Role::compute) enabled[n] = 1;
    if ((role[n] == Role::add || role[n] == Role::pool) && needed[final_output[n]]) enabled[n] = 1;
    if (!enabled[n]) continue;
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (is_activation(g, node.inputs[i]) && (role[n] != Role::compute || i == 0)) quantize_value[node.inputs[i]] = 1;
  }
  for (size_t n = 0; n < num_nodes; ++n) {  // forward: movement and concat follow their inputs
    const Node& node = g.nodes[n];
    if (role[n] == Role::movement && quantize_value[node.inputs[0]]) {
      enabled[n] = 1;
      range_source[node.outputs[0]] = node.inputs[0];
    } else if (role[n] == Role::concat) {
      bool all = true;
      for (int i : node.inputs) all = all && quantize_value[i];
      enabled[n] = all;
    } else if (role[n] == Role::compute && node.op_type == "Gemm") {
      // Gemm's output stays f32 (QGemm with a float output) unless a consumer wants 8 bits.
      if (!needed[final_output[n]]) {
        final_output[n] = node.outputs[0];
        continue;
      }
    }
    if (enabled[n]) quantize_value[final_output[n]] = 1;
  }

  // 3. Ranges: calibrated, Concat inputs sharing the union, movement outputs inheriting.
  std::map<std::string, Range> r = ranges;
  for (size_t n = 0; n < num_nodes; ++n) {
    if (!enabled[n] || role[n] != Role::concat) continue;
    const Node& node = g.nodes[n];
    Range u{0, 0};
    bool all_known = true;
    for (int i : node.inputs) {
      auto it = r.find(g.values[i].name);
      if (it == r.end()) all_known = false;
      else u = {std::min(u.lo, it->second.lo), std::max(u.hi, it->second.hi)};
    }
    if (!all_known) continue;
    r[g.values[node.outputs[0]].name] = u;
    for (int i : node.inputs)
      if (users[i].size() == 1 && range_source[i] < 0 && !is_output[i]) r[g.values[i].name] = u;
  }
  std::vector<float> scale(num_values, 1.0f);
  std::vector<int32_t> zero(num_values, 0);
  for (size_t v = 0; v < num_values; ++v) {
    if (!quantize_value[v]) continue;
    int src = static_cast<int>(v);
    while (range_source[src] >= 0) src = range_source[src];
    auto it = r.find(g.values[src].name);
    if (it == r.end() || !std::isfinite(it->second.lo) || !std::isfinite(it->second.hi)) {
      quantize_value[v] = 0;  // never observed in calibration: stays FP32
      continue;
    }
    u8_params(it->second, &scale[v], &zero[v]);
  }

  // 4. Rewrite: fold the activations, weights and biases behind DequantizeLinear, then a
  //    Q -> DQ pair on every quantized activation.
  QdqWriter w(g);
  std::vector<char> weights_quantized(num_nodes, 0);
  for (size_t n = 0; n < num_nodes; ++n) {
    if (!enabled[n]) continue;
    const int t = fold_target(n);
    if (t >= 0 && quantize_value[final_output[n]]) {
      g.nodes[n].outputs[0] = g.nodes[t].outputs[0];
      g.nodes[t].dead = true;
    }
    if (role[n] != Role::compute) continue;
    const int x = g.nodes[n].inputs[0];
    if (!quantize_value[x]) continue;
    weights_quantized[n] = 1;
    const std::string op = g.nodes[n].op_type;
    const int wv = g.nodes[n].inputs[1];
    const Tensor& wt = g.values[wv].data;
    const int64_t axis = op == "Conv" ? 0 : op == "Gemm" && g.nodes[n].attr_i("transB", 0) ? 0 : 1;
    Tensor wq, ws;
    quantize_weights_s8(wt, axis, &wq, &ws, settings.weight_bits);
    const int64_t channels = ws.numel();
    std::vector<float> w_scale(ws.data_as<float>(), ws.data_as<float>() + channels);
    const std::string wname = g.values[wv].name;
    g.nodes[n].inputs[1] = w.dequantize_const(wname, std::move(wq), std::move(ws), Tensor(DType::s8, {channels}), axis);
    if (has(g.nodes[n], 2)) {
      const int bv = g.nodes[n].inputs[2];
      const Tensor& bt = g.values[bv].data;
      const int64_t brank = std::max<int64_t>(1, static_cast<int64_t>(bt.rank()));
      std::vector<float> bias = per_channel_values(bt, brank, brank - 1, channels);
      if (static_cast<int64_t>(bias.size()) != channels)
        throw Error(g.where() + g.nodes[n].label() + ": bias does not hold one value per output channel");
      Tensor bq(DType::s32, {channels}), bs(DType::f32, {channels});
      for (int64_t c = 0; c < channels; ++c) {
        const float s = scale[x] * w_scale[c];
        bs.data_as<float>()[c] = s;
        const double q = std::nearbyint(static_cast<double>(bias[c]) / s);
        bq.data_as<int32_t>()[c] = static_cast<int32_t>(std::min(2147483647.0, std::max(-2147483647.0, q)));
      }
      const std::string bname = g.values[bv].name;
      g.nodes[n].inputs[2] = w.dequantize_const(bname, std::move(bq), std::move(bs), Tensor(DType::s32, {channels}), 0);
    }
  }

  for (Value& v : g.values) v.producer = -1;  // folding moved some outputs
  for (size_t n = 0; n < g.nodes.size(); ++n)
    if (!g.nodes[n].dead)
      for (int o : g.nodes[n].outputs)
        if (o >= 0) g.values[o].producer = static_cast<int>(n);
  const std::vector<std::vector<int>> readers = g.consumers();
  for (size_t v = 0; v < num_values; ++v) {
    if (!quantize_value[v]) continue;
    const std::string fp32_name = g.values[v].name;
    const int producer = g.values[v].producer;
    auto [qv, dqv] = w.quantize_dequantize(static_cast<int>(v), scale[v], zero[v]);
    for (int reader : readers[v])
      for (int& in : g.nodes[reader].inputs)
        if (in == static_cast<int>(v)) in = dqv;
    if (is_output[v]) {
      // The graph output keeps its name: the dequantized value takes it over.
      g.values[v].name = unique_name(g, fp32_name + "_fp32");
      g.values[dqv].name = fp32_name;
      g.name_index[g.values[v].name] = static_cast<int>(v);
      g.name_index[fp32_name] = dqv;
      for (int& o : g.outputs)
        if (o == static_cast<int>(v)) o = dqv;
    }
    QuantizedTensor qt;
    qt.fp32_name = fp32_name;
    qt.quantized_name = g.values[qv].name;
    qt.producer_op = producer >= 0 ? g.nodes[producer].op_type : "input";
    qt.producer_node = producer >= 0 ? g.nodes[producer].name : "";
    qt.scale = scale[v];
    qt.zero_point = zero[v];
    quantized->push_back(std::move(qt));
  }
  // Gemms with an f32 output are INT8 layers too: the report measures their output.
  for (size_t n = 0; n < num_nodes; ++n) {
    const Node& node = g.nodes[n];
    if (!enabled[n] || role[n] != Role::compute || node.dead || quantize_value[final_output[n]]) continue;
    if (!weights_quantized[n]) continue;  // its input stayed FP32: not quantized
    QuantizedTensor qt;
    qt.fp32_name = g.values[node.outputs[0]].name;
    qt.quantized_name = qt.fp32_name;
    qt.producer_op = node.op_type;
    qt.producer_node = node.name;
    qt.scale = 0;
    qt.zero_point = 0;
    qt.float_output = true;
    quantized->push_back(std::move(qt));
  }
  raise_opset_for_qdq(g);
  g.toposort();
  g.compact();
  return g;
}

}  // namespace octet::detail
