// Channels-last layout for 8-bit CNN graphs. The INT8 convolutions are GEMMs over pixel rows,
// so they want [N, H, W, C]; run on NCHW tensors each one transposes its input and its
// output. This pass plans the layout once for the graph instead:
// * a QLinearConv with a channels-last kernel becomes octet.QLinearConvNhwc on the NHWC twin
//   of its input;
// * a layout-agnostic op (QLinearAdd / QLinearMul of same-shape tensors with per-tensor
//   parameters) whose input already has a twin runs on the twins;
// * Pad, and in FP32 programs AveragePool (absorbing a Pad of zeros in front of it),
//   GlobalAveragePool, BatchNormalization, have channels-last forms too;
// * an 8-bit max pool (octet.MaxPool) whose input has a twin becomes octet.MaxPoolNhwc, an
//   8-bit average pool (QLinear[Global]AveragePool) octet.QLinearAveragePoolNhwc (absorbing
//   a zero-point Pad in front of it), an 8-bit Concat concatenates the twins on their axis;
// * an 8-bit QLinearAdd or octet.LookupQ8 (HardSwish) of a channels-last conv's output folds
//   into that conv (fuse_add_into_conv, fuse_lookup_into_conv), or else runs on the twins;
// * an NHWC value gets an octet.ToNHWC from its NCHW value where it is first needed, and every
//   NHWC result an octet.ToNCHW back to the original value, which dead-code elimination then
//   drops unless an op without an NHWC form (or the graph output) reads it.
// So conversions stay only at the edges of the channels-last regions. Twins are named
// "<value>/nhwc" and carry Value::nhwc_of; the arithmetic of every op is unchanged, so the
// results are bit-identical to the NCHW graph.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "octet/kernels/qadd_q8.h"
#include "ops/conv/conv_fast.h"
#include "ops/octet_ops.h"
#include "ops/op_registry.h"
#include "ops/qconv/qconv.h"
#include "ops/quant/quant_util.h"
#include "passes/pass_util.h"
#include "passes/passes.h"

namespace octet::detail {
namespace {

bool rank4_q8(const Value& v) { return v.shape_known && v.shape.size() == 4 && is_q8(v.dtype); }
bool rank4_f32(const Value& v) { return v.shape_known && v.shape.size() == 4 && v.dtype == DType::f32; }

// Element-wise 8-bit ops whose data inputs (positions 0 and 3) and output all have one
// rank-4 shape and whose parameters are per-tensor: they run unchanged on NHWC tensors.
bool layout_agnostic(const Graph& g, const Node& n) {
  if (n.domain != "com.microsoft" || (n.op_type != "QLinearAdd" && n.op_type != "QLinearMul")) return false;
  if (n.inputs.size() < 7 || n.outputs.size() != 1 || n.outputs[0] < 0) return false;
  const Value& y = g.values[n.outputs[0]];
  if (!rank4_q8(y)) return false;
  for (size_t i : {size_t(0), size_t(3)}) {
    if (n.inputs[i] < 0) return false;
    const Value& v = g.values[n.inputs[i]];
    if (v.is_const || !rank4_q8(v) || v.shape != y.shape) return false;
  }
  for (size_t i : {size_t(1), size_t(2), size_t(4), size_t(5), size_t(6), size_t(7)})
    if (!const_scalar(g, n, i)) return false;
  return n.inputs[1] >= 0 && n.inputs[4] >= 0 && n.inputs[6] >= 0;
}

class LayoutPlanner {
 public:
  LayoutPlanner(Graph& g, bool fp32, bool fuse_into_conv)
      : g_(g), fp32_(fp32), fuse_into_conv_(fuse_into_conv), twin_(g.values.size(), -1) {}

