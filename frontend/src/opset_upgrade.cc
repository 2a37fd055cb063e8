// Old-opset nodes -> the newest form of their op, so each operator implements one form.
//
// The rewrites (default ONNX domain; "opset" is the model's default-domain opset):
//   Clip < 11            attributes min/max -> inputs 1/2 (scalars of the input's dtype).
//   Split < 13           attribute split -> input 1 (int64).
//   Squeeze/Unsqueeze < 13  attribute axes -> input 1 (int64).
//   Pad < 11             attribute pads (opset 1: paddings) -> input 1, value -> input 2;
//                        mode stays an attribute.
//   ReduceSum < 13, ReduceMean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare < 18
//                        attribute axes -> input 1 (absent axes stay absent: reduce all).
//   Slice < 10           attributes starts/ends/axes -> inputs 1/2/3.
//   TopK < 10            attribute k -> input 1 ([k], int64).
//   Upsample (any)       -> Resize(X, roi = none, scales) with coordinate_transformation_mode
//                        "asymmetric" and nearest_mode "floor", which is exactly Upsample's
//                        x_in = x_out / scale; scales from input 1 (opset 9+), the scales
//                        attribute (7..8) or height_scale/width_scale (1..6); mode "bilinear"
//                        (opset 1) -> "linear".
//   Resize 10            (X, scales) -> (X, roi = none, scales), "asymmetric"; nearest mode
//                        as ONNX Runtime runs opset 10: floor when upsampling, ceil when every
//                        constant scale is <= 1 (downsampling).
//   Dropout < 12         attribute ratio -> input 1; is_test (< 7) dropped.
//   BatchNormalization   is_test/consumed_inputs (< 7) dropped; spatial (< 9) dropped when 1,
//                        or when 0 with per-channel (1-D) constant parameters, where it means
//                        the same thing; otherwise refused.
//   Scatter (9..11)      -> ScatterElements (identical semantics; Scatter is deprecated).
//   DFT < 20             attribute axis (default 1) -> input 2 as an int64 scalar (opset 20's
//                        default is -2, so the old default is written out too).
//   Legacy forms of opsets 1..6, accepted for old exporters and the ONNX test data:
//     consumed_inputs dropped everywhere; Reshape < 5 attribute shape -> input 1;
//     Cast < 6 string `to` -> the enum; Concat < 4 default axis 1; Gemm < 7 broadcast dropped
//     (C is unidirectionally broadcast in both forms); binary ops (Add, Sub, Mul, Div, Pow, And,
//     Or, Xor, Equal, Greater, Less) < 7 with broadcast=1 and axis: B is given trailing 1-dims
//     so numpy broadcasting aligns it at `axis` (needs both ranks known); PRelu < 7 with a 1-D
//     slope of C > 1 values is per channel: the slope gets trailing 1-dims; Tile < 6 (tiles,
//     axis inputs) is refused.
// Not rewritten on purpose: Softmax/LogSoftmax/Hardmax before 13 coerce the input to 2-D at
// `axis` (default 1) instead of working on one axis (default -1); the ops read
// NodeContext::opset() for that. Cast's `to` is unchanged from opset 6 on.
#include <onnx/onnx_pb.h>

#include <optional>
#include <set>

#include "onnx_internal.h"

namespace octet::frontend {
namespace {

using detail::Attribute;
using detail::Graph;
using detail::Node;
using detail::Value;

class Upgrader {
 public:
  Upgrader(Graph& g, const std::string& display) : g_(g), display_(display) {}

  void run() {
    const int64_t opset = g_.opset();
    const size_t count = g_.nodes.size();
    for (size_t i = 0; i < count; ++i) {
      if (!g_.nodes[i].domain.empty()) continue;
      upgrade(g_.nodes[i], opset);
    }
    // Appended after the loop so the references above stay valid; toposort orders them.
    for (Node& n : new_nodes_) g_.nodes.push_back(std::move(n));
  }

