// Recurrent family: RNN, GRU and LSTM against a hand-computed RNN, against a naive re-derivation
// of the ONNX equations in double precision (every cell option, both layouts, all directions,
// sequence_lens), the packed FP32 kernel against the reference on ragged shapes, and the error
// paths (each checked for its message, so that a different failure does not pass).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "octet/kernels/isa.h"
#include "octet/octet.h"

namespace octet {
namespace {

// ---- one recurrent node ------------------------------------------------------------------

struct Act {  // an activation with its alpha / beta as the op should resolve them
  std::string name;
  double alpha = 0, beta = 0;
};

struct RnnCase {
  std::string op = "LSTM";  // RNN, GRU, LSTM
  int64_t seq = 3, batch = 2, input = 4, hidden = 5;
  std::string direction = "forward";
  int64_t layout = 0;
  int64_t opset = 14;
  bool bias = true, initial_h = false, initial_c = false, peephole = false;
  std::vector<int32_t> lens;  // sequence_lens when not empty
  bool lens_runtime = false;  // sequence_lens a graph input rather than a constant
  bool weights_const = true;
  std::vector<std::string> act_names;  // the activations attribute (empty: none)
  std::vector<float> alphas, betas;
  std::vector<Act> resolved;  // what the naive version applies, per direction in order (empty: defaults)
  bool clip = false;
  float clip_value = 0;
  int64_t linear_before_reset = 0, input_forget = 0;
  bool y = true, y_h = true, y_c = true;
  bool hidden_size_attr = true;
  int64_t hidden_size_value = -1;  // overrides the attribute when >= 0
  uint32_t seed = 1;
};

int64_t gates_of(const std::string& op) { return op == "RNN" ? 1 : op == "GRU" ? 3 : 4; }
int64_t dirs_of(const RnnCase& c) { return c.direction == "bidirectional" ? 2 : 1; }

Tensor random_tensor(Shape s, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::f32, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  return t;
}

struct Inputs {
  Tensor x, w, r, b, lens, h0, c0, p;
};

Inputs make_inputs(const RnnCase& c) {
  const int64_t D = dirs_of(c), G = gates_of(c.op) * c.hidden;
  Inputs in;
  in.x = random_tensor(c.layout ? Shape{c.batch, c.seq, c.input} : Shape{c.seq, c.batch, c.input}, c.seed);
  // Weights scaled so that the gates neither saturate nor vanish.
  const float ws = 1.0f / std::sqrt(float(std::max<int64_t>(c.input, c.hidden)));
  in.w = random_tensor({D, G, c.input}, c.seed + 1, -ws, ws);
  in.r = random_tensor({D, G, c.hidden}, c.seed + 2, -ws, ws);
  if (c.bias) in.b = random_tensor({D, 2 * G}, c.seed + 3, -0.5f, 0.5f);
  const Shape state = c.layout ? Shape{c.batch, D, c.hidden} : Shape{D, c.batch, c.hidden};
  if (c.initial_h) in.h0 = random_tensor(state, c.seed + 4);
  if (c.initial_c) in.c0 = random_tensor(state, c.seed + 5);
  if (c.peephole) in.p = random_tensor({D, 3 * c.hidden}, c.seed + 6, -0.5f, 0.5f);
  if (!c.lens.empty()) {
    in.lens = Tensor(DType::s32, {static_cast<int64_t>(c.lens.size())});
    std::copy(c.lens.begin(), c.lens.end(), in.lens.data_as<int32_t>());
  }
  return in;
}

struct Result {
  std::vector<Tensor> outs;  // Y, Y_h, Y_c (empty tensors where not requested)
  std::string kernel;
};

Result run(const RnnCase& c, const Inputs& in, const std::string& isa = "ref", int threads = 1) {
  auto g = std::make_shared<detail::Graph>();
  g->opsets[""] = c.opset;
  std::map<std::string, Tensor> feeds;
  detail::Node node;
  node.name = "rnn";
  node.op_type = c.op;
  auto add_input = [&](const std::string& name, const Tensor& t) {
    const int id = g->add_value(name);
    g->values[id].dtype = t.dtype();
    g->values[id].shape = t.shape();
    g->values[id].shape_known = true;
    g->inputs.push_back(id);
    node.inputs.push_back(id);
    feeds[name] = t;
  };
  auto add = [&](const std::string& name, const Tensor& t, bool as_const, bool present = true) {
    if (!present) return node.inputs.push_back(-1);
    if (as_const) return node.inputs.push_back(g->add_const(name, t));
    add_input(name, t);
  };
  const bool lstm = c.op == "LSTM";
  add_input("x", in.x);
  add("w", in.w, c.weights_const);
  add("r", in.r, c.weights_const);
  const size_t last = lstm ? (c.peephole ? 8 : c.initial_c ? 7 : 6) : 6;
  if (last > 3) add("b", in.b, true, c.bias);
  if (last > 4) add("lens", in.lens, !c.lens_runtime, !c.lens.empty());
  if (last > 5) add("h0", in.h0, false, c.initial_h);
  if (last > 6) add("c0", in.c0, false, c.initial_c);
  if (last > 7) add("p", in.p, true);
  while (!node.inputs.empty() && node.inputs.back() < 0) node.inputs.pop_back();

  auto attr_i = [&](const std::string& k, int64_t v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::int_;
    a.i = v;
    node.attrs[k] = a;
  };
  if (c.hidden_size_attr) attr_i("hidden_size", c.hidden_size_value >= 0 ? c.hidden_size_value : c.hidden);
  if (c.layout != 0) attr_i("layout", c.layout);
  if (c.op == "GRU" && c.linear_before_reset) attr_i("linear_before_reset", c.linear_before_reset);
  if (lstm && c.input_forget) attr_i("input_forget", c.input_forget);
  detail::Attribute dir;
  dir.kind = detail::Attribute::Kind::string_;
  dir.s = c.direction;
  node.attrs["direction"] = dir;
  if (c.clip) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::float_;
    a.f = c.clip_value;
    node.attrs["clip"] = a;
  }
  if (!c.act_names.empty()) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::strings;
    a.strings = c.act_names;
    node.attrs["activations"] = a;
  }
  for (auto [k, v] : {std::make_pair("activation_alpha", &c.alphas), std::make_pair("activation_beta", &c.betas)})
    if (!v->empty()) {
      detail::Attribute a;
      a.kind = detail::Attribute::Kind::floats;
      a.floats = *v;
      node.attrs[k] = a;
    }
  const bool want[3] = {c.y, c.y_h, lstm && c.y_c};
  std::vector<std::string> out_names;
  for (int i = 0; i < (lstm ? 3 : 2); ++i) {
    if (!want[i]) {
      node.outputs.push_back(-1);
      continue;
    }
    const std::string name = "out" + std::to_string(i);
    const int id = g->add_value(name);
    node.outputs.push_back(id);
    g->outputs.push_back(id);
    out_names.push_back(name);
  }
  g->nodes.push_back(node);
  g->toposort();