  void run(const kernels::IsaChoice& isa) {
    std::vector<Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    original_ = &nodes;
    original_producer_.assign(g_.values.size(), -1);
    for (size_t k = 0; k < nodes.size(); ++k)
      if (!nodes[k].dead)
        for (int o : nodes[k].outputs)
          if (o >= 0) original_producer_[static_cast<size_t>(o)] = static_cast<int>(k);
    consumers_.assign(g_.values.size(), 0);
    for (const Node& n : nodes)
      if (!n.dead)
        for (int v : n.inputs)
          if (v >= 0) ++consumers_[static_cast<size_t>(v)];
    for (int v : g_.outputs) ++consumers_[static_cast<size_t>(v)];
    for (size_t k = 0; k < nodes.size(); ++k) {
      Node n = nodes[k];  // a copy: the rules rewrite it, later rules read the originals
      if (n.dead) continue;
      const bool one_output = n.outputs.size() == 1 && n.outputs[0] >= 0;
      if (n.op_type == "QLinearConv" && n.domain.empty() && one_output && rank4_q8(g_.values[n.outputs[0]]) &&
          channels_last_conv(nodes, k, isa, qlinear_conv_has_channels_last_kernel)) {
        n.op_type = kOpQLinearConvNhwc;
        n.domain = kOctetDomain;
        emit_on_twins(n, {0});
      } else if (fp32_ && n.op_type == "Conv" && (n.domain.empty() || n.domain == kOctetDomain) && one_output &&
                 rank4_f32(g_.values[n.outputs[0]]) &&
                 channels_last_conv(nodes, k, isa, conv_has_channels_last_kernel)) {
        n.op_type = kOpConvNhwc;
        n.domain = kOctetDomain;
        if (n.inputs.size() > FusedConvIn::kZ && n.inputs[FusedConvIn::kZ] >= 0)
          emit_on_twins(n, {FusedConvIn::kX, FusedConvIn::kZ});  // residual Z
        else
          emit_on_twins(n, {FusedConvIn::kX});
      } else if (n.op_type == kOpLookupQ8 && n.domain == kOctetDomain && one_output && n.inputs.size() == 2 &&
                 has_twin(n.inputs[0])) {
        if (!fuse_into_conv_ || !fuse_lookup_into_conv(n)) emit_on_twins(n, {0});
      } else if (layout_agnostic(g_, n) && (has_twin(n.inputs[0]) || has_twin(n.inputs[3]))) {
        if (!fuse_into_conv_ || !fuse_add_into_conv(n)) emit_on_twins(n, {0, 3});
      } else if (fp32_ && float_elementwise(n)) {
        if (n.inputs.size() == 2 && !is_scalar_const(n.inputs[1])) emit_on_twins(n, {0, 1});
        else emit_on_twins(n, {0});
      } else if (n.op_type == "MaxPool" && !n.inputs.empty() && has_twin(n.inputs[0]) && one_output &&
                 ((n.domain == kOctetDomain) || (fp32_ && n.domain.empty() && rank4_f32(g_.values[n.inputs[0]])))) {
        n.op_type = kOpMaxPoolNhwc;
        n.domain = kOctetDomain;
        emit_on_twins(n, {0});
      } else if (avg_pool_on_twins(n)) {
        emit_on_twins(n, {0});
      } else if (per_channel_on_twins(n)) {
        emit_on_twins(n, {0});
      } else if (concat_on_twins(n)) {
        std::vector<size_t> data;
        for (size_t i = 0; i < n.inputs.size(); ++i) data.push_back(i);
        emit_on_twins(n, data);
      } else {
        g_.nodes.push_back(n);
      }
    }
    g_.toposort();  // recomputes producers
  }

 private:
  bool has_twin(int v) const { return v >= 0 && twin_[v] >= 0; }

  // Asks the kernel family about the node as it stands in the original graph.
  bool channels_last_conv(const std::vector<Node>& nodes, size_t k, const kernels::IsaChoice& isa,
                          bool (*has_kernel)(const NodeContext&)) {
    g_.nodes.push_back(nodes[k]);  // NodeContext reads the node from the graph
    bool ok = false;
    try {
      ok = has_kernel(NodeContext(g_, static_cast<int>(g_.nodes.size()) - 1, isa));
    } catch (const Error&) {
      ok = false;
    }
    g_.nodes.pop_back();
    return ok;
  }

