#include <cmath>

#include "passes/passes.h"

namespace octet::detail {
namespace {

bool const_f32(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) return false;
  const Value& v = g.values[n.inputs[i]];
  return v.is_const && v.dtype == DType::f32;
}

const float* cdata(const Graph& g, const Node& n, size_t i) {
  return g.values[n.inputs[i]].data.data_as<float>();
}

// Per-channel factor = gamma / sqrt(var + eps) and shift = beta - mean * factor; false when
// the BatchNormalization cannot fold (non-constant or non-f32 parameters, wrong sizes).
bool bn_factors(const Graph& g, const Node& bn, int64_t channels, std::vector<double>* factor,
                std::vector<double>* shift) {
  if (bn.inputs.size() < 5) return false;
  for (size_t i = 1; i < 5; ++i)
    if (!const_f32(g, bn, i) || g.values[bn.inputs[i]].data.numel() != channels) return false;
  for (size_t o = 1; o < bn.outputs.size(); ++o)
    if (bn.outputs[o] >= 0) return false;  // training-mode outputs requested
  double eps = bn.attr_f("epsilon", 1e-5f);
  const float *gamma = cdata(g, bn, 1), *beta = cdata(g, bn, 2), *mean = cdata(g, bn, 3),
              *var = cdata(g, bn, 4);
  factor->resize(channels);
  shift->resize(channels);
  for (int64_t c = 0; c < channels; ++c) {
    (*factor)[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
    (*shift)[c] = beta[c] - mean[c] * (*factor)[c];
  }
  return true;
}

bool fold_into_conv(Graph& g, Node& conv, Node& bn) {
  if (!const_f32(g, conv, 1)) return false;
  const Tensor& w = g.values[conv.inputs[1]].data;
  if (w.rank() < 3) return false;
  int64_t m = w.shape()[0];
  std::vector<double> factor, shift;
  if (!bn_factors(g, bn, m, &factor, &shift)) return false;
  bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
  if (has_bias && (!const_f32(g, conv, 2) || g.values[conv.inputs[2]].data.numel() != m)) return false;

  Tensor nw(DType::f32, w.shape());
  int64_t per = w.numel() / m;
  const float* src = w.data_as<float>();
  float* dst = nw.data_as<float>();
  for (int64_t c = 0; c < m; ++c)
    for (int64_t k = 0; k < per; ++k) dst[c * per + k] = static_cast<float>(src[c * per + k] * factor[c]);
  Tensor nb(DType::f32, {m});
  const float* b = has_bias ? cdata(g, conv, 2) : nullptr;
  for (int64_t c = 0; c < m; ++c)
    nb.data_as<float>()[c] = static_cast<float>((b ? b[c] : 0.0) * factor[c] + shift[c]);

  int wid = g.add_const(conv.name + "_bnfolded_W", std::move(nw));
  int bid = g.add_const(conv.name + "_bnfolded_B", std::move(nb));
  conv.inputs.resize(3, -1);
  conv.inputs[1] = wid;
  conv.inputs[2] = bid;
  return true;
}

bool fold_into_gemm(Graph& g, Node& gemm, Node& bn) {
  if (!const_f32(g, gemm, 1)) return false;
  const Tensor& w = g.values[gemm.inputs[1]].data;
  if (w.rank() != 2) return false;
  bool trans_b = gemm.attr_i("transB", 0) != 0;
  int64_t k_dim = trans_b ? w.shape()[1] : w.shape()[0];
  int64_t n_dim = trans_b ? w.shape()[0] : w.shape()[1];
  std::vector<double> factor, shift;
  if (!bn_factors(g, bn, n_dim, &factor, &shift)) return false;
  bool has_c = gemm.inputs.size() > 2 && gemm.inputs[2] >= 0;
  if (has_c) {
    if (!const_f32(g, gemm, 2)) return false;
    const Shape& cs = g.values[gemm.inputs[2]].data.shape();
    int64_t cn = g.values[gemm.inputs[2]].data.numel();
    if (!(cn == 1 || (cn == n_dim && cs.back() == n_dim))) return false;
  }
  double beta = gemm.attr_f("beta", 1.0f);
  Tensor nw(DType::f32, w.shape());
  const float* src = w.data_as<float>();
  float* dst = nw.data_as<float>();
  for (int64_t k = 0; k < k_dim; ++k)
    for (int64_t n = 0; n < n_dim; ++n) {
      int64_t idx = trans_b ? n * k_dim + k : k * n_dim + n;
      dst[idx] = static_cast<float>(src[idx] * factor[n]);
    }
  Tensor nc(DType::f32, {n_dim});
  const float* c = has_c ? cdata(g, gemm, 2) : nullptr;
  int64_t cn = has_c ? g.values[gemm.inputs[2]].data.numel() : 0;
  for (int64_t n = 0; n < n_dim; ++n) {
    double cv = c ? beta * c[cn == 1 ? 0 : n] : 0.0;
    nc.data_as<float>()[n] = static_cast<float>(cv * factor[n] + shift[n]);
  }
  int wid = g.add_const(gemm.name + "_bnfolded_W", std::move(nw));
  int cid = g.add_const(gemm.name + "_bnfolded_C", std::move(nc));
  gemm.inputs.resize(3, -1);
  gemm.inputs[1] = wid;
  gemm.inputs[2] = cid;
  Attribute one;
  one.kind = Attribute::Kind::float_;
  one.f = 1.0f;
  gemm.attrs["beta"] = one;
  return true;
}

}  // namespace

void fold_batchnorm(Graph& g) {
  std::vector<std::vector<int>> users = g.consumers();
  std::vector<char> is_output(g.values.size(), 0);
  for (int o : g.outputs) is_output[o] = 1;
  for (Node& bn : g.nodes) {
    if (bn.dead || bn.op_type != "BatchNormalization" || !bn.domain.empty()) continue;
    // Training mode normalises with the batch's own statistics, not the constant ones.
    if (bn.attr_i("training_mode", 0) != 0) continue;
    if (bn.inputs.empty() || bn.inputs[0] < 0 || bn.outputs.empty() || bn.outputs[0] < 0) continue;
    int x = bn.inputs[0];
    int p = g.values[x].producer;
    if (p < 0 || is_output[x] || users[x].size() != 1) continue;
    Node& prod = g.nodes[p];
    if (prod.dead || !prod.domain.empty() || prod.outputs.size() != 1) continue;
    bool folded = false;
    if (prod.op_type == "Conv") folded = fold_into_conv(g, prod, bn);
    else if (prod.op_type == "Gemm" && g.values[x].shape.size() == 2) folded = fold_into_gemm(g, prod, bn);
    if (!folded) continue;
    // The producer now writes the BatchNormalization's output directly.
    int y = bn.outputs[0];
    prod.outputs[0] = y;
    g.values[y].producer = p;
    bn.dead = true;
  }
}

}  // namespace octet::detail