  CompileOptions opt;
  opt.isa = isa;
  opt.threads = threads;
  CompiledModel cm = CompiledModel::compile(Model(g), opt);
  Session s = cm.create_session();
  std::map<std::string, Tensor> outs = s.run(feeds);
  Result r;
  r.outs.resize(3);
  for (int i = 0; i < 3; ++i)
    if (want[i]) r.outs[i] = outs.at("out" + std::to_string(i));
  const std::string d = cm.describe();
  const size_t k = d.find("kernel=");
  r.kernel = k == std::string::npos ? "" : d.substr(k + 7, d.find_first_of(" \n", k) - k - 7);
  return r;
}

// ---- the naive re-derivation, in double ---------------------------------------------------

double apply(const Act& a, double x) {
  const std::string& n = a.name;
  if (n == "Relu") return std::max(0.0, x);
  if (n == "Tanh") return std::tanh(x);
  if (n == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (n == "Affine") return a.alpha * x + a.beta;
  if (n == "LeakyRelu") return x >= 0 ? x : a.alpha * x;
  if (n == "ThresholdedRelu") return x > a.alpha ? x : 0.0;
  if (n == "ScaledTanh") return a.alpha * std::tanh(a.beta * x);
  if (n == "HardSigmoid") return std::min(1.0, std::max(0.0, a.alpha * x + a.beta));
  if (n == "Elu") return x >= 0 ? x : a.alpha * (std::exp(x) - 1.0);
  if (n == "Softsign") return x / (1.0 + std::fabs(x));
  if (n == "Softplus") return std::log(1.0 + std::exp(x));
  ADD_FAILURE() << "naive: unknown activation " << n;
  return 0;
}

struct Naive {
  std::vector<double> y, y_h, y_c;  // in the case's layout
};

Naive naive(const RnnCase& c, const Inputs& in) {
  const int64_t S = c.seq, N = c.batch, I = c.input, H = c.hidden, D = dirs_of(c), NG = gates_of(c.op);
  const bool lstm = c.op == "LSTM", gru = c.op == "GRU";
  std::vector<Act> acts = c.resolved;
  if (acts.empty()) {
    for (int64_t d = 0; d < D; ++d) {
      if (c.op == "RNN") acts.push_back({"Tanh"});
      if (gru) acts.insert(acts.end(), {{"Sigmoid"}, {"Tanh"}});
      if (lstm) acts.insert(acts.end(), {{"Sigmoid"}, {"Tanh"}, {"Tanh"}});
    }
  }
  const int64_t per_dir = static_cast<int64_t>(acts.size()) / D;
  auto X = [&](int64_t t, int64_t b, int64_t k) -> double {
    return in.x.data_as<float>()[c.layout ? (b * S + t) * I + k : (t * N + b) * I + k];
  };
  // weight of gate block q, row j, column k
  auto W = [&](int64_t d, int64_t q, int64_t j, int64_t k) -> double {
    return in.w.data_as<float>()[((d * NG + q) * H + j) * I + k];
  };
  auto R = [&](int64_t d, int64_t q, int64_t j, int64_t k) -> double {
    return in.r.data_as<float>()[((d * NG + q) * H + j) * H + k];
  };
  auto Wb = [&](int64_t d, int64_t q, int64_t j) -> double {
    return c.bias ? in.b.data_as<float>()[d * 2 * NG * H + q * H + j] : 0.0;
  };
  auto Rb = [&](int64_t d, int64_t q, int64_t j) -> double {
    return c.bias ? in.b.data_as<float>()[d * 2 * NG * H + (NG + q) * H + j] : 0.0;
  };
  auto state_index = [&](int64_t d, int64_t b, int64_t j) { return c.layout ? (b * D + d) * H + j : (d * N + b) * H + j; };
  auto clip = [&](double v) { return c.clip ? std::max(-double(c.clip_value), std::min(double(c.clip_value), v)) : v; };

  Naive out;
  out.y.assign(static_cast<size_t>(S * D * N * H), 0.0);
  out.y_h.assign(static_cast<size_t>(D * N * H), 0.0);
  out.y_c.assign(static_cast<size_t>(D * N * H), 0.0);
  for (int64_t d = 0; d < D; ++d) {
    const Act* a = &acts[static_cast<size_t>(d * per_dir)];
    const bool back = c.direction == "reverse" || d == 1;
    for (int64_t b = 0; b < N; ++b) {
      const int64_t len = c.lens.empty() ? S : c.lens[b];
      std::vector<double> h(H), cs(H);
      for (int64_t j = 0; j < H; ++j) {
        h[j] = c.initial_h ? in.h0.data_as<float>()[state_index(d, b, j)] : 0.0;
        cs[j] = c.initial_c ? in.c0.data_as<float>()[state_index(d, b, j)] : 0.0;
      }
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = back ? len - 1 - step : step;
        // xw[q][j] = x W_q^T + Wb_q ; hr[q][j] = h R_q^T + Rb_q
        std::vector<std::vector<double>> xw(NG, std::vector<double>(H)), hr(NG, std::vector<double>(H));
        for (int64_t q = 0; q < NG; ++q)
          for (int64_t j = 0; j < H; ++j) {
            double sx = Wb(d, q, j), sh = Rb(d, q, j);
            for (int64_t k = 0; k < I; ++k) sx += X(t, b, k) * W(d, q, j, k);
            for (int64_t k = 0; k < H; ++k) sh += h[k] * R(d, q, j, k);
            xw[q][j] = sx;
            hr[q][j] = sh;
          }
        std::vector<double> hn(H);
        if (c.op == "RNN") {
          for (int64_t j = 0; j < H; ++j) hn[j] = apply(a[0], clip(xw[0][j] + hr[0][j]));
        } else if (gru) {
          std::vector<double> z(H), r(H);
          for (int64_t j = 0; j < H; ++j) {
            z[j] = apply(a[0], clip(xw[0][j] + hr[0][j]));
            r[j] = apply(a[0], clip(xw[1][j] + hr[1][j]));
          }
          for (int64_t j = 0; j < H; ++j) {
            double lin;
            if (c.linear_before_reset) {
              lin = r[j] * hr[2][j];
            } else {
              lin = Rb(d, 2, j);
              for (int64_t k = 0; k < H; ++k) lin += r[k] * h[k] * R(d, 2, j, k);
            }
            const double ht = apply(a[1], clip(xw[2][j] + lin));
            hn[j] = (1 - z[j]) * ht + z[j] * h[j];
          }
        } else {
          auto P = [&](int64_t q, int64_t j) -> double {
            return c.peephole ? in.p.data_as<float>()[d * 3 * H + q * H + j] : 0.0;
          };
          for (int64_t j = 0; j < H; ++j) {
            const double i_g = apply(a[0], clip(xw[0][j] + hr[0][j] + P(0, j) * cs[j]));
            const double f_g = c.input_forget ? 1 - i_g : apply(a[0], clip(xw[2][j] + hr[2][j] + P(2, j) * cs[j]));
            const double c_g = apply(a[1], clip(xw[3][j] + hr[3][j]));
            const double c_new = f_g * cs[j] + i_g * c_g;
            const double o_g = apply(a[0], clip(xw[1][j] + hr[1][j] + P(1, j) * c_new));
            cs[j] = c_new;
            hn[j] = o_g * apply(a[2], c_new);
          }
        }
        h = hn;
        for (int64_t j = 0; j < H; ++j)
          out.y[c.layout ? ((b * S + t) * D + d) * H + j : ((t * D + d) * N + b) * H + j] = h[j];
      }
      for (int64_t j = 0; j < H; ++j) {
        out.y_h[state_index(d, b, j)] = h[j];
        out.y_c[state_index(d, b, j)] = cs[j];
      }
    }
  }
  return out;
}