  // A QLinearAveragePool / QLinearGlobalAveragePool (2-D, constant per-tensor parameters)
  // whose input has a twin becomes octet.QLinearAveragePoolNhwc with explicit attributes. A
  // constant Pad with the input's zero point in front of it (count_include_pad exported as
  // Pad + pool) folds into the pool's pads with count_include_pad = 1: the padded values add
  // (zero - zero) to the sums and their positions to the counts either way.
  bool avg_pool_on_twins(Node& n) {
    const bool global = n.op_type == "QLinearGlobalAveragePool";
    if (n.domain != "com.microsoft" || (!global && n.op_type != "QLinearAveragePool")) return false;
    if (n.inputs.size() < 4 || n.inputs[0] < 0 || n.outputs.size() != 1 || n.outputs[0] < 0) return false;
    if (n.attr_i("channels_last", 0) != 0 || !rank4_q8(g_.values[n.inputs[0]])) return false;
    for (size_t i : {size_t(1), size_t(2), size_t(3), size_t(4)})
      if (!const_scalar(g_, n, i)) return false;
    if (n.inputs[1] < 0 || n.inputs[3] < 0) return false;
    const Shape& x = g_.values[n.inputs[0]].shape;
    int data = n.inputs[0];
    std::vector<int64_t> pads = n.attr_ints("pads", {0, 0, 0, 0});
    int64_t count_include_pad = n.attr_i("count_include_pad", 0);
    const bool no_pool_pads = n.attr_s("auto_pad", "NOTSET") == "NOTSET" &&
                              std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; });
    std::vector<int64_t> pad_pads;
    if (!global && no_pool_pads && zero_point_pad(n, &pad_pads)) {
      data = pad_input_;
      pads = {pad_pads[2], pad_pads[3], pad_pads[6], pad_pads[7]};
      count_include_pad = 1;
    }
    if (!has_twin(data)) return false;
    n.inputs[0] = data;
    n.op_type = kOpQLinearAveragePoolNhwc;
    n.domain = kOctetDomain;
    n.attrs.erase("channels_last");
    if (global) {
      set_ints(n, "kernel_shape", {x[2], x[3]});
    } else {
      set_ints(n, "pads", pads);
      n.attrs.erase("auto_pad");
      set_int(n, "count_include_pad", count_include_pad);
    }
    return true;
  }

  // Whether the pool's input is x padded with the pool's x zero point in the spatial dims only:
  // a constant-mode 8-bit Pad with that value, or DequantizeLinear -> f32 Pad with 0 ->
  // QuantizeLinear with the same parameters as the DequantizeLinear and the pool (then
  // Q(DQ(x)) = x, and Q(0) the zero point). Sets the pads and pad_input_ (x).
  bool zero_point_pad(const Node& pool, std::vector<int64_t>* pads) {
    const Node* pad = producer(pool.inputs[0]);
    if (!pad) return false;
    int x = -1;
    if (pad->op_type == "QuantizeLinear" && pad->domain.empty()) {
      const Node* q = pad;
      if (q->inputs.size() < 2 || !same_scalar(q, 1, pool, 1) || !same_scalar(q, 2, pool, 2)) return false;
      pad = producer(q->inputs[0]);
      if (!pad || !float_pad_of_zeros(*pad)) return false;
      const Node* dq = producer(pad->inputs[0]);
      if (!dq || dq->op_type != "DequantizeLinear" || !dq->domain.empty() || dq->inputs.size() < 2) return false;
      if (!same_scalar(dq, 1, pool, 1) || !same_scalar(dq, 2, pool, 2)) return false;
      x = dq->inputs[0];
      if (x < 0 || g_.values[x].dtype != g_.values[pool.inputs[0]].dtype) return false;
    } else if (pad->op_type == "Pad" && pad->domain.empty() && !pad->inputs.empty() && pad->inputs[0] >= 0) {
      // The constant (absent: 0) must equal the zero point (absent: 0), as bytes of one dtype.
      x = pad->inputs[0];
      auto byte_of = [&](int id) -> int {
        if (id < 0) return 0;
        const Value& c = g_.values[id];
        if (!c.is_const || c.data.numel() != 1 || c.data.dtype() != g_.values[x].dtype) return -1;
        return *static_cast<const uint8_t*>(c.data.data());
      };
      const int pad_value = byte_of(pad->inputs.size() > 2 ? pad->inputs[2] : -1);
      const int zero = byte_of(pool.inputs.size() > 2 ? pool.inputs[2] : -1);
      if (pad_value < 0 || pad_value != zero) return false;
    } else {
      return false;
    }
    if (!spatial_constant_pads(pad, pads)) return false;
    pad_input_ = x;
    return true;
  }

