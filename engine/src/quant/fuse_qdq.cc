// QDQ patterns -> QLinear ops (see fuse_qdq.h).
#include "quant/fuse_qdq.h"

#include <cmath>
#include <cstring>
#include <set>

#include "ops/octet_ops.h"
#include "ops/quant/quant_util.h"
#include "passes/passes.h"

namespace octet::detail {
namespace {

bool is_const(const Graph& g, int v) { return v >= 0 && g.values[v].is_const; }
bool has(const Node& n, size_t i) { return i < n.inputs.size() && n.inputs[i] >= 0; }

bool is_graph_output(const Graph& g, int v) {
  for (int o : g.outputs)
    if (o == v) return true;
  return false;
}

bool same_const(const Graph& g, int a, int b) {
  if (a == b) return true;
  if (a < 0 || b < 0) return false;
  const Value &va = g.values[a], &vb = g.values[b];
  if (!va.is_const || !vb.is_const || va.dtype != vb.dtype || va.data.numel() != vb.data.numel()) return false;
  return std::memcmp(va.data.data(), vb.data.data(), va.data.nbytes()) == 0;
}

// A DequantizeLinear with constant parameters, seen from the value it produces.
struct Dq {
  int node = -1;
  int q = -1;       // the 8-bit (or s32) input
  int scale = -1;   // constant f32
  int zero = -1;    // constant, or -1 when omitted (0 of q's dtype)
  int64_t axis = 1; // normalised; meaningful when per_axis
  bool per_axis = false;
  DType dtype() const { return dtype_; }
  DType dtype_ = DType::undefined;
};

bool dq_of(const Graph& g, int v, Dq* d) {
  if (v < 0 || g.values[v].producer < 0) return false;
  const int n = g.values[v].producer;
  const Node& node = g.nodes[n];
  if (node.dead || node.op_type != "DequantizeLinear" || (!node.domain.empty() && node.domain != "com.microsoft"))
    return false;
  if (node.inputs.size() < 2 || !is_const(g, node.inputs[1])) return false;
  if (has(node, 2) && !is_const(g, node.inputs[2])) return false;
  d->node = n;
  d->q = node.inputs[0];
  d->scale = node.inputs[1];
  d->zero = has(node, 2) ? node.inputs[2] : -1;
  d->dtype_ = g.values[d->q].dtype;
  d->per_axis = g.values[d->scale].data.numel() > 1;
  const int64_t rank = static_cast<int64_t>(g.values[d->q].shape.size());
  int64_t axis = node.attr_i("axis", 1);
  if (axis < 0) axis += rank;
  d->axis = axis;
  return true;
}

// An 8-bit per-tensor activation.
bool per_tensor_q8(const Dq& d) { return is_q8(d.dtype()) && !d.per_axis; }

// The QuantizeLinear that is the sole reader of v (v not a graph output), with constant
// parameters; -1 otherwise.
int sole_q_reader(const Graph& g, const std::vector<std::vector<int>>& users, int v) {
  if (is_graph_output(g, v) || users[v].size() != 1) return -1;
  const int n = users[v][0];
  const Node& q = g.nodes[n];
  if (q.dead || q.op_type != "QuantizeLinear" || (!q.domain.empty() && q.domain != "com.microsoft")) return -1;
  if (q.inputs[0] != v || q.inputs.size() < 2 || !is_const(g, q.inputs[1])) return -1;
  if (g.values[q.inputs[1]].data.numel() != 1) return -1;  // per-tensor outputs only
  if (has(q, 2) && !is_const(g, q.inputs[2])) return -1;
  if (!is_q8(g.values[q.outputs[0]].dtype)) return -1;
  return n;
}

class Fuser {
 public:
  explicit Fuser(Graph& g) : g_(g) {}