template <class Want>
void expect_close(const Tensor& got, const Want& want, double tol, const char* what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  int bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    if (!(std::fabs(double(got.data_as<float>()[i]) - double(want[i])) <= tol) && bad++ < 5)
      ADD_FAILURE() << what << " element " << i << ": " << got.data_as<float>()[i] << " vs " << want[i];
}

void check_against_naive(const RnnCase& c, const std::string& isa = "ref", double tol = 2e-5) {
  SCOPED_TRACE(c.op + " " + c.direction + " layout " + std::to_string(c.layout) + " on " + isa);
  const Inputs in = make_inputs(c);
  const Naive want = naive(c, in);
  const Result got = run(c, in, isa);
  const int64_t D = dirs_of(c);
  if (c.y) {
    EXPECT_EQ(got.outs[0].shape(), c.layout ? (Shape{c.batch, c.seq, D, c.hidden}) : (Shape{c.seq, D, c.batch, c.hidden}));
    expect_close(got.outs[0], want.y, tol, "Y");
  }
  if (c.y_h) expect_close(got.outs[1], want.y_h, tol, "Y_h");
  if (c.op == "LSTM" && c.y_c) expect_close(got.outs[2], want.y_c, tol, "Y_c");
}

// ---- hand-computed ------------------------------------------------------------------------