  // Whether the FP32 AveragePool `pool` (no pads of its own) reads an FP32 Pad of 0 in the
  // spatial dims only (count_include_pad exported as Pad + pool); then its pads and
  // pad_input_ (the Pad's input). Folded as the pool's pads with count_include_pad = 1, the
  // padded zeros add nothing to the sums and their positions count either way.
  bool float_zero_pad(const Node& pool, std::vector<int64_t>* pads) {
    const Node* pad = producer(pool.inputs[0]);
    if (!pad || !float_pad_of_zeros(*pad)) return false;
    if (!spatial_constant_pads(pad, pads)) return false;
    pad_input_ = pad->inputs[0];
    return true;
  }

  // An ONNX Pad of an f32 input whose constant is absent or 0 (its mode and pads are
  // spatial_constant_pads' business).
  bool float_pad_of_zeros(const Node& pad) const {
    if (pad.op_type != "Pad" || !pad.domain.empty() || pad.inputs.empty() || pad.inputs[0] < 0) return false;
    if (g_.values[pad.inputs[0]].dtype != DType::f32) return false;
    if (pad.inputs.size() > 2 && pad.inputs[2] >= 0) {
      const Value& c = g_.values[pad.inputs[2]];
      if (!c.is_const || c.data.numel() != 1 || c.data.dtype() != DType::f32 || *c.data.data_as<float>() != 0.0f)
        return false;
    }
    return true;
  }

  // A constant-mode Pad of a rank-4 NCHW tensor with constant, non-negative pads in H and W
  // only: its 8 pads.
  bool spatial_constant_pads(const Node* pad, std::vector<int64_t>* pads) const {
    if (pad->op_type != "Pad" || pad->attr_s("mode", "constant") != "constant") return false;
    if (pad->inputs.size() < 2 || pad->inputs[1] < 0) return false;
    if (pad->inputs.size() > 3 && pad->inputs[3] >= 0) return false;  // axes
    const Value& pv = g_.values[pad->inputs[1]];
    if (!pv.is_const || pv.data.dtype() != DType::s64 || pv.data.numel() != 8) return false;
    const int64_t* pp = pv.data.data_as<int64_t>();
    if (pp[0] || pp[1] || pp[4] || pp[5]) return false;
    for (int i = 0; i < 8; ++i)
      if (pp[i] < 0) return false;
    pads->assign(pp, pp + 8);
    return true;
  }

  // The original node producing value v, or null.
  const Node* producer(int v) const {
    if (v < 0) return nullptr;
    const int k = original_producer_[static_cast<size_t>(v)];
    return k < 0 ? nullptr : &(*original_)[static_cast<size_t>(k)];
  }