  bool run_once() {
    users_ = g_.consumers();
    for (size_t n = 0; n < g_.nodes.size(); ++n) {
      Node& node = g_.nodes[n];
      if (node.dead || node.outputs.empty() || node.outputs[0] < 0) continue;
      const std::string& op = node.op_type;
      bool done = false;
      if (node.domain.empty()) {
        if (op == "Conv") done = conv(n);
        else if (op == "MatMul") done = matmul(n);
        else if (op == "Gemm") done = gemm(n);
        else if (op == "Add") done = add(n);
        else if (op == "AveragePool" || op == "GlobalAveragePool") done = pool(n);
        else if (op == "Concat") done = concat(n);
        else if (op == "HardSwish") done = lookup(n);
        else if (movement(node)) done = move(n);
        else if (op == "QuantizeLinear") done = cancel(n);
      } else if (node.domain == "com.microsoft" && op == "QuantizeLinear") {
        done = cancel(n);
      }
      if (done) return true;  // consumers changed: rescan
    }
    return false;
  }

 private:
  // The zero point input of d, made explicit (QLinear ops take it as a required input).
  int zero_of(const Dq& d) {
    if (d.zero >= 0) return d.zero;
    return zero_const(d.dtype(), d.per_axis ? g_.values[d.scale].data.numel() : 0);
  }
  int q_zero(int q) {
    const Node& qn = g_.nodes[q];
    if (has(qn, 2)) return qn.inputs[2];
    return zero_const(g_.values[qn.outputs[0]].dtype, 0);
  }
  int zero_const(DType t, int64_t count) {
    Tensor z(t, count > 0 ? Shape{count} : Shape{});
    return g_.add_const("zero_point_" + std::string(dtype_name(t)), std::move(z));
  }

  // Per-channel scale values of d (size `channels`), or empty when the scale does not have
  // that layout.
  std::vector<float> channel_scales(const Dq& d, int64_t axis, int64_t channels) const {
    const Tensor& s = g_.values[d.scale].data;
    if (d.per_axis && (d.axis != axis || s.numel() != channels)) return {};
    std::vector<float> out(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) out[c] = s.data_as<float>()[d.per_axis ? c : 0];
    return out;
  }

  // A weight DQ: constant s8/u8 data, per tensor or per `axis` with `channels` scales.
  bool weight_ok(const Dq& w, int64_t axis, int64_t channels) const {
    if (!is_q8(w.dtype()) || !is_const(g_, w.q)) return false;
    if (w.zero >= 0 && g_.values[w.zero].dtype != w.dtype()) return false;
    return !channel_scales(w, axis, channels).empty();
  }

  // The int32 bias of a fused Conv / Gemm: DQ(s32 constant) whose scale is x_scale * w_scale[c]
  // (up to float rounding) and zero point 0, or an f32 constant quantized here with that scale.
  // -2 when the bias cannot join the fused op.
  int int32_bias(int b, const Dq& x, const Dq& w, int64_t w_axis, int64_t channels) {
    if (b < 0) return -1;
    const float xs = *g_.values[x.scale].data.data_as<float>();
    const std::vector<float> ws = channel_scales(w, w_axis, channels);
    Dq d;
    if (dq_of(g_, b, &d)) {
      if (d.dtype() != DType::s32 || !is_const(g_, d.q) || g_.values[d.q].data.numel() != channels) return -2;
      if (d.zero >= 0)
        for (int32_t z : std::vector<int32_t>(g_.values[d.zero].data.data_as<int32_t>(),
                                              g_.values[d.zero].data.data_as<int32_t>() + g_.values[d.zero].data.numel()))
          if (z != 0) return -2;
      const Tensor& s = g_.values[d.scale].data;
      for (int64_t c = 0; c < channels; ++c) {
        const float want = xs * ws[c], got = s.data_as<float>()[d.per_axis ? c : 0];
        if (std::fabs(got - want) > 1e-5f * std::fabs(want)) return -2;
      }
      return d.q;
    }
    const Value& bv = g_.values[b];
    if (!bv.is_const || bv.dtype != DType::f32 || (bv.data.numel() != channels && bv.data.numel() != 1)) return -2;
    Tensor q(DType::s32, {channels});
    for (int64_t c = 0; c < channels; ++c) {
      const double v = std::nearbyint(double(bv.data.data_as<float>()[bv.data.numel() == 1 ? 0 : c]) / (xs * ws[c]));
      q.data_as<int32_t>()[c] = static_cast<int32_t>(std::min(2147483647.0, std::max(-2147483647.0, v)));
    }
    return g_.add_const(bv.name + "_int32", std::move(q));
  }