TEST(Recurrent, HandComputedRnn) {
  // h1 = relu(0.5 * 1 + 0.25 * 0 + 0.1 + 0.2) = 0.8; h2 = relu(0.5 * 2 + 0.25 * 0.8 + 0.3) = 1.5
  RnnCase c;
  c.op = "RNN";
  c.seq = 2, c.batch = 1, c.input = 1, c.hidden = 1;
  c.act_names = {"Relu"};
  Inputs in;
  in.x = Tensor(DType::f32, {2, 1, 1});
  in.x.data_as<float>()[0] = 1, in.x.data_as<float>()[1] = 2;
  in.w = Tensor(DType::f32, {1, 1, 1});
  in.w.data_as<float>()[0] = 0.5f;
  in.r = Tensor(DType::f32, {1, 1, 1});
  in.r.data_as<float>()[0] = 0.25f;
  in.b = Tensor(DType::f32, {1, 2});
  in.b.data_as<float>()[0] = 0.1f, in.b.data_as<float>()[1] = 0.2f;
  const Result r = run(c, in);
  EXPECT_EQ(r.outs[0].shape(), (Shape{2, 1, 1, 1}));
  EXPECT_NEAR(r.outs[0].data_as<float>()[0], 0.8f, 1e-6);
  EXPECT_NEAR(r.outs[0].data_as<float>()[1], 1.5f, 1e-6);
  EXPECT_NEAR(r.outs[1].data_as<float>()[0], 1.5f, 1e-6);
}