  // Whether input i of a and input j of b are the same constant scalar (dtype and bytes), both
  // absent counting as equal.
  bool same_scalar(const Node* a, size_t i, const Node& b, size_t j) const {
    const int va = i < a->inputs.size() ? a->inputs[i] : -1, vb = j < b.inputs.size() ? b.inputs[j] : -1;
    if (va < 0 || vb < 0) return va < 0 && vb < 0;
    const Value &x = g_.values[va], &y = g_.values[vb];
    if (!x.is_const || !y.is_const || x.data.numel() != 1 || y.data.numel() != 1 || x.data.dtype() != y.data.dtype())
      return false;
    return std::memcmp(x.data.data(), y.data.data(), x.data.nbytes()) == 0;
  }

  // FP32 element-wise ops with a twin input: unary ones (and Clip / LeakyRelu... with
  // constant scalar parameters), binary ones on two tensors of the output's shape or on a
  // tensor and a constant scalar. They compute the same values in any element order.
  bool float_elementwise(const Node& n) const {
    static const char* const kUnary[] = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish",
                                         "Clip", "Elu", "Selu", "Softplus", "Abs", "Neg", "Sqrt", "Exp"};
    static const char* const kBinary[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
    if (!n.domain.empty() || n.outputs.size() != 1 || n.outputs[0] < 0 || n.inputs.empty()) return false;
    const Value& y = g_.values[n.outputs[0]];
    if (!rank4_f32(y) || n.inputs[0] < 0 || !rank4_f32(g_.values[n.inputs[0]]) || g_.values[n.inputs[0]].shape != y.shape)
      return false;
    if (std::find(std::begin(kUnary), std::end(kUnary), n.op_type) != std::end(kUnary)) {
      for (size_t i = 1; i < n.inputs.size(); ++i)
        if (n.inputs[i] >= 0 && !is_scalar_const(n.inputs[i])) return false;
      return has_twin(n.inputs[0]);
    }
    if (std::find(std::begin(kBinary), std::end(kBinary), n.op_type) == std::end(kBinary) || n.inputs.size() != 2)
      return false;
    const int b = n.inputs[1];
    if (b < 0) return false;
    if (is_scalar_const(b)) return has_twin(n.inputs[0]);
    const Value& bv = g_.values[b];
    return !bv.is_const && rank4_f32(bv) && bv.shape == y.shape && (has_twin(n.inputs[0]) || has_twin(b));
  }

  // Ops whose input has a twin and that have a channels-last form: a Pad of a rank-4 8-bit
  // or FP32 tensor (its pads permuted), and for FP32 programs AveragePool / GlobalAveragePool
  // (octet.AveragePoolNhwc) and BatchNormalization (octet.BatchNormNhwc).
  bool per_channel_on_twins(Node& n) {
    if (!n.domain.empty() || n.inputs.empty() || !has_twin(n.inputs[0]) || n.outputs.size() != 1 || n.outputs[0] < 0)
      return false;
    const Value& x = g_.values[n.inputs[0]];
    if (n.op_type == "Pad") {
      if (!(rank4_q8(x) || (fp32_ && rank4_f32(x))) || n.inputs.size() < 2 || n.inputs[1] < 0) return false;
      if (n.inputs.size() > 3 && n.inputs[3] >= 0) return false;  // axes
      const Value& pv = g_.values[n.inputs[1]];
      if (!pv.is_const || pv.data.dtype() != DType::s64 || pv.data.numel() != 8) return false;
      const int64_t* pp = pv.data.data_as<int64_t>();
      Tensor permuted(DType::s64, {8});
      int64_t* q = permuted.data_as<int64_t>();
      static constexpr int kFromNchw[4] = {0, 2, 3, 1};  // NHWC axis a is NCHW axis kFromNchw[a]
      for (int a = 0; a < 4; ++a) {
        q[a] = pp[kFromNchw[a]];
        q[4 + a] = pp[4 + kFromNchw[a]];
      }
      n.inputs[1] = add_constant(n.name + "/pads_nhwc", std::move(permuted));
      return true;
    }
    if (!fp32_ || !rank4_f32(x)) return false;
    if (n.op_type == "AveragePool" || n.op_type == "GlobalAveragePool") {
      if (n.op_type == "GlobalAveragePool") {
        n.attrs.clear();
        set_ints(n, "kernel_shape", {x.shape[2], x.shape[3]});
      } else {
        const std::vector<int64_t> own = n.attr_ints("pads", {0, 0, 0, 0});
        std::vector<int64_t> pad_pads;
        if (n.attr_s("auto_pad", "NOTSET") == "NOTSET" && std::all_of(own.begin(), own.end(), [](int64_t v) { return v == 0; }) &&
            float_zero_pad(n, &pad_pads) && has_twin(pad_input_)) {
          n.inputs[0] = pad_input_;
          set_ints(n, "pads", {pad_pads[2], pad_pads[3], pad_pads[6], pad_pads[7]});
          set_int(n, "count_include_pad", 1);
        }
      }
      n.op_type = kOpAveragePoolNhwc;
      n.domain = kOctetDomain;
      return true;
    }
    if (n.op_type == "BatchNormalization" && n.attr_i("training_mode", 0) == 0) {
      n.op_type = kOpBatchNormNhwc;
      n.domain = kOctetDomain;
      return true;
    }
    return false;
  }