  // Replaces node n by `fused`, which writes the output of Q node q (when q >= 0).
  void replace(size_t n, Node fused, int q) {
    if (q >= 0) {
      fused.outputs = {g_.nodes[q].outputs[0]};
      g_.nodes[q].dead = true;
    }
    g_.nodes[n] = std::move(fused);
  }

  Node qlinear(const Node& base, const std::string& op, const std::string& domain) {
    Node f;
    f.name = base.name;
    f.op_type = op;
    f.domain = domain;
    f.attrs = base.attrs;
    f.outputs = base.outputs;
    if (!domain.empty()) g_.opsets.emplace(domain, 1);
    return f;
  }

  bool conv(size_t n) {
    const Node& node = g_.nodes[n];
    Dq x, w;
    if (!dq_of(g_, node.inputs[0], &x) || !per_tensor_q8(x)) return false;
    if (!has(node, 1) || !dq_of(g_, node.inputs[1], &w)) return false;
    const Shape& ws = g_.values[w.q].shape;
    if (ws.size() < 3 || !weight_ok(w, 0, ws[0])) return false;
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    if (q < 0) return false;
    const int bias = int32_bias(has(node, 2) ? node.inputs[2] : -1, x, w, 0, ws[0]);
    if (bias == -2) return false;
    Node f = qlinear(node, "QLinearConv", "");
    f.inputs = {x.q, x.scale, zero_of(x), w.q, w.scale, zero_of(w), g_.nodes[q].inputs[1], q_zero(q)};
    if (bias >= 0) f.inputs.push_back(bias);
    replace(n, std::move(f), q);
    return true;
  }

  bool matmul(size_t n) {
    const Node& node = g_.nodes[n];
    Dq a, b;
    if (!dq_of(g_, node.inputs[0], &a) || !per_tensor_q8(a)) return false;
    if (!dq_of(g_, node.inputs[1], &b) || !is_q8(b.dtype())) return false;
    const Shape& bs = g_.values[b.q].shape;
    if (b.per_axis && (bs.size() != 2 || !weight_ok(b, 1, bs[1]))) return false;
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    if (q < 0) return false;
    Node f = qlinear(node, "QLinearMatMul", "");
    f.inputs = {a.q, a.scale, zero_of(a), b.q, b.scale, zero_of(b), g_.nodes[q].inputs[1], q_zero(q)};
    replace(n, std::move(f), q);
    return true;
  }

  bool gemm(size_t n) {
    const Node& node = g_.nodes[n];
    if (node.attr_i("transA", 0) != 0) return false;
    Dq a, b;
    if (!dq_of(g_, node.inputs[0], &a) || !per_tensor_q8(a)) return false;
    if (!dq_of(g_, node.inputs[1], &b)) return false;
    const Shape& bs = g_.values[b.q].shape;
    if (bs.size() != 2) return false;
    const bool trans_b = node.attr_i("transB", 0) != 0;
    const int64_t N = trans_b ? bs[0] : bs[1];
    if (!weight_ok(b, trans_b ? 0 : 1, N)) return false;
    int c = -1;
    if (has(node, 2)) {
      if (node.attr_f("beta", 1.0f) != 1.0f) return false;
      c = int32_bias(node.inputs[2], a, b, trans_b ? 0 : 1, N);
      if (c == -2) return false;
    }
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    Node f = qlinear(node, "QGemm", "com.microsoft");
    f.attrs.erase("beta");
    f.inputs = {a.q, a.scale, zero_of(a), b.q, b.scale, zero_of(b), c};
    if (q >= 0) {
      f.inputs.push_back(g_.nodes[q].inputs[1]);
      f.inputs.push_back(q_zero(q));
    }
    replace(n, std::move(f), q);
    return true;
  }

