// Reading an RNN / GRU / LSTM node (ONNX opsets 7 and 14) into a RecurrentDesc.
#include "ops/recurrent/recurrent_desc.h"

#include <cctype>

#include "ops/elementwise/elementwise_util.h"

namespace octet::detail {
namespace {

using Kind = RecurrentActivation::Kind;

struct ActivationSpec {
  const char* name;
  Kind kind;
  bool takes_alpha, takes_beta;
  float alpha, beta;  // ONNX defaults (those of the same-named ops; ORT's for Affine / ScaledTanh)
};

constexpr ActivationSpec kActivations[] = {
    {"relu", Kind::relu, false, false, 0, 0},
    {"tanh", Kind::tanh, false, false, 0, 0},
    {"sigmoid", Kind::sigmoid, false, false, 0, 0},
    {"affine", Kind::affine, true, true, 1.0f, 0.0f},
    {"leakyrelu", Kind::leaky_relu, true, false, 0.01f, 0},
    {"thresholdedrelu", Kind::thresholded_relu, true, false, 1.0f, 0},
    {"scaledtanh", Kind::scaled_tanh, true, true, 1.0f, 1.0f},
    {"hardsigmoid", Kind::hard_sigmoid, true, true, 0.2f, 0.5f},
    {"elu", Kind::elu, true, false, 1.0f, 0},
    {"softsign", Kind::softsign, false, false, 0, 0},
    {"softplus", Kind::softplus, false, false, 0, 0},
};

std::string lowercase(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The activations of every direction. The names are matched without regard to case (as ONNX
// Runtime does); activation_alpha / activation_beta are consumed in order by the functions that
// take them, the defaults standing in when a list runs out. A list of one direction's functions
// serves both directions of a bidirectional node.
std::vector<RecurrentActivation> read_activations(const NodeContext& c, const RecurrentDesc& d,
                                                  const std::vector<std::string>& defaults) {
  const Node& n = c.node();
  std::vector<std::string> names;
  if (const Attribute* a = n.attr("activations")) {
    c.check(a->kind == Attribute::Kind::strings, "activations must be a list of strings");
    names = a->strings;
  }
  const size_t per_dir = defaults.size();
  if (names.empty()) {
    for (int64_t dir = 0; dir < d.dirs; ++dir) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_dir && d.dirs == 2) {
    names.insert(names.end(), names.begin(), names.end());
  }
  c.check(names.size() == per_dir * static_cast<size_t>(d.dirs),
          "activations lists " + std::to_string(names.size()) + " functions; this op takes " +
              std::to_string(per_dir) + " per direction (" + std::to_string(d.dirs) + " direction(s))");
  const std::vector<float> alphas = n.attr_floats("activation_alpha"), betas = n.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<RecurrentActivation> acts;
  for (const std::string& name : names) {
    const std::string key = lowercase(name);
    const ActivationSpec* spec = nullptr;
    for (const ActivationSpec& s : kActivations)
      if (key == s.name) spec = &s;
    c.check(spec != nullptr, "unknown activation '" + name + "'");
    RecurrentActivation act;
    act.kind = spec->kind;
    act.alpha = spec->alpha;
    act.beta = spec->beta;
    if (spec->takes_alpha && next_alpha < alphas.size()) act.alpha = alphas[next_alpha++];
    if (spec->takes_beta && next_beta < betas.size()) act.beta = betas[next_beta++];
    acts.push_back(act);
  }
  return acts;
}

// Checks input i (when present) is of dtype dt and has `want` as its shape.
void check_shape(const NodeContext& c, size_t i, const char* what, const Shape& want) {
  if (!c.has_input(i)) return;
  c.check(c.input_shape(i) == want, std::string(what) + " must be " + shape_str(want) + ", got " +
                                        shape_str(c.input_shape(i)));
}

}  // namespace

RecurrentDesc recurrent_desc(const NodeContext& c, RecurrentCell cell) {
  const Node& n = c.node();
  RecurrentDesc d;
  d.cell = cell;
  d.gates = cell == RecurrentCell::rnn ? 1 : cell == RecurrentCell::gru ? 3 : 4;
  d.acts_per_dir = cell == RecurrentCell::rnn ? 1 : cell == RecurrentCell::gru ? 2 : 3;

  const size_t max_inputs = cell == RecurrentCell::lstm ? 8 : 6;
  c.check(c.num_inputs() >= 3 && c.num_inputs() <= max_inputs,
          "takes 3 to " + std::to_string(max_inputs) + " inputs, got " + std::to_string(c.num_inputs()));
  c.check(c.num_outputs() <= (cell == RecurrentCell::lstm ? 3u : 2u), "too many outputs");
  check_input_dtype(c, kX, kFloatTypes);
  const DType dt = c.input_dtype(kX);
  for (size_t i : {size_t(kW), size_t(kR), size_t(kB), size_t(kInitialH), size_t(kInitialC), size_t(kPeephole)})
    if (c.has_input(i))
      c.check(c.input_dtype(i) == dt, "input " + std::to_string(i) + " must have X's dtype " + dtype_name(dt));
  if (c.has_input(kSeqLens))
    c.check(c.input_dtype(kSeqLens) == DType::s32 || c.input_dtype(kSeqLens) == DType::s64,
            "sequence_lens must be int32");

  const std::string direction = n.attr_s("direction", "forward");
  c.check(direction == "forward" || direction == "reverse" || direction == "bidirectional",
          "direction must be forward, reverse or bidirectional, got '" + direction + "'");
  d.dirs = direction == "bidirectional" ? 2 : 1;
  d.reverse = direction == "reverse";
  const int64_t layout = n.attr_i("layout", 0);
  c.check(layout == 0 || layout == 1, "layout must be 0 or 1, got " + std::to_string(layout));
  c.check(layout == 0 || c.opset() >= 14, "layout is an attribute of opset 14 and later");
  d.batch_major = layout == 1;

  const Shape& x = c.input_shape(kX);
  const Shape& w = c.input_shape(kW);
  const Shape& r = c.input_shape(kR);
  c.check(x.size() == 3, "X must be 3-D, got " + shape_str(x));
  c.check(w.size() == 3 && r.size() == 3, "W and R must be 3-D, got " + shape_str(w) + " and " + shape_str(r));
  d.seq = d.batch_major ? x[1] : x[0];
  d.batch = d.batch_major ? x[0] : x[1];
  d.input = x[2];
  d.hidden = n.has_attr("hidden_size") ? n.attr_i("hidden_size", 0) : r[2];
  c.check(d.hidden > 0, "hidden_size must be positive, got " + std::to_string(d.hidden));
  // Before any product of sizes: hidden_size must be R's last dimension.
  c.check(r[2] == d.hidden, "hidden_size " + std::to_string(d.hidden) + " does not match R " + shape_str(r));
  check_shape(c, kW, "W", {d.dirs, d.gates * d.hidden, d.input});
  check_shape(c, kR, "R", {d.dirs, d.gates * d.hidden, d.hidden});
  check_shape(c, kB, "B", {d.dirs, 2 * d.gates * d.hidden});
  check_shape(c, kSeqLens, "sequence_lens", {d.batch});
  const Shape state = d.batch_major ? Shape{d.batch, d.dirs, d.hidden} : Shape{d.dirs, d.batch, d.hidden};
  check_shape(c, kInitialH, "initial_h", state);
  if (cell == RecurrentCell::lstm) {
    check_shape(c, kInitialC, "initial_c", state);
    check_shape(c, kPeephole, "P", {d.dirs, 3 * d.hidden});
  }

  if (n.has_attr("clip")) {
    d.has_clip = true;
    d.clip = n.attr_f("clip", 0);
    c.check(d.clip >= 0 && !std::isnan(d.clip), "clip must be non-negative");
  }
  if (cell == RecurrentCell::gru) {
    const int64_t lbr = n.attr_i("linear_before_reset", 0);
    c.check(lbr == 0 || lbr == 1, "linear_before_reset must be 0 or 1");
    d.linear_before_reset = lbr == 1;
  }
  if (cell == RecurrentCell::lstm) {
    const int64_t f = n.attr_i("input_forget", 0);
    c.check(f == 0 || f == 1, "input_forget must be 0 or 1");
    d.input_forget = f == 1;
  }
  const std::vector<std::string> defaults =
      cell == RecurrentCell::rnn   ? std::vector<std::string>{"Tanh"}
      : cell == RecurrentCell::gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                   : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  d.acts = read_activations(c, d, defaults);
  return d;
}

std::vector<int64_t> recurrent_lengths(const RecurrentDesc& d, const Tensor* sequence_lens) {
  if (sequence_lens == nullptr) return std::vector<int64_t>(static_cast<size_t>(d.batch), d.seq);
  std::vector<int64_t> lens = tensor_to_int64s(*sequence_lens);
  for (int64_t len : lens)
    if (len < 0 || len > d.seq)
      throw Error("recurrent op: sequence_lens value " + std::to_string(len) + " is outside [0, " +
                  std::to_string(d.seq) + "] (the sequence length of X)");
  return lens;
}

}  // namespace octet::detail
