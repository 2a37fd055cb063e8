#include <algorithm>
#include <cmath>
#include <set>

#include "quant/quantize.h"

namespace octet::detail {
namespace {

bool is_activation(const Graph& g, int v) { return v >= 0 && !g.values[v].is_const && g.values[v].dtype == DType::f32; }

bool const_f32(const Graph& g, int v) { return v >= 0 && g.values[v].is_const && g.values[v].dtype == DType::f32; }

Tensor scalar_f32(float v) {
  Tensor t(DType::f32, {});
  *t.data_as<float>() = v;
  return t;
}

Tensor scalar_u8(int32_t v) {
  Tensor t(DType::u8, {});
  *t.data_as<uint8_t>() = static_cast<uint8_t>(v);
  return t;
}

Attribute int_attr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::int_;
  a.i = v;
  return a;
}

// Symmetric s8 per-channel quantization of w along `axis` (scales [-127, 127]).
void quantize_weights(const Tensor& w, int64_t axis, Tensor* q, Tensor* scales) {
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
    sc[c] = m > 0 ? m / 127.0f : 1.0f;
  }
  int8_t* dst = q->data_as<int8_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = (o * channels + c) * inner + i;
        float v = std::nearbyint(src[k] / sc[c]);
        dst[k] = static_cast<int8_t>(std::min(127.0f, std::max(-127.0f, v)));
      }
}

class QdqBuilder {
 public:
  QdqBuilder(Graph& g) : g_(g) {}

  // DequantizeLinear(q_const, scale_const, zero_const, axis) -> new f32 value; returns it.
  int dequant_const(const std::string& base, Tensor q, Tensor scale, Tensor zero, int64_t axis) {
    int qv = g_.add_const(base + "_quantized", std::move(q));
    int sv = g_.add_const(base + "_scale", std::move(scale));
    int zv = g_.add_const(base + "_zero_point", std::move(zero));
    int out = g_.add_value(base + "_dequantized");
    Node n;
    n.name = base + "_DequantizeLinear";
    n.op_type = "DequantizeLinear";
    n.inputs = {qv, sv, zv};
    n.outputs = {out};
    n.attrs["axis"] = int_attr(axis);
    g_.nodes.push_back(std::move(n));
    return out;
  }

  // Q -> DQ on activation v: returns {quantized value, dequantized value}.
  std::pair<int, int> quant_dequant(int v, float scale, int32_t zp) {
    const std::string base = g_.values[v].name;
    int sv = g_.add_const(base + "_scale", scalar_f32(scale));
    int zv = g_.add_const(base + "_zero_point", scalar_u8(zp));
    int qv = g_.add_value(base + "_quantized");
    int dqv = g_.add_value(base + "_dequantized");
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

enum class Kind { none, compute, add, passthrough, concat };

const std::set<std::string>& passthrough_ops() {
  static const std::set<std::string> ops = {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze"};
  return ops;
}

}  // namespace

bool has_quantized_ops(const Graph& g) {
  static const std::set<std::string> ops = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                                            "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear",
                                            "QLinearAdd", "QLinearMul"};
  for (const Node& n : g.nodes)
    if (!n.dead && ops.count(n.op_type)) return true;
  return false;
}

Graph insert_qdq(const Graph& fp32, const std::map<std::string, Range>& ranges,
                 std::vector<QuantizedTensor>* quantized) {
  Graph g = fp32;
  const size_t original_nodes = g.nodes.size();
  std::vector<std::vector<int>> users = g.consumers();
  std::vector<char> is_output(g.values.size(), 0);
  for (int o : g.outputs) is_output[o] = 1;

  // 1. Classify nodes and fold Relu / Clip(0, x) into compute / add producers.
  std::vector<Kind> kind(original_nodes, Kind::none);
  std::vector<char> quantize_value(g.values.size(), 0);  // gets a Q -> DQ pair
  std::vector<int> range_source(g.values.size(), -1);    // passthrough: take params of this value
  for (size_t n = 0; n < original_nodes; ++n) {
    Node& node = g.nodes[n];
    if (node.dead || !node.domain.empty() || node.outputs.empty() || node.outputs[0] < 0) continue;
    const std::string& op = node.op_type;
    int x = node.inputs.empty() ? -1 : node.inputs[0];
    if (op == "Conv" && is_activation(g, x) && node.inputs.size() >= 2 && const_f32(g, node.inputs[1]) &&
        g.values[node.inputs[1]].data.rank() >= 3 &&
        (node.inputs.size() < 3 || node.inputs[2] < 0 || const_f32(g, node.inputs[2]))) {
      kind[n] = Kind::compute;
    } else if (op == "MatMul" && is_activation(g, x) && const_f32(g, node.inputs[1]) &&
               g.values[node.inputs[1]].data.rank() == 2 && g.values[x].shape.size() >= 2) {
      kind[n] = Kind::compute;
    } else if (op == "Add" && node.inputs.size() == 2 && is_activation(g, node.inputs[0]) &&
               is_activation(g, node.inputs[1]) && g.values[node.inputs[0]].shape == g.values[node.inputs[1]].shape) {
      kind[n] = Kind::add;
    } else if (passthrough_ops().count(op) && is_activation(g, x) && quantize_value[x] &&
               (op != "MaxPool" || node.outputs.size() == 1 || node.outputs[1] < 0)) {
      kind[n] = Kind::passthrough;
    } else if (op == "Concat" && !node.inputs.empty()) {
      bool all = true;
      for (int i : node.inputs) all = all && is_activation(g, i) && quantize_value[i];
      if (all) kind[n] = Kind::concat;
    }
    if (kind[n] == Kind::none) continue;

    int y = node.outputs[0];
    if (kind[n] == Kind::compute || kind[n] == Kind::add) {
      for (int i : node.inputs)
        if (is_activation(g, i)) quantize_value[i] = 1;
      // Fold a sole Relu / Clip(0, hi) consumer: the output range does the clamping.
      if (!is_output[y] && users[y].size() == 1) {
        Node& act = g.nodes[users[y][0]];
        bool fold = act.domain.empty() && act.op_type == "Relu";
        if (act.domain.empty() && act.op_type == "Clip") {
          const Tensor* lo = act.inputs.size() > 1 && act.inputs[1] >= 0 && g.values[act.inputs[1]].is_const
                                 ? &g.values[act.inputs[1]].data : nullptr;
          fold = lo && lo->dtype() == DType::f32 && lo->numel() == 1 && *lo->data_as<float>() == 0.0f &&
                 act.inputs.size() > 2 && act.inputs[2] >= 0 && g.values[act.inputs[2]].is_const;
        }
        if (fold) {
          node.outputs[0] = act.outputs[0];
          act.dead = true;
          y = node.outputs[0];
        }
      }
    } else if (kind[n] == Kind::passthrough) {
      range_source[y] = x;
    }
    quantize_value[y] = 1;
  }

  // 2. Concat: all inputs share the output's parameters where each input feeds only it.
  std::map<std::string, Range> r = ranges;
  for (size_t n = 0; n < original_nodes; ++n) {
    if (kind[n] != Kind::concat) continue;
    const Node& node = g.nodes[n];
    Range u{0, 0};
    for (int i : node.inputs) {
      auto it = r.find(g.values[i].name);
      if (it != r.end()) u = {std::min(u.lo, it->second.lo), std::max(u.hi, it->second.hi)};
    }
    r[g.values[node.outputs[0]].name] = u;
    for (int i : node.inputs)
      if (users[i].size() == 1 && range_source[i] < 0) r[g.values[i].name] = u;
  }

  // 3. Parameters per quantized value (passthrough outputs inherit their input's).
  std::vector<float> scale(g.values.size(), 1.0f);
  std::vector<int32_t> zero(g.values.size(), 0);
  std::vector<char> has_params(g.values.size(), 0);
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (!quantize_value[v]) continue;
    int src = static_cast<int>(v);
    while (range_source[src] >= 0) src = range_source[src];
    auto it = r.find(g.values[src].name);
    if (it == r.end()) {
      quantize_value[v] = 0;  // never observed in calibration (e.g. dead at run time): keep FP32
      continue;
    }
    u8_params(it->second, &scale[v], &zero[v]);
    has_params[v] = 1;
  }