  int add_constant(const std::string& name, Tensor t) {
    const int id = g_.add_const(name, std::move(t));
    twin_.resize(g_.values.size(), -1);
    original_producer_.resize(g_.values.size(), -1);
    return id;
  }

  bool is_scalar_const(int v) const { return v >= 0 && g_.values[v].is_const && g_.values[v].data.numel() == 1; }

  // An 8-bit Concat (what fuse_qdq makes of one whose inputs share parameters) or an FP32
  // one of rank-4 tensors, one of which has a twin, becomes the same Concat on the twins
  // along the channels-last axis.
  bool concat_on_twins(Node& n) {
    if (n.op_type != "Concat" || !n.domain.empty() || n.outputs.size() != 1 || n.outputs[0] < 0) return false;
    const Value& y = g_.values[n.outputs[0]];
    if (!(rank4_q8(y) || (fp32_ && rank4_f32(y))) || n.inputs.empty()) return false;
    bool any_twin = false;
    for (int v : n.inputs) {
      if (v < 0 || g_.values[v].is_const || g_.values[v].dtype != y.dtype || g_.values[v].shape.size() != 4) return false;
      any_twin = any_twin || has_twin(v);
    }
    if (!any_twin) return false;
    int64_t axis = n.attr_i("axis", 1);
    if (axis < 0) axis += 4;
    if (axis < 0 || axis > 3) return false;
    static constexpr int64_t kNhwcAxis[4] = {0, 3, 1, 2};
    set_int(n, "axis", kNhwcAxis[axis]);
    return true;
  }

  static void set_ints(Node& n, const std::string& key, const std::vector<int64_t>& v) {
    Attribute a;
    a.kind = Attribute::Kind::ints;
    a.ints = v;
    n.attrs[key] = a;
  }
  static void set_int(Node& n, const std::string& key, int64_t v) {
    Attribute a;
    a.kind = Attribute::Kind::int_;
    a.i = v;
    n.attrs[key] = a;
  }

  // A new value: the NHWC form of value v (same dtype, [N, H, W, C]).
  int add_twin_value(int v) {
    const std::string name = g_.values[v].name + "/nhwc";
    std::string unique = name;
    for (int i = 2; g_.find_value(unique) >= 0; ++i) unique = name + std::to_string(i);
    const int t = g_.add_value(unique);
    Value& tv = g_.values[t];
    const Value& src = g_.values[v];
    tv.dtype = src.dtype;
    tv.shape = {src.shape[0], src.shape[2], src.shape[3], src.shape[1]};
    tv.shape_known = true;
    tv.nhwc_of = src.name;
    twin_.resize(g_.values.size(), -1);
    original_producer_.resize(g_.values.size(), -1);
    return t;
  }