  bool add(size_t n) {
    const Node& node = g_.nodes[n];
    if (node.inputs.size() != 2) return false;
    Dq a, b;
    if (!dq_of(g_, node.inputs[0], &a) || !per_tensor_q8(a)) return false;
    if (!dq_of(g_, node.inputs[1], &b) || !per_tensor_q8(b) || b.dtype() != a.dtype()) return false;
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    if (q < 0 || g_.values[g_.nodes[q].outputs[0]].dtype != a.dtype()) return false;
    Node f = qlinear(node, "QLinearAdd", "com.microsoft");
    f.inputs = {a.q, a.scale, zero_of(a), b.q, b.scale, zero_of(b), g_.nodes[q].inputs[1], q_zero(q)};
    replace(n, std::move(f), q);
    return true;
  }

  bool pool(size_t n) {
    const Node& node = g_.nodes[n];
    if (node.outputs.size() != 1) return false;
    Dq x;
    if (!dq_of(g_, node.inputs[0], &x) || !per_tensor_q8(x)) return false;
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    if (q < 0 || g_.values[g_.nodes[q].outputs[0]].dtype != x.dtype()) return false;
    Node f = qlinear(node, "QLinear" + node.op_type, "com.microsoft");
    f.inputs = {x.q, x.scale, zero_of(x), g_.nodes[q].inputs[1], q_zero(q)};
    replace(n, std::move(f), q);
    return true;
  }

  static bool movement(const Node& n) {
    static const std::set<std::string> ops = {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
                                              "Resize"};
    if (!ops.count(n.op_type)) return false;
    if (n.op_type == "MaxPool" && n.outputs.size() > 1 && n.outputs[1] >= 0) return false;
    if (n.op_type == "Resize" && n.attr_s("mode", "nearest") != "nearest") return false;
    return true;
  }

  // Same scale and zero point (an omitted zero point equals an explicit 0 of the same dtype).
  bool same_params(const Dq& d, int q) const {
    const Node& qn = g_.nodes[q];
    if (!same_const(g_, d.scale, qn.inputs[1])) return false;
    if (g_.values[qn.outputs[0]].dtype != d.dtype()) return false;
    auto zero_value = [&](int z) -> int32_t {
      if (z < 0) return 0;
      const Tensor& t = g_.values[z].data;
      if (t.numel() != 1) return INT32_MIN;
      return t.dtype() == DType::u8 ? *t.data_as<uint8_t>() : *t.data_as<int8_t>();
    };
    return zero_value(d.zero) == zero_value(has(qn, 2) ? qn.inputs[2] : -1);
  }

  bool move(size_t n) {
    const Node& node = g_.nodes[n];
    Dq x;
    if (!dq_of(g_, node.inputs[0], &x) || !per_tensor_q8(x)) return false;
    for (size_t i = 1; i < node.inputs.size(); ++i)
      if (node.inputs[i] >= 0 && !is_const(g_, node.inputs[i])) return false;
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    if (q < 0 || !same_params(x, q)) return false;
    Node f = node;
    f.inputs[0] = x.q;
    // An 8-bit MaxPool runs as octet.MaxPool (ops/quant/quant_maxpool.cc), the byte-max kernel.
    if (f.op_type == "MaxPool" && f.attr_i("storage_order", 0) == 0 && f.outputs.size() == 1) {
      f.domain = kOctetDomain;  // op_type stays kOpMaxPool
      g_.opsets.emplace(kOctetDomain, 1);
    }
    replace(n, std::move(f), q);
    return true;
  }

  bool concat(size_t n) {
    const Node& node = g_.nodes[n];
    std::vector<Dq> in(node.inputs.size());
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (!dq_of(g_, node.inputs[i], &in[i]) || !per_tensor_q8(in[i]) || in[i].dtype() != in[0].dtype()) return false;
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    if (q < 0 || g_.values[g_.nodes[q].outputs[0]].dtype != in[0].dtype()) return false;
    bool all_same = true;
    for (const Dq& d : in) all_same = all_same && same_params(d, q);
    if (all_same) {
      Node f = node;
      for (size_t i = 0; i < in.size(); ++i) f.inputs[i] = in[i].q;
      replace(n, std::move(f), q);
      return true;
    }
    Node f = qlinear(node, "QLinearConcat", "com.microsoft");
    f.inputs = {g_.nodes[q].inputs[1], q_zero(q)};
    for (const Dq& d : in) {
      f.inputs.push_back(d.q);
      f.inputs.push_back(d.scale);
      f.inputs.push_back(zero_of(d));
    }
    replace(n, std::move(f), q);
    return true;
  }