  // 4. Rewrite: weights and biases to DQ(s8/s32 constants), activations to Q -> DQ pairs.
  QdqBuilder b(g);
  for (size_t n = 0; n < original_nodes; ++n) {
    if (kind[n] != Kind::compute) continue;
    Node node = g.nodes[n];  // copy: add_value may not move nodes, but keep it simple
    int x = node.inputs[0];
    if (!has_params[x]) continue;
    const Tensor& w = g.values[node.inputs[1]].data;
    bool conv = node.op_type == "Conv";
    Tensor wq, ws;
    quantize_weights(w, conv ? 0 : 1, &wq, &ws);
    int64_t channels = ws.numel();
    Tensor wz(DType::s8, {channels});
    Tensor ws_copy = ws.clone();
    int wdq = b.dequant_const(g.values[node.inputs[1]].name, std::move(wq), std::move(ws), std::move(wz), conv ? 0 : 1);
    g.nodes[n].inputs[1] = wdq;
    if (conv && node.inputs.size() > 2 && node.inputs[2] >= 0) {
      const Tensor& bias = g.values[node.inputs[2]].data;
      Tensor bq(DType::s32, {channels}), bs(DType::f32, {channels}), bz(DType::s32, {channels});
      for (int64_t c = 0; c < channels; ++c) {
        float s = scale[x] * ws_copy.data_as<float>()[c];
        bs.data_as<float>()[c] = s;
        double q = std::nearbyint(static_cast<double>(bias.data_as<float>()[c]) / s);
        bq.data_as<int32_t>()[c] = static_cast<int32_t>(std::min(2147483647.0, std::max(-2147483647.0, q)));
      }
      g.nodes[n].inputs[2] = b.dequant_const(g.values[node.inputs[2]].name, std::move(bq), std::move(bs), std::move(bz), 0);
    }
  }
  std::vector<std::vector<int>> users_now = g.consumers();
  const size_t values_before = g.values.size();
  for (size_t v = 0; v < values_before; ++v) {
    if (!quantize_value[v] || !has_params[v]) continue;
    std::vector<int> readers = users_now[v];
    const std::string fp32_name = g.values[v].name;
    std::string producer = g.values[v].producer >= 0 ? g.nodes[g.values[v].producer].op_type : "input";
    auto [qv, dqv] = b.quant_dequant(static_cast<int>(v), scale[v], zero[v]);
    for (int reader : readers)
      for (int& in : g.nodes[reader].inputs)
        if (in == static_cast<int>(v)) in = dqv;
    if (is_output[v]) {
      // Graph outputs keep their names: the dequantized value takes the name over.
      std::string name = g.values[v].name;
      g.values[v].name = name + "_fp32";
      g.values[dqv].name = name;
      g.name_index[g.values[v].name] = static_cast<int>(v);
      g.name_index[name] = dqv;
      for (int& o : g.outputs)
        if (o == static_cast<int>(v)) o = dqv;
    }
    quantized->push_back({fp32_name, g.values[qv].name, producer, scale[v], zero[v]});
  }
  g.toposort();
  g.compact();
  return g;
}

}  // namespace octet::detail