 private:
  void upgrade(Node& n, int64_t opset) {
    static const std::set<std::string> kReduce18 = {"ReduceMean",   "ReduceMax",       "ReduceMin",
                                                    "ReduceProd",   "ReduceL1",        "ReduceL2",
                                                    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
    const std::string op = n.op_type;
    if (opset < 7) legacy(n, opset);

    if (op == "Clip" && opset < 11) {
      clip(n);
    } else if (op == "Split" && opset < 13) {
      attr_ints_to_input(n, "split", 1, false);
    } else if ((op == "Squeeze" || op == "Unsqueeze") && opset < 13) {
      attr_ints_to_input(n, "axes", 1, op == "Unsqueeze");
    } else if (op == "Pad" && opset < 11) {
      pad(n);
    } else if ((op == "ReduceSum" && opset < 13) || (kReduce18.count(op) && opset < 18)) {
      attr_ints_to_input(n, "axes", 1, false);
    } else if (op == "Slice" && opset < 10) {
      attr_ints_to_input(n, "starts", 1, true);
      attr_ints_to_input(n, "ends", 2, true);
      attr_ints_to_input(n, "axes", 3, false);
    } else if (op == "TopK" && opset < 10) {
      attr_ints_to_input(n, "k", 1, true);
    } else if (op == "Upsample") {
      upsample(n, opset);
    } else if (op == "Resize" && opset < 11) {
      resize10(n);
    } else if (op == "Dropout" && opset < 12) {
      dropout(n);
    } else if (op == "BatchNormalization" && opset < 9) {
      batchnorm(n);
    } else if (op == "Scatter") {
      n.op_type = "ScatterElements";
    } else if (op == "DFT" && opset < 20) {
      dft(n);
    }
  }

  // --- rewrites ----------------------------------------------------------------------------

  void clip(Node& n) {
    const DType dt = dtype_or_f32(input(n, 0));
    std::optional<Attribute> lo = take(n, "min"), hi = take(n, "max");
    if (lo) set_input(n, 1, add_scalar(n, "min", dt, attr_float(n, *lo, "min")));
    if (hi) set_input(n, 2, add_scalar(n, "max", dt, attr_float(n, *hi, "max")));
  }

  void pad(Node& n) {
    const DType dt = dtype_or_f32(input(n, 0));
    if (n.has_attr("paddings") && !n.has_attr("pads")) {  // opset 1 spelling
      n.attrs["pads"] = n.attrs["paddings"];
    }
    n.attrs.erase("paddings");
    attr_ints_to_input(n, "pads", 1, true);
    if (std::optional<Attribute> v = take(n, "value")) {
      set_input(n, 2, add_scalar(n, "value", dt, attr_float(n, *v, "value")));
    }
  }

  void upsample(Node& n, int64_t opset) {
    std::string mode = n.attr_s("mode", "nearest");
    if (mode == "bilinear") mode = "linear";  // opset 1 name
    if (mode != "nearest" && mode != "linear") fail(n, "Upsample mode '" + mode + "' is not supported");
    int scales = -1;
    if (opset >= 9) {
      scales = input(n, 1);
      if (scales < 0) fail(n, "Upsample needs its scales input");
    } else if (opset >= 7) {
      std::optional<Attribute> s = take(n, "scales");
      if (!s || s->kind != Attribute::Kind::floats) fail(n, "Upsample needs a 'scales' attribute (list of floats)");
      Tensor t(DType::f32, {static_cast<int64_t>(s->floats.size())});
      for (size_t i = 0; i < s->floats.size(); ++i) t.data_as<float>()[i] = s->floats[i];
      scales = g_.add_const(n.name + "_scales", std::move(t));
    } else {
      std::optional<Attribute> h = take(n, "height_scale"), w = take(n, "width_scale");
      if (!h || !w) fail(n, "Upsample-1 needs height_scale and width_scale");
      Tensor t(DType::f32, {4});
      float* p = t.data_as<float>();
      p[0] = 1;
      p[1] = 1;
      p[2] = attr_float(n, *h, "height_scale");
      p[3] = attr_float(n, *w, "width_scale");
      scales = g_.add_const(n.name + "_scales", std::move(t));
    }
    const int x = input(n, 0);
    n.op_type = "Resize";
    n.inputs = {x, -1, scales};
    n.attrs.clear();
    set_string(n, "mode", mode);
    set_string(n, "coordinate_transformation_mode", "asymmetric");
    set_string(n, "nearest_mode", "floor");
  }

  void resize10(Node& n) {
    const int x = input(n, 0), scales = input(n, 1);
    if (scales < 0) fail(n, "Resize-10 needs its scales input");
    n.inputs = {x, -1, scales};
    set_string(n, "coordinate_transformation_mode", "asymmetric");
    std::string nearest = "floor";
    const Value& s = loaded(scales);
    if (s.is_const && s.data.dtype() == DType::f32 && s.data.numel() > 0) {
      bool all_le1 = true, some_lt1 = false;
      for (int64_t i = 0; i < s.data.numel(); ++i) {
        const float v = s.data.data_as<float>()[i];
        all_le1 = all_le1 && v <= 1.f;
        some_lt1 = some_lt1 || v < 1.f;
      }
      if (all_le1 && some_lt1) nearest = "ceil";
    }
    set_string(n, "nearest_mode", nearest);
  }

  void dropout(Node& n) {
    n.attrs.erase("is_test");
    if (std::optional<Attribute> r = take(n, "ratio")) {
      set_input(n, 1, add_scalar(n, "ratio", DType::f32, attr_float(n, *r, "ratio")));
    }
  }

  void dft(Node& n) {
    if (input(n, 2) >= 0) fail(n, "DFT before opset 20 has no axis input");
    int64_t axis = 1;
    if (std::optional<Attribute> a = take(n, "axis")) {
      if (a->kind != Attribute::Kind::int_) fail(n, "attribute 'axis' is not an int");
      axis = a->i;
    }
    Tensor t(DType::s64, {});
    *t.data_as<int64_t>() = axis;
    set_input(n, 2, g_.add_const(n.name + "_axis", std::move(t)));
  }

  void batchnorm(Node& n) {
    n.attrs.erase("is_test");
    std::optional<Attribute> spatial = take(n, "spatial");
    if (!spatial || spatial->i != 0) return;
    const int scale = input(n, 1);
    if (scale >= 0 && g_.values[scale].is_const && g_.values[scale].shape.size() == 1) return;
    fail(n, "BatchNormalization with spatial=0 (per-element statistics) is not supported");
  }

  // Forms of opsets 1..6 that differ from 7+.
  void legacy(Node& n, int64_t opset) {
    static const std::set<std::string> kBroadcastOps = {"Add", "Sub",  "Mul",   "Div",     "Pow", "And",
                                                        "Or",  "Xor", "Equal", "Greater", "Less"};
    n.attrs.erase("consumed_inputs");
    const std::string& op = n.op_type;
    if (kBroadcastOps.count(op)) {
      legacy_broadcast(n);
    } else if (op == "Gemm") {
      n.attrs.erase("broadcast");
    } else if (op == "PRelu") {
      legacy_prelu(n);
    } else if (op == "Reshape" && opset < 5) {
      if (n.has_attr("shape")) attr_ints_to_input(n, "shape", 1, true);
    } else if (op == "Cast" && opset < 6) {
      const Attribute* to = n.attr("to");
      if (to && to->kind == Attribute::Kind::string_) {
        onnx::TensorProto::DataType code;
        if (!onnx::TensorProto::DataType_Parse(to->s, &code)) fail(n, "Cast to unknown type '" + to->s + "'");
        Attribute a;
        a.kind = Attribute::Kind::int_;
        a.i = code;
        n.attrs["to"] = a;
      }
    } else if (op == "Concat" && opset < 4) {
      if (!n.has_attr("axis")) {
        Attribute a;
        a.kind = Attribute::Kind::int_;
        a.i = 1;
        n.attrs["axis"] = a;
      }
    } else if (op == "Tile" && opset < 6) {
      fail(n, "Tile before opset 6 (tiles/axis inputs) is not supported");
    }
  }

  // broadcast=1 with axis: B's dims line up with A's starting at axis. Numpy broadcasting
  // aligns trailing dims, so B gets (rank A - axis - rank B) trailing 1-dims.
  void legacy_broadcast(Node& n) {
    std::optional<Attribute> b = take(n, "broadcast"), axis = take(n, "axis");
    if (!b || b->i == 0 || !axis) return;  // no broadcast, or numpy-style suffix alignment
    const int a_id = input(n, 0), b_id = input(n, 1);
    const int ra = rank_of(a_id), rb = rank_of(b_id);
    if (ra < 0 || rb < 0)
      fail(n, "legacy broadcast with axis needs the ranks of both inputs, which the model does not declare");
    int64_t ax = axis->i < 0 ? axis->i + ra : axis->i;
    const int64_t trailing = ra - ax - rb;
    if (ax < 0 || trailing < 0)
      fail(n, "legacy broadcast axis " + std::to_string(axis->i) + " does not fit ranks " + std::to_string(ra) +
                  " and " + std::to_string(rb));
    if (trailing > 0) n.inputs[1] = append_unit_dims(n, b_id, static_cast<int>(trailing));
  }

  void legacy_prelu(Node& n) {
    const int x = input(n, 0), slope = input(n, 1);
    const int rx = rank_of(x);
    if (slope < 0 || rx < 3 || !g_.values[slope].is_const) return;
    const Shape& s = g_.values[slope].shape;
    if (s.size() != 1 || s[0] <= 1) return;
    n.inputs[1] = append_unit_dims(n, slope, rx - 2);
  }

  // A value equal to `id` with `count` trailing 1-dims: a reshaped constant, or an Unsqueeze.
  int append_unit_dims(Node& n, int id, int count) {
    const Value& v = loaded(id);
    if (v.is_const) {
      Shape s = v.data.shape();
      s.insert(s.end(), static_cast<size_t>(count), 1);
      return g_.add_const(v.name + "_aligned", v.data.reshaped(s));
    }
    const int rank = rank_of(id);
    std::vector<int64_t> axes;
    for (int i = 0; i < count; ++i) axes.push_back(rank + i);
    Node u;
    u.name = n.name + "_align_b";
    u.op_type = "Unsqueeze";
    const int axes_id = add_ints(n, "align_axes", axes);
    const int out = g_.add_value(unique_name(v.name + "_aligned"));
    g_.values[out].dtype = g_.values[id].dtype;
    u.inputs = {id, axes_id};
    u.outputs = {out};
    new_nodes_.push_back(std::move(u));
    return out;
  }

  // --- helpers -----------------------------------------------------------------------------

  // Moves an int / ints attribute to input `index` as a 1-D int64 constant.
  void attr_ints_to_input(Node& n, const char* key, size_t index, bool required) {
    std::optional<Attribute> a = take(n, key);
    if (!a) {
      if (required && input(n, index) < 0) fail(n, std::string("missing attribute '") + key + "'");
      return;
    }
    if (input(n, index) >= 0) fail(n, std::string("has both an attribute and an input '") + key + "'");
    std::vector<int64_t> values;
    if (a->kind == Attribute::Kind::int_)
      values = {a->i};
    else if (a->kind == Attribute::Kind::ints)
      values = a->ints;
    else
      fail(n, std::string("attribute '") + key + "' is not a list of ints");
    set_input(n, index, add_ints(n, key, values));
  }

  float attr_float(const Node& n, const Attribute& a, const char* key) {
    if (a.kind == Attribute::Kind::float_) return a.f;
    if (a.kind == Attribute::Kind::int_) return static_cast<float>(a.i);
    fail(n, std::string("attribute '") + key + "' is not a float");
  }

  std::optional<Attribute> take(Node& n, const std::string& key) {
    auto it = n.attrs.find(key);
    if (it == n.attrs.end()) return std::nullopt;
    Attribute a = std::move(it->second);
    n.attrs.erase(it);
    return a;
  }

  static void set_string(Node& n, const std::string& key, const std::string& value) {
    Attribute a;
    a.kind = Attribute::Kind::string_;
    a.s = value;
    n.attrs[key] = a;
  }

  static int input(const Node& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : -1; }

  static void set_input(Node& n, size_t i, int id) {
    if (n.inputs.size() <= i) n.inputs.resize(i + 1, -1);
    n.inputs[i] = id;
  }

  int add_ints(const Node& n, const std::string& what, const std::vector<int64_t>& values) {
    Tensor t(DType::s64, {static_cast<int64_t>(values.size())});
    for (size_t i = 0; i < values.size(); ++i) t.data_as<int64_t>()[i] = values[i];
    return g_.add_const(n.name + "_" + what, std::move(t));
  }

  int add_scalar(const Node& n, const std::string& what, DType dt, float v) {
    Tensor t(dt, {});
    switch (dt) {
      case DType::f32: *t.data_as<float>() = v; break;
      case DType::f64: *t.data_as<double>() = v; break;
      case DType::f16: *t.data_as<uint16_t>() = float_to_half(v); break;
      case DType::bf16: *t.data_as<uint16_t>() = float_to_bfloat16(v); break;
      default: fail(n, std::string("cannot make a ") + dtype_name(dt) + " constant for '" + what + "'");
    }
    return g_.add_const(n.name + "_" + what, std::move(t));
  }

  // The declared dtype of a value; f32 when the model does not say (the old-opset forms that
  // need a scalar constant only took float types, and f32 is what every exporter wrote).
  DType dtype_or_f32(int id) const {
    if (id < 0) return DType::f32;
    DType dt = g_.values[id].dtype;
    return dt == DType::f64 || dt == DType::f16 || dt == DType::bf16 ? dt : DType::f32;
  }

  int rank_of(int id) const {
    if (id < 0) return -1;
    const Value& v = g_.values[id];
    if (v.is_const) return static_cast<int>(v.shape.size());
    return v.shape_known ? static_cast<int>(v.shape.size()) : -1;
  }

  // The value, with its data read in when it is a constant still in the model file (the few
  // rewrites that look at a constant's elements).
  const Value& loaded(int id) {
    Value& v = g_.values[id];
    if (v.only_in_file()) v.data = constant_data(v);
    return v;
  }

  std::string unique_name(const std::string& base) const {
    std::string name = base;
    for (int k = 1; g_.find_value(name) >= 0; ++k) name = base + "_" + std::to_string(k);
    return name;
  }

  [[noreturn]] void fail(const Node& n, const std::string& msg) const {
    throw Error(display_ + ": " + n.label() + " (opset " + std::to_string(g_.opset()) + "): " + msg);
  }

  Graph& g_;
  const std::string& display_;
  std::vector<Node> new_nodes_;
};

}  // namespace

std::string upgraded_op_type(const std::string& domain, const std::string& op_type, int64_t opset) {
  if (!domain.empty()) return op_type;
  if (op_type == "Upsample") return "Resize";
  if (op_type == "Scatter") return "ScatterElements";
  return op_type;
}

void upgrade_to_newest_forms(Graph& g, const std::string& display) { Upgrader(g, display).run(); }

}  // namespace octet::frontend