  // The twin of v, converting it where this is the first use.
  int twin_of(int v) {
    if (twin_[v] >= 0) return twin_[v];
    const int t = add_twin_value(v);
    Node conv;
    conv.name = g_.values[v].name + "/to_nhwc";
    conv.op_type = kOpToNhwc;
    conv.domain = kOctetDomain;
    conv.inputs = {v};
    conv.outputs = {t};
    g_.nodes.push_back(std::move(conv));
    twin_[v] = t;
    return t;
  }

  // Emits n reading the twins of its inputs at `positions` and writing the twin of its
  // output, then the conversion back to the original output value.
  // A QLinearAdd one of whose inputs is the output of an 8-bit channels-last GEMM conv that
  // nothing else reads: the conv takes the add (inputs 9-13: the other input, its scale and
  // zero point, the sum's scale and zero point) and applies it to its output rows while they
  // are in cache, with the add's own arithmetic (kernels/qadd_q8.h), so the results are the
  // same bits. Needs the add's SIMD form (finite positive normal scales).
  bool fuse_add_into_conv(const Node& add) {
    for (size_t side : {size_t(0), size_t(3)}) {
      const int v = add.inputs[side];
      if (!has_twin(v) || consumers_[static_cast<size_t>(v)] != 1) continue;
      auto it = conv_of_twin_.find(twin_[v]);
      if (it == conv_of_twin_.end() || !conv_without_add(g_.nodes[it->second.first])) continue;
      const size_t ci = it->second.first, back = it->second.second;
      const size_t other = side == 0 ? 3 : 0;
      // The add reads the conv's output with the conv's output parameters.
      if (!same_scalar(&add, side + 1, g_.nodes[ci], QLinearConvNhwcIn::kYScale) ||
          !same_scalar(&add, side + 2, g_.nodes[ci], QLinearConvNhwcIn::kYZero))
        continue;
      if (g_.values[add.inputs[other]].dtype != g_.values[v].dtype ||
          g_.values[add.outputs[0]].dtype != g_.values[v].dtype)
        continue;
      bool scalars = true;
      for (size_t i : {side + 1, other + 1, size_t(6)}) {
        const Tensor& sc = g_.values[add.inputs[i]].data;
        scalars = scalars && sc.dtype() == DType::f32 && sc.numel() == 1;
      }
      if (!scalars) continue;
      auto scale = [&](size_t i) { return *g_.values[add.inputs[i]].data.data_as<float>(); };
      // Only the scales matter here (the multipliers).
      if (!kernels::qadd_q8_params_ok(kernels::qadd_q8_params(scale(side + 1), 0, scale(other + 1), 0, scale(6), 0, false)))
        continue;
      conv_of_twin_.erase(it);
      const int residual = twin_of(add.inputs[other]);  // may add a node: no references held across
      const int y = add.outputs[0];
      const int t = add_twin_value(y);
      Node& conv = g_.nodes[ci];
      conv.inputs.resize(QLinearConvNhwcIn::kResidual, -1);  // then kResidual .. kSumZero
      conv.inputs.insert(conv.inputs.end(), {residual, add.inputs[other + 1], add.inputs[other + 2], add.inputs[6],
                                             add.inputs.size() > 7 ? add.inputs[7] : -1});
      conv.outputs[0] = t;
      g_.nodes[back].dead = true;  // the conv's own output is not materialised any more
      twin_[y] = t;
      conv_of_twin_[t] = {ci, g_.nodes.size()};  // a lookup may follow
      g_.nodes.push_back(to_nchw_node(add.name, t, y));
      return true;
    }
    return false;
  }