// ---- reference vs naive -------------------------------------------------------------------

TEST(Recurrent, ReferenceMatchesNaiveLstm) {
  for (const std::string dir : {"forward", "reverse", "bidirectional"})
    for (int64_t layout : {0, 1}) {
      RnnCase c;
      c.direction = dir;
      c.layout = layout;
      c.initial_h = c.initial_c = c.peephole = true;
      check_against_naive(c);
      c.lens = {3, 1};
      c.clip = true;
      c.clip_value = 0.6f;
      check_against_naive(c);
      c.input_forget = 1;
      c.peephole = false;
      c.lens = {0, 2};
      check_against_naive(c);
    }
}

TEST(Recurrent, ReferenceMatchesNaiveGru) {
  for (const std::string dir : {"forward", "reverse", "bidirectional"})
    for (int64_t lbr : {0, 1}) {
      RnnCase c;
      c.op = "GRU";
      c.direction = dir;
      c.linear_before_reset = lbr;
      c.initial_h = true;
      check_against_naive(c);
      c.layout = 1;
      c.lens = {2, 3};
      c.bias = false;
      check_against_naive(c);
    }
}

TEST(Recurrent, ReferenceMatchesNaiveRnnAndEveryActivation) {
  RnnCase c;
  c.op = "RNN";
  c.direction = "bidirectional";
  c.initial_h = true;
  check_against_naive(c);
  // One function per direction; alpha / beta consumed in order by the functions that take them.
  c.act_names = {"LeakyRelu", "ScaledTanh"};
  c.alphas = {0.3f, 0.8f};
  c.betas = {1.5f};
  c.resolved = {{"LeakyRelu", 0.3}, {"ScaledTanh", 0.8, 1.5}};
  check_against_naive(c);
  // Every activation of the spec, three at a time on LSTM (f, g, h), defaults where the lists end.
  const std::vector<std::vector<Act>> triples = {
      {{"Relu"}, {"Tanh"}, {"Sigmoid"}},
      {{"Affine", 0.5, 0.25}, {"LeakyRelu", 0.2}, {"ThresholdedRelu", 0.1}},
      {{"ScaledTanh", 0.9, 1.1}, {"HardSigmoid", 0.3, 0.4}, {"Elu", 0.7}},
      {{"Softsign"}, {"Softplus"}, {"HardSigmoid", 0.2, 0.5}},  // HardSigmoid's defaults
  };
  for (const auto& t : triples) {
    RnnCase l;
    l.initial_h = l.initial_c = true;
    for (const Act& a : t) {
      l.act_names.push_back(a.name);
      if (a.name == "Affine" || a.name == "LeakyRelu" || a.name == "ThresholdedRelu" || a.name == "ScaledTanh" ||
          a.name == "Elu" || (a.name == "HardSigmoid" && a.alpha != 0.2))
        l.alphas.push_back(float(a.alpha));
      if (a.name == "Affine" || a.name == "ScaledTanh" || (a.name == "HardSigmoid" && a.alpha != 0.2))
        l.betas.push_back(float(a.beta));
    }
    l.resolved = t;
    SCOPED_TRACE(t[0].name + "," + t[1].name + "," + t[2].name);
    check_against_naive(l, "ref", 1e-5);
  }
}