  // A per-tensor scale (f32) and zero point (8-bit, or absent: 0) as numbers.
  bool scalar_param(int scale, int zero, float* s, int32_t* z) const {
    const Tensor& st = g_.values[scale].data;
    if (st.dtype() != DType::f32 || st.numel() != 1) return false;
    *s = *st.data_as<float>();
    *z = 0;
    if (zero < 0) return true;
    const Tensor& zt = g_.values[zero].data;
    if (zt.numel() != 1 || !is_q8(zt.dtype())) return false;
    *z = zt.dtype() == DType::u8 ? *zt.data_as<uint8_t>() : *zt.data_as<int8_t>();
    return true;
  }

  // DQ(x) + HardSwish + Q(y), per tensor, y of x's type -> octet.LookupQ8(x, the table of what
  // those three ops compute for each of the 256 values of x).
  bool lookup(size_t n) {
    const Node& node = g_.nodes[n];
    Dq x;
    if (node.inputs.size() != 1 || !dq_of(g_, node.inputs[0], &x) || !per_tensor_q8(x)) return false;
    const int q = sole_q_reader(g_, users_, node.outputs[0]);
    if (q < 0 || g_.values[g_.nodes[q].outputs[0]].dtype != x.dtype()) return false;
    const Node& qn = g_.nodes[q];
    float xs = 0, ys = 0;
    int32_t xz = 0, yz = 0;
    if (!scalar_param(x.scale, x.zero, &xs, &xz) || !scalar_param(qn.inputs[1], has(qn, 2) ? qn.inputs[2] : -1, &ys, &yz))
      return false;
    const std::vector<uint8_t> table = hardswish_lookup_table(x.dtype(), xs, xz, ys, yz);
    Tensor t(DType::u8, {256});
    std::memcpy(t.data(), table.data(), table.size());
    const int tv = g_.add_const(node.name + "_table", std::move(t));
    Node f = qlinear(node, kOpLookupQ8, kOctetDomain);
    f.attrs.clear();
    f.inputs = {x.q, tv};
    replace(n, std::move(f), q);
    return true;
  }

  // Q(DQ(x)) with the parameters of x's DQ is x.
  bool cancel(size_t n) {
    const Node& node = g_.nodes[n];
    Dq d;
    if (!dq_of(g_, node.inputs[0], &d) || d.per_axis || node.inputs.size() < 2 || !is_const(g_, node.inputs[1]))
      return false;
    if (has(node, 2) && !is_const(g_, node.inputs[2])) return false;
    const int y = node.outputs[0];
    if (is_graph_output(g_, y) || !same_params(d, static_cast<int>(n))) return false;
    for (int u : users_[y])
      for (int& in : g_.nodes[u].inputs)
        if (in == y) in = d.q;
    g_.nodes[n].dead = true;
    return true;
  }

  Graph& g_;
  std::vector<std::vector<int>> users_;
};

}  // namespace

bool has_quantized_ops(const Graph& g) {
  static const std::set<std::string> ops = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                                            "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "QLinearAdd",
                                            "QLinearMul", "QGemm", "QLinearAveragePool",
                                            "QLinearGlobalAveragePool", "QLinearConcat"};
  for (const Node& n : g.nodes)
    if (!n.dead && ops.count(n.op_type)) return true;
  return false;
}

void fuse_qdq(Graph& g) {
  g.toposort();
  Fuser f(g);
  // Each rewrite removes at least one node (or a Q), so this ends; the guard is a backstop.
  for (size_t guard = 0; guard <= 4 * g.nodes.size() + 8; ++guard) {
    if (!f.run_once()) break;
    g.toposort();
  }
  eliminate_dead_code(g);
  g.compact();
}

}  // namespace octet::detail
