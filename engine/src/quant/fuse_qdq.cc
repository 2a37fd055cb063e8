#include <cstring>
#include <set>

#include "passes/passes.h"
#include "quant/quantize.h"

namespace octet::detail {
namespace {

bool same_const(const Graph& g, int a, int b) {
  if (a == b) return true;
  if (a < 0 || b < 0) return a < 0 && b < 0;
  const Value &va = g.values[a], &vb = g.values[b];
  if (!va.is_const || !vb.is_const || va.dtype != vb.dtype || va.data.numel() != vb.data.numel()) return false;
  return std::memcmp(va.data.data(), vb.data.data(), va.data.nbytes()) == 0;
}

bool is_const(const Graph& g, int v) { return v >= 0 && g.values[v].is_const; }

// The live DequantizeLinear producing v with constant parameters, or null.
const Node* dq_of(const Graph& g, int v) {
  if (v < 0 || g.values[v].producer < 0) return nullptr;
  const Node& n = g.nodes[g.values[v].producer];
  if (n.dead || n.op_type != "DequantizeLinear" || !n.domain.empty()) return nullptr;
  if (n.inputs.size() < 2 || !is_const(g, n.inputs[1])) return nullptr;
  if (n.inputs.size() > 2 && n.inputs[2] >= 0 && !is_const(g, n.inputs[2])) return nullptr;
  return &n;
}

// The sole consumer of v when it is a QuantizeLinear with constant parameters, or -1.
int sole_q_consumer(const Graph& g, const std::vector<std::vector<int>>& users, int v) {
  for (int o : g.outputs)
    if (o == v) return -1;
  if (users[v].size() != 1) return -1;
  const Node& n = g.nodes[users[v][0]];
  if (n.dead || n.op_type != "QuantizeLinear" || !n.domain.empty() || n.inputs[0] != v) return -1;
  if (n.inputs.size() < 2 || !is_const(g, n.inputs[1])) return -1;
  if (n.inputs.size() < 3 || n.inputs[2] < 0 || !is_const(g, n.inputs[2])) return -1;  // needs an explicit u8/s8 zp
  return users[v][0];
}

int zp_input(const Node& n) { return n.inputs.size() > 2 ? n.inputs[2] : -1; }

// A per-tensor u8 activation DQ (what the INT8 kernels read).
bool u8_per_tensor(const Graph& g, const Node* dq) {
  return dq && g.values[dq->inputs[0]].dtype == DType::u8 && g.values[dq->inputs[1]].data.numel() == 1;
}

bool fuse_once(Graph& g) {
  std::vector<std::vector<int>> users = g.consumers();
  bool changed = false;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    if (g.nodes[n].dead || !g.nodes[n].domain.empty()) continue;
    const std::string op = g.nodes[n].op_type;
    if (g.nodes[n].outputs.empty() || g.nodes[n].outputs[0] < 0) continue;
    int y = g.nodes[n].outputs[0];

    if (op == "Conv" || op == "MatMul") {
      const Node* dx = dq_of(g, g.nodes[n].inputs[0]);
      const Node* dw = g.nodes[n].inputs.size() > 1 ? dq_of(g, g.nodes[n].inputs[1]) : nullptr;
      if (!u8_per_tensor(g, dx) || !dw || !is_const(g, dw->inputs[0]) || g.values[dw->inputs[0]].dtype != DType::s8)
        continue;
      const Node* db = nullptr;
      if (op == "Conv" && g.nodes[n].inputs.size() > 2 && g.nodes[n].inputs[2] >= 0) {
        db = dq_of(g, g.nodes[n].inputs[2]);
        if (!db || !is_const(g, db->inputs[0]) || g.values[db->inputs[0]].dtype != DType::s32) continue;
      }
      int q = sole_q_consumer(g, users, y);
      if (q < 0 || g.values[g.nodes[q].outputs[0]].dtype != DType::u8) continue;
      Node fused;
      fused.name = g.nodes[n].name;
      fused.op_type = op == "Conv" ? "QLinearConv" : "QLinearMatMul";
      fused.attrs = g.nodes[n].attrs;
      fused.inputs = {dx->inputs[0], dx->inputs[1], zp_input(*dx), dw->inputs[0], dw->inputs[1], zp_input(*dw),
                      g.nodes[q].inputs[1], g.nodes[q].inputs[2]};
      if (fused.inputs[2] < 0 || fused.inputs[5] < 0) continue;  // QLinear ops need explicit zero points
      if (db) fused.inputs.push_back(db->inputs[0]);
      fused.outputs = {g.nodes[q].outputs[0]};
      g.nodes[q].dead = true;
      g.nodes[n] = std::move(fused);
      changed = true;
    } else if (op == "Add" && g.nodes[n].inputs.size() == 2) {
      const Node* da = dq_of(g, g.nodes[n].inputs[0]);
      const Node* dbb = dq_of(g, g.nodes[n].inputs[1]);
      if (!u8_per_tensor(g, da) || !u8_per_tensor(g, dbb)) continue;
      int q = sole_q_consumer(g, users, y);
      if (q < 0 || g.values[g.nodes[q].outputs[0]].dtype != DType::u8) continue;
      Node fused;
      fused.name = g.nodes[n].name;
      fused.op_type = "QLinearAdd";
      fused.domain = "com.microsoft";
      fused.inputs = {da->inputs[0], da->inputs[1], zp_input(*da), dbb->inputs[0], dbb->inputs[1], zp_input(*dbb),
                      g.nodes[q].inputs[1], g.nodes[q].inputs[2]};
      fused.outputs = {g.nodes[q].outputs[0]};
      g.nodes[q].dead = true;
      g.nodes[n] = std::move(fused);
      g.opsets.emplace("com.microsoft", 1);
      changed = true;
    } else if (op == "MaxPool" || op == "Reshape" || op == "Flatten" || op == "Transpose" || op == "Squeeze" ||
               op == "Unsqueeze" || op == "Concat") {
      // Data movement runs on the u8 values when input and output parameters agree.
      if (op == "MaxPool" && g.nodes[n].outputs.size() > 1 && g.nodes[n].outputs[1] >= 0) continue;
      size_t data_inputs = op == "Concat" ? g.nodes[n].inputs.size() : 1;
      std::vector<const Node*> dqs;
      for (size_t i = 0; i < data_inputs; ++i) dqs.push_back(dq_of(g, g.nodes[n].inputs[i]));
      bool ok = true;
      for (const Node* d : dqs) ok = ok && u8_per_tensor(g, d);
      int q = ok ? sole_q_consumer(g, users, y) : -1;
      if (q < 0) continue;
      const Node& qn = g.nodes[q];
      for (const Node* d : dqs)
        ok = ok && same_const(g, d->inputs[1], qn.inputs[1]) && same_const(g, zp_input(*d), qn.inputs[2]);
      if (!ok || g.values[qn.outputs[0]].dtype != DType::u8) continue;
      for (size_t i = 0; i < data_inputs; ++i) g.nodes[n].inputs[i] = dqs[i]->inputs[0];
      g.nodes[n].outputs[0] = qn.outputs[0];
      g.nodes[q].dead = true;
      changed = true;
    } else if (op == "QuantizeLinear") {
      // Q(DQ(x)) with the same parameters is x.
      const Node* d = dq_of(g, g.nodes[n].inputs[0]);
      if (!d || g.nodes[n].inputs.size() < 3) continue;
      if (!same_const(g, d->inputs[1], g.nodes[n].inputs[1]) || !same_const(g, zp_input(*d), g.nodes[n].inputs[2]))
        continue;
      if (g.values[d->inputs[0]].dtype != g.values[y].dtype) continue;
      bool is_graph_output = false;
      for (int o : g.outputs) is_graph_output = is_graph_output || o == y;
      if (is_graph_output) continue;
      int x = d->inputs[0];
      for (int u : users[y])
        for (int& in : g.nodes[u].inputs)
          if (in == y) in = x;
      g.nodes[n].dead = true;
      changed = true;
    }
    if (changed) return true;  // users[] is stale: start over
  }
  return false;
}

}  // namespace

void fuse_qdq(Graph& g) {
  g.toposort();
  // Each successful rewrite restarts the scan; bounded by the node count.
  for (size_t guard = 0; guard <= 4 * g.nodes.size() + 8; ++guard) {
    if (!fuse_once(g)) break;
    g.toposort();
  }
  eliminate_dead_code(g);
  g.compact();
}

}  // namespace octet::detail