  // An octet.LookupQ8 (a HardSwish, from fuse_qdq) of the output of an 8-bit channels-last
  // conv (depthwise too, with or without a fused add) that nothing else reads: the conv takes
  // the table (input 14) and applies it to its output rows while they are in cache.
  bool fuse_lookup_into_conv(const Node& lookup) {
    const int v = lookup.inputs[0];
    if (consumers_[static_cast<size_t>(v)] != 1) return false;
    auto it = conv_of_twin_.find(twin_[v]);
    if (it == conv_of_twin_.end()) return false;
    const size_t ci = it->second.first, back = it->second.second;
    if (g_.nodes[ci].inputs.size() > QLinearConvNhwcIn::kLookupTable ||
        g_.values[lookup.outputs[0]].dtype != g_.values[v].dtype)
      return false;
    conv_of_twin_.erase(it);
    const int y = lookup.outputs[0];
    const int t = add_twin_value(y);
    Node& conv = g_.nodes[ci];
    conv.inputs.resize(QLinearConvNhwcIn::kLookupTable, -1);
    conv.inputs.push_back(lookup.inputs[LookupQ8In::kTable]);
    conv.outputs[0] = t;
    g_.nodes[back].dead = true;
    twin_[y] = t;
    conv_of_twin_[t] = {ci, g_.nodes.size()};
    g_.nodes.push_back(to_nchw_node(lookup.name, t, y));
    return true;
  }

  void emit_on_twins(Node n, const std::vector<size_t>& positions) {
    for (size_t i : positions) n.inputs[i] = twin_of(n.inputs[i]);
    const int y = n.outputs[0];
    const int t = add_twin_value(y);
    n.outputs[0] = t;
    twin_[y] = t;
    // An 8-bit conv may take a following add (fuse_add_into_conv) or lookup.
    if (n.op_type == kOpQLinearConvNhwc) conv_of_twin_[t] = {g_.nodes.size(), g_.nodes.size() + 1};
    Node back = to_nchw_node(n.name, t, y);
    g_.nodes.push_back(std::move(n));
    g_.nodes.push_back(std::move(back));
  }

  // The conversion of twin t back to the original value y, named after `producer`.
  static Node to_nchw_node(const std::string& producer, int t, int y) {
    Node back;
    back.name = producer + "/to_nchw";
    back.op_type = kOpToNchw;
    back.domain = kOctetDomain;
    back.inputs = {t};
    back.outputs = {y};
    return back;
  }

  // Not depthwise (its kernel has no fused add), and no add yet.
  bool conv_without_add(const Node& conv) const {
    if (conv.inputs.size() > QLinearConvNhwcIn::kResidual || conv.inputs.size() <= QLinearConvNhwcIn::kW ||
        conv.inputs[QLinearConvNhwcIn::kW] < 0)
      return false;
    const Value& w = g_.values[conv.inputs[QLinearConvNhwcIn::kW]];
    return w.shape.size() == 4 && w.shape[1] > 1;
  }

  Graph& g_;
  bool fp32_;  // FP32 ops may run channels-last too
  bool fuse_into_conv_ = true;
  std::vector<int> consumers_;  // of each original value (graph outputs count as one)
  // Twin value -> (index of the QLinearConvNhwc writing it in g_.nodes, index of the ToNCHW
  // after it).
  std::map<int, std::pair<size_t, size_t>> conv_of_twin_;
  std::vector<int> twin_;  // value id -> its NHWC twin, -1 when none yet
  // The node list being rewritten (copied out of, so it stays intact) and the producer of
  // each original value in it.
  const std::vector<Node>* original_ = nullptr;
  std::vector<int> original_producer_;
  int pad_input_ = -1;  // set by zero_point_pad
};

}  // namespace

void plan_nhwc_layout(Graph& g, const PassOptions& options, bool fp32, bool fuse_into_conv) {
  if (options.isa.isa == kernels::Isa::ref) return;  // the reference kernels are NCHW only
  LayoutPlanner(g, fp32, fuse_into_conv).run(options.isa);
}

}  // namespace octet::detail