Tensor to_f64(const Tensor& t) {
  if (t.dtype() != DType::f32) return t;
  Tensor d(DType::f64, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) d.data_as<double>()[i] = t.data_as<float>()[i];
  return d;
}

TEST(Recurrent, DoublePrecisionReference) {
  // The reference runs f64 tensors in double: the naive version to rounding.
  for (const std::string op : {"LSTM", "GRU"}) {
    RnnCase c;
    c.op = op;
    c.direction = "bidirectional";
    c.initial_h = c.initial_c = c.peephole = op == "LSTM";
    c.lens = {3, 2};
    const Inputs in = make_inputs(c);
    Inputs wide = in;
    for (Tensor* t : {&wide.x, &wide.w, &wide.r, &wide.b, &wide.h0, &wide.c0, &wide.p})
      if (!t->empty()) *t = to_f64(*t);
    const Naive want = naive(c, in);
    const Result got = run(c, wide);
    ASSERT_EQ(got.outs[1].dtype(), DType::f64);
    ASSERT_EQ(got.outs[1].numel(), static_cast<int64_t>(want.y_h.size()));
    for (size_t i = 0; i < want.y_h.size(); ++i) EXPECT_NEAR(got.outs[1].data_as<double>()[i], want.y_h[i], 1e-12);
  }
}

TEST(Recurrent, OptionalOutputsAndOpset7) {
  RnnCase c;
  c.opset = 7;
  c.y = false;
  c.y_c = false;
  check_against_naive(c);
  c.op = "GRU";
  c.y = true;
  c.y_h = false;
  c.hidden_size_attr = false;  // hidden_size from R's shape
  check_against_naive(c);
}

// ---- packed FP32 kernel vs reference --------------------------------------------------------

std::vector<std::string> simd_isas() {
  std::vector<std::string> out;
  for (const kernels::IsaChoice& c : kernels::available_isas())
    if (!c.fast && (c.isa == kernels::Isa::avx512 || c.isa == kernels::Isa::avx2)) out.push_back(c.name());
  return out;
}

TEST(Recurrent, PackedKernelMatchesReference) {
  std::vector<RnnCase> cases;
  uint32_t seed = 10;
  for (const std::string op : {"LSTM", "GRU", "RNN"})
    for (const std::string dir : {"forward", "reverse", "bidirectional"})
      for (int64_t layout : {0, 1}) {
        RnnCase c;
        c.op = op;
        c.direction = dir;
        c.layout = layout;
        c.seq = 7, c.batch = 3, c.input = 19, c.hidden = layout ? 37 : 13;  // ragged against every tile
        c.initial_h = c.initial_c = true;
        c.peephole = op == "LSTM" && dir != "reverse";
        c.lens = {7, 0, 4};
        c.linear_before_reset = dir == "reverse";
        c.clip = dir == "forward";
        c.clip_value = 0.9f;
        c.input_forget = layout && dir == "reverse";
        c.seed = seed++;
        cases.push_back(c);
      }
  for (const std::string op : {"LSTM", "GRU", "RNN"})  // batch 1: H R^T on the GEMV
    for (int64_t lbr : {0, 1}) {
      RnnCase c;
      c.op = op;
      c.direction = lbr ? "bidirectional" : "forward";
      c.layout = lbr;
      c.seq = 6, c.batch = 1, c.input = 21, c.hidden = 45;
      c.initial_h = c.initial_c = true;
      c.peephole = op == "LSTM";
      c.linear_before_reset = lbr;
      c.lens = {5};
      c.seed = seed++;
      cases.push_back(c);
    }
  RnnCase wide;  // batch 1, large enough for the GEMV to split its panels over two threads
  wide.seq = 3, wide.batch = 1, wide.input = 64, wide.hidden = 200;
  cases.push_back(wide);
  RnnCase big;  // several K blocks and panels
  big.seq = 5, big.batch = 2, big.input = 300, big.hidden = 129;
  cases.push_back(big);
  RnnCase acts;  // activations the gate loops run through RecurrentActivation
  acts.op = "GRU";
  acts.act_names = {"HardSigmoid", "Softsign"};
  cases.push_back(acts);
  for (const std::string& isa : simd_isas())
    for (const RnnCase& c : cases) {
      SCOPED_TRACE(c.op + " " + c.direction + " layout " + std::to_string(c.layout) + " on " + isa);
      const Inputs in = make_inputs(c);
      const Result ref = run(c, in, "ref");
      const Result one = run(c, in, isa, 1), two = run(c, in, isa, 2);
      EXPECT_EQ(ref.kernel, "ref");
      EXPECT_EQ(one.kernel.rfind("recurrent_gemm_f32", 0), 0u) << one.kernel;
      EXPECT_EQ(one.kernel.find("+gemv_packed_f32") != std::string::npos, c.batch == 1) << one.kernel;
      for (int i = 0; i < 3; ++i) {
        if (ref.outs[i].empty()) continue;
        // The same equations in float, summed in another order with FMA, through an exp
        // polynomial: a few ulps per step, carried through at most 7 steps.
        const std::vector<float> want(ref.outs[i].data_as<float>(), ref.outs[i].data_as<float>() + ref.outs[i].numel());
        expect_close(one.outs[i], want, 2e-5, "one thread");
        const float* a = one.outs[i].data_as<float>();
        const float* b = two.outs[i].data_as<float>();
        EXPECT_TRUE(std::equal(a, a + one.outs[i].numel(), b)) << "output " << i << " depends on the thread count";
      }
    }
}

TEST(Recurrent, PackedKernelDeclinesRuntimeWeights) {
  RnnCase c;
  c.weights_const = false;
  for (const std::string& isa : simd_isas()) {
    const Inputs in = make_inputs(c);
    const Result r = run(c, in, isa);
    EXPECT_EQ(r.kernel, "ref");
    expect_close(r.outs[1], naive(c, in).y_h, 2e-5, "Y_h");
  }
}

// ---- errors ---------------------------------------------------------------------------------

void expect_error(const RnnCase& c, const std::string& part, const std::string& isa = "ref") {
  try {
    run(c, make_inputs(c), isa);
    ADD_FAILURE() << "no error; expected one containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Recurrent, Errors) {
  RnnCase c;
  c.hidden_size_value = 6;  // W holds 4 * 5 rows, R is [1, 20, 5]
  expect_error(c, "hidden_size 6 does not match R [1,20,5]");
  c = RnnCase();
  c.hidden_size_attr = false;
  c.input = 4;
  {
    // W of a different hidden size than R: [1, 24, 4] against R [1, 20, 5].
    Inputs in = make_inputs(c);
    in.w = random_tensor({1, 24, 4}, 3);
    try {
      run(c, in);
      ADD_FAILURE() << "no error for W [1,24,4] with R [1,20,5]";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("W must be [1,20,4]"), std::string::npos) << e.what();
    }
  }
  c = RnnCase();
  c.act_names = {"Sigmoid", "Tanh", "Swish"};
  expect_error(c, "unknown activation 'Swish'");
  c.act_names = {"Sigmoid", "Tanh"};
  expect_error(c, "3 per direction");
  c = RnnCase();
  c.op = "GRU";
  c.direction = "bidirectional";
  c.act_names = {"Sigmoid", "Tanh", "Sigmoid"};
  expect_error(c, "2 per direction");
  c = RnnCase();
  c.direction = "sideways";
  expect_error(c, "direction must be forward, reverse or bidirectional");
  c = RnnCase();
  c.layout = 2;
  expect_error(c, "layout must be 0 or 1");
  c = RnnCase();
  c.opset = 7;
  c.layout = 1;
  expect_error(c, "layout is an attribute of opset 14");
  c = RnnCase();
  c.op = "GRU";
  c.linear_before_reset = 2;
  expect_error(c, "linear_before_reset must be 0 or 1");
  c = RnnCase();
  c.clip = true;
  c.clip_value = -1;
  expect_error(c, "clip must be non-negative");
  // sequence_lens past the sequence length, known only at run time, on both kernels.
  c = RnnCase();
  c.lens = {2, 4};
  c.lens_runtime = true;
  expect_error(c, "sequence_lens value 4 is outside [0, 3]");
  for (const std::string& isa : simd_isas()) expect_error(c, "sequence_lens value 4 is outside [0, 3]", isa);
  c.lens = {-1, 1};
  expect_error(c, "sequence_lens value -1");
}

}  // namespace
}  // namespace octet
