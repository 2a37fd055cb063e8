// ModelProto -> detail::Graph: parsing, checks, and the conversion of initializers, Constant
// nodes, declared value types, nodes and attributes. Old-opset rewrites live in
// opset_upgrade.cc, tensor decoding in tensor_proto.cc and external_data.cc.
#include "octet/frontend/onnx_loader.h"

#include <sys/mman.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "onnx_internal.h"

namespace octet::frontend {

UnsupportedOpsError::UnsupportedOpsError(const std::string& message, std::map<std::string, int> op_counts)
    : Error(message), op_counts_(std::move(op_counts)) {}
UnsupportedOpsError::~UnsupportedOpsError() = default;

namespace {

using detail::Attribute;
using detail::Graph;
using detail::Node;
using detail::Value;

std::string normalize_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Subgraphs (If branches, Loop and Scan bodies) nest at most this deep: each level is compiled
// for its caller's shapes, so a hostile file must not make the compile grow without bound.
constexpr int kMaxSubgraphDepth = 8;

class ModelConverter {
 public:
  ModelConverter(const onnx::ModelProto& model, const std::vector<RawDataSpan>& raw_data, TensorSource src,
                 std::string model_path, const OpSupported& op_supported)
      : model_(model),
        raw_data_(raw_data),
        src_(std::move(src)),
        model_path_(std::move(model_path)),
        op_supported_(op_supported) {
    src_.external_files = &external_files_;
  }

  std::shared_ptr<Graph> convert() {
    if (!model_.has_graph()) fail("not an ONNX model (no graph)");
    g_ = std::make_shared<Graph>();
    g_->model_path = model_path_;
    g_->model_dir = src_.base_dir;
    g_->ir_version = model_.ir_version();
    read_opsets();
    check_supported_ops();

    const onnx::GraphProto& gp = model_.graph();
    if (gp.sparse_initializer_size() > 0)
      fail("sparse initializer " + quoted(gp.sparse_initializer(0).values().name()) + " is not supported");
    read_initializers(gp);
    read_inputs(gp);
    read_nodes(gp);
    read_declarations(gp);
    read_outputs(gp);

    upgrade_to_newest_forms(*g_, src_.display);
    try {
      g_->toposort();
    } catch (const Error& e) {
      // Graph::where() is empty for buffers; keep the display name in front of every message.
      if (g_->model_path.empty()) fail(e.what());
      throw;
    }
    return g_;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw Error(src_.display + ": " + msg); }

  // --- opsets and the unsupported-op check -------------------------------------------------

  void read_opsets() {
    for (const auto& os : model_.opset_import()) {
      const std::string domain = normalize_domain(os.domain());
      g_->opsets[domain] = os.version();
    }
    bool uses_default = false;
    for (const auto& n : model_.graph().node())
      if (normalize_domain(n.domain()).empty()) uses_default = true;
    auto it = g_->opsets.find("");
    if (it == g_->opsets.end()) {
      if (!uses_default) return;
      // IR version 1/2 models had no opset_import; the ONNX spec says they mean opset 1.
      if (model_.ir_version() >= 3) fail("the model uses default-domain ops but declares no opset for them");
      g_->opsets[""] = 1;
      return;
    }
    if (it->second < kMinOpset || it->second > kMaxOpset)
      fail("opset " + std::to_string(it->second) + " of the default ONNX domain is not supported (octet accepts " +
           std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset) + ")");
  }

  // Runs before anything else can fail, so a model using unknown ops is reported as exactly
  // that (all of them, with counts), not as the first problem some other check meets.
  void check_supported_ops() {
    std::map<std::string, int> missing;
    count_unsupported_ops(model_.graph(), 0, &missing);
    if (missing.empty()) return;
    std::string list;
    for (const auto& kv : missing) {
      if (!list.empty()) list += ", ";
      list += kv.first + " (" + std::to_string(kv.second) + ")";
    }
    const size_t k = missing.size();
    throw UnsupportedOpsError(src_.display + ": " + std::to_string(k) + " unsupported op type" +
                                  (k == 1 ? "" : "s") + ": " + list,
                              missing);
  }

  // The ops of a graph and of its subgraphs, depth 0 being the model's graph.
  void count_unsupported_ops(const onnx::GraphProto& graph, int depth, std::map<std::string, int>* missing) {
    if (depth > kMaxSubgraphDepth)
      fail("subgraphs are nested more than " + std::to_string(kMaxSubgraphDepth) + " deep");
    for (const auto& n : graph.node()) {
      const std::string domain = normalize_domain(n.domain());
      if (n.op_type().empty()) fail("a node named " + quoted(n.name()) + " has no op_type");
      if (domain.empty() && n.op_type() == "Constant") continue;  // becomes a constant
      auto op = g_->opsets.find(domain);
      const int64_t opset = op == g_->opsets.end() ? 0 : op->second;
      const std::string op_type = upgraded_op_type(domain, n.op_type(), opset);
      if (!op_supported_(domain, op_type)) ++(*missing)[domain.empty() ? n.op_type() : domain + "." + n.op_type()];
      for (const auto& a : n.attribute()) {
        if (a.has_g()) count_unsupported_ops(a.g(), depth + 1, missing);
        for (const auto& sub : a.graphs()) count_unsupported_ops(sub, depth + 1, missing);
      }
    }
  }

  // --- values ------------------------------------------------------------------------------

  void read_initializers(const onnx::GraphProto& gp) {
    // The scanner and protobuf agree on the initializers; a mismatch is a bug, not bad input.
    if (static_cast<size_t>(gp.initializer_size()) != raw_data_.size())
      fail("internal error: " + std::to_string(raw_data_.size()) + " initializers scanned, " +
           std::to_string(gp.initializer_size()) + " parsed");
    for (int i = 0; i < gp.initializer_size(); ++i) {
      const onnx::TensorProto& init = gp.initializer(i);
      const std::string& name = init.name();
      if (name.empty()) fail("an initializer has no name");
      if (g_->find_value(name) >= 0) fail("initializer " + quoted(name) + " is defined twice");
      LoadedConst c = initializer_from_proto(init, raw_data_[i], src_, "initializer " + quoted(name));
      Value& v = g_->values[g_->add_const(name, std::move(c.data))];
      v.dtype = c.dtype;  // the same as data's, or, for bytes left in a file, the only record
      v.shape = c.shape;
      v.file = std::move(c.file);
      v.file_offset = c.file_offset;
    }
  }

  void read_inputs(const onnx::GraphProto& gp) {
    std::unordered_set<std::string> seen;
    for (const auto& in : gp.input()) {
      const std::string& name = in.name();
      if (name.empty()) fail("a graph input has no name");
      if (!seen.insert(name).second) fail("graph input " + quoted(name) + " is listed twice");
      int id = g_->find_value(name);
      if (id >= 0) {
        // Old IR (< 4): initializers are also listed as inputs. They are constants; the
        // declaration must agree with the data.
        check_declaration_matches(g_->values[id], in, "graph input " + quoted(name));
        continue;
      }
      id = g_->add_value(name);
      if (depth_ > 0 && in.type().has_sequence_type()) {
        // A subgraph's sequence input (a Loop's carried sequence): the node binds its element
        // shapes at compile time (ops/control/subgraph.cc); only the dtype is read here.
        Value& v = g_->values[id];
        v.is_sequence = true;
        const auto& elem = in.type().sequence_type().elem_type();
        if (elem.has_tensor_type() && elem.tensor_type().elem_type() != onnx::TensorProto::UNDEFINED)
          v.dtype = declared_dtype_from_onnx(elem.tensor_type().elem_type(), "graph input " + quoted(name), src_.display);
        g_->inputs.push_back(id);
        continue;
      }
      apply_type(g_->values[id], in.type(), "graph input " + quoted(name), /*name_unknown_dims=*/true);
      g_->inputs.push_back(id);
    }
  }

  void read_nodes(const onnx::GraphProto& gp) {
    std::unordered_set<int> produced;
    for (int idx = 0; idx < gp.node_size(); ++idx) {
      const onnx::NodeProto& np = gp.node(idx);
      const std::string domain = normalize_domain(np.domain());
      const std::string name = np.name().empty() ? "#" + std::to_string(idx) : np.name();
      const std::string label = "node " + quoted(name) + " (" + np.op_type() + ")";

      if (domain.empty() && np.op_type() == "Constant") {
        read_constant_node(np, label);
        continue;
      }
      Node n;
      n.name = name;
      n.op_type = np.op_type();
      n.domain = domain;
      for (const std::string& in : np.input()) {
        if (in.empty()) {
          n.inputs.push_back(-1);
          continue;
        }
        int id = g_->find_value(in);
        if (id < 0) id = g_->add_value(in);  // produced by a later node (toposort checks)
        n.inputs.push_back(id);
      }
      for (const std::string& out : np.output()) {
        if (out.empty()) {
          n.outputs.push_back(-1);
          continue;
        }
        int id = g_->find_value(out);
        if (id < 0) {
          id = g_->add_value(out);
        } else {
          const Value& v = g_->values[id];
          if (v.is_const) fail(label + " writes " + quoted(out) + ", which is an initializer or Constant");
          if (is_graph_input(id)) fail(label + " writes " + quoted(out) + ", which is a graph input");
          if (produced.count(id)) fail(label + " writes " + quoted(out) + ", which another node also produces");
        }
        produced.insert(id);
        n.outputs.push_back(id);
      }
      for (const auto& a : np.attribute()) {
        if (a.name().empty()) fail(label + " has an attribute without a name");
        if (n.attrs.count(a.name())) fail(label + " has attribute " + quoted(a.name()) + " twice");
        n.attrs[a.name()] = convert_attribute(a, label);
      }
      // What the node's subgraphs read from this scope (or further out) becomes its inputs.
      for (const std::string& outer : detail::outer_scope_names(n)) {
        int id = g_->find_value(outer);
        if (id < 0) id = g_->add_value(outer);
        n.inputs.push_back(id);
      }
      g_->nodes.push_back(std::move(n));
    }
  }

  void read_constant_node(const onnx::NodeProto& np, const std::string& label) {
    if (np.output_size() != 1 || np.output(0).empty()) fail(label + " must have exactly one output");
    if (np.attribute_size() != 1)
      fail(label + " must have exactly one value attribute, has " + std::to_string(np.attribute_size()));
    const onnx::AttributeProto& a = np.attribute(0);
    const std::string& an = a.name();
    Tensor t;
    if (an == "value") {
      t = tensor_from_proto(a.t(), src_, label + " value");
    } else if (an == "value_float") {
      t = Tensor(DType::f32, {});
      *t.data_as<float>() = a.f();
    } else if (an == "value_floats") {
      t = Tensor(DType::f32, {static_cast<int64_t>(a.floats_size())});
      for (int i = 0; i < a.floats_size(); ++i) t.data_as<float>()[i] = a.floats(i);
    } else if (an == "value_int") {
      t = Tensor(DType::s64, {});
      *t.data_as<int64_t>() = a.i();
    } else if (an == "value_ints") {
      t = Tensor(DType::s64, {static_cast<int64_t>(a.ints_size())});
      for (int i = 0; i < a.ints_size(); ++i) t.data_as<int64_t>()[i] = a.ints(i);
    } else if (an == "value_string") {
      t = Tensor::from_strings({}, {a.s()});
    } else if (an == "value_strings") {
      t = Tensor::from_strings({static_cast<int64_t>(a.strings_size())}, {a.strings().begin(), a.strings().end()});
    } else if (an == "sparse_value") {
      fail(label + ": sparse constants are not supported");
    } else {
      fail(label + " has unknown attribute " + quoted(an));
    }
    const std::string& out = np.output(0);
    if (g_->find_value(out) >= 0) {
      // Either defined before (a duplicate) or already read by an earlier node: the former
      // is an error, the latter is just out-of-order and fine once it is a constant.
      int id = g_->find_value(out);
      Value& v = g_->values[id];
      if (v.is_const || is_graph_input(id)) fail(label + " writes " + quoted(out) + ", which is already defined");
      for (const Node& n : g_->nodes)
        for (int o : n.outputs)
          if (o == id) fail(label + " writes " + quoted(out) + ", which another node also produces");
      v.dtype = t.dtype();
      v.shape = t.shape();
      v.shape_known = true;
      v.is_const = true;
      v.data = std::move(t);
      return;
    }
    g_->add_const(out, std::move(t));
  }

  // value_info: declared types of intermediate values.
  void read_declarations(const onnx::GraphProto& gp) {
    for (const auto& vi : gp.value_info()) {
      int id = g_->find_value(vi.name());
      if (id < 0 || g_->values[id].is_const || is_graph_input(id)) continue;
      // Sequence and optional values inside the graph are typed by their ops' inference.
      if (vi.type().has_sequence_type() || vi.type().has_optional_type()) continue;
      apply_type(g_->values[id], vi.type(), "value " + quoted(vi.name()), false);
    }
  }

  void read_outputs(const onnx::GraphProto& gp) {
    if (gp.output_size() == 0) fail("the graph has no outputs");
    for (const auto& out : gp.output()) {
      const std::string& name = out.name();
      if (name.empty()) fail("a graph output has no name");
      int id = g_->find_value(name);
      if (id < 0 && depth_ > 0) id = g_->add_value(name);  // a subgraph may return an outer value
      if (id < 0) fail("graph output " + quoted(name) + " is not produced by any node, initializer or input");
      for (int o : g_->outputs)
        if (o == id) fail("graph output " + quoted(name) + " is listed twice");
      Value& v = g_->values[id];
      // A subgraph's sequence outputs (If branches, Loop carried values) are typed by inference.
      const bool subgraph_sequence = depth_ > 0 && out.type().has_sequence_type();
      if (!v.is_const && !is_graph_input(id) && !subgraph_sequence)
        apply_type(v, out.type(), "graph output " + quoted(name), false);
      g_->outputs.push_back(id);
    }
  }

  bool is_graph_input(int id) const {
    for (int i : g_->inputs)
      if (i == id) return true;
    return false;
  }

  // Copies a declared TypeProto onto a value: dtype, shape (fixed dims, dim_param names -> -1
  // with the name). Unnamed unknown dims of graph inputs get a generated name
  // ("<input>:<axis>") so a caller can still bind them through CompileOptions::dim_values.
  // Sequences (of tensors) and optionals (of a tensor or a sequence) are accepted at graph inputs
  // and outputs: a sequence input keeps its element type (CompileOptions::sequence_shapes binds
  // the elements); a produced output takes what inference gives it, only the optional flag here.
  void apply_type(Value& v, const onnx::TypeProto& declared, const std::string& what, bool name_unknown_dims) {
    if (declared.value_case() == onnx::TypeProto::VALUE_NOT_SET) return;
    const onnx::TypeProto* type = &declared;
    if (type->has_optional_type()) {
      v.is_optional = true;
      type = &type->optional_type().elem_type();
      if (type->value_case() == onnx::TypeProto::VALUE_NOT_SET) return;
    }
    bool sequence = false;
    if (type->has_sequence_type()) {
      sequence = true;
      type = &type->sequence_type().elem_type();
      if (type->value_case() == onnx::TypeProto::VALUE_NOT_SET) fail(what + ": a sequence without an element type");
    }
    if (!type->has_tensor_type())
      fail(what + ": unsupported type (tensors, sequences of tensors and optionals of those are supported; "
                  "map, sparse and nested sequence types are not)");
    // (name_unknown_dims is set for graph inputs only.) A produced sequence is typed by its op;
    // the declaration only says what Model::outputs() reports until then.
    if (sequence && !name_unknown_dims) {
      v.is_sequence = true;
      return;
    }
    v.is_sequence = sequence;
    const auto& tt = type->tensor_type();
    if (tt.elem_type() != onnx::TensorProto::UNDEFINED)
      v.dtype = declared_dtype_from_onnx(tt.elem_type(), what, src_.display);
    if (!tt.has_shape()) return;
    Shape shape;
    std::vector<std::string> names;
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      if (dim.has_dim_value()) {
        if (dim.dim_value() < 0)
          fail(what + " declares a negative dimension " + std::to_string(dim.dim_value()) + " at axis " +
               std::to_string(d));
        shape.push_back(dim.dim_value());
        names.emplace_back();
      } else {
        shape.push_back(-1);
        if (dim.has_dim_param() && !dim.dim_param().empty())
          names.push_back(dim.dim_param());
        else
          names.push_back(name_unknown_dims ? v.name + ":" + std::to_string(d) : std::string());
      }
    }
    v.shape = std::move(shape);
    v.dim_names = std::move(names);
    v.shape_known = true;
  }

  // An initializer that is also declared as a graph input: the declared type must agree.
  void check_declaration_matches(const Value& v, const onnx::ValueInfoProto& in, const std::string& what) {
    if (!in.type().has_tensor_type()) return;
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto::UNDEFINED) {
      DType declared = declared_dtype_from_onnx(tt.elem_type(), what, src_.display);
      if (declared != v.dtype)
        fail(what + " is declared " + dtype_name(declared) + " but its initializer is " + dtype_name(v.dtype));
    }
    if (!tt.has_shape()) return;
    const auto& sp = tt.shape();
    bool ok = sp.dim_size() == static_cast<int>(v.shape.size());
    for (int d = 0; ok && d < sp.dim_size(); ++d)
      if (sp.dim(d).has_dim_value() && sp.dim(d).dim_value() != v.shape[d]) ok = false;
    if (!ok) {
      std::string decl = "[";
      for (int d = 0; d < sp.dim_size(); ++d) {
        if (d) decl += ",";
        decl += sp.dim(d).has_dim_value() ? std::to_string(sp.dim(d).dim_value()) : std::string("?");
      }
      fail(what + " is declared with shape " + decl + "] but its initializer has shape " + shape_str(v.shape));
    }
  }

  // --- attributes --------------------------------------------------------------------------

  Attribute convert_attribute(const onnx::AttributeProto& a, const std::string& label) {
    Attribute out;
    auto type = a.type();
    if (type == onnx::AttributeProto::UNDEFINED) {
      // IR version 1 files may omit the type; infer it from the field that is set.
      if (a.has_f()) type = onnx::AttributeProto::FLOAT;
      else if (a.has_i()) type = onnx::AttributeProto::INT;
      else if (a.has_s()) type = onnx::AttributeProto::STRING;
      else if (a.has_t()) type = onnx::AttributeProto::TENSOR;
      else if (a.has_g()) type = onnx::AttributeProto::GRAPH;
      else if (a.floats_size()) type = onnx::AttributeProto::FLOATS;
      else if (a.ints_size()) type = onnx::AttributeProto::INTS;
      else if (a.strings_size()) type = onnx::AttributeProto::STRINGS;
      else if (a.graphs_size()) type = onnx::AttributeProto::GRAPHS;
      else fail(label + ": attribute " + quoted(a.name()) + " has no type and no value");
    }
    switch (type) {
      case onnx::AttributeProto::FLOAT:
        out.kind = Attribute::Kind::float_;
        out.f = a.f();
        break;
      case onnx::AttributeProto::INT:
        out.kind = Attribute::Kind::int_;
        out.i = a.i();
        break;
      case onnx::AttributeProto::STRING:
        out.kind = Attribute::Kind::string_;
        out.s = a.s();
        break;
      case onnx::AttributeProto::FLOATS:
        out.kind = Attribute::Kind::floats;
        out.floats.assign(a.floats().begin(), a.floats().end());
        break;
      case onnx::AttributeProto::INTS:
        out.kind = Attribute::Kind::ints;
        out.ints.assign(a.ints().begin(), a.ints().end());
        break;
      case onnx::AttributeProto::STRINGS:
        out.kind = Attribute::Kind::strings;
        out.strings.assign(a.strings().begin(), a.strings().end());
        break;
      case onnx::AttributeProto::TENSOR:
        out.kind = Attribute::Kind::tensor;
        out.t = tensor_from_proto(a.t(), src_, label + " attribute " + quoted(a.name()));
        break;
      case onnx::AttributeProto::GRAPH:
        if (!a.has_g()) fail(label + ": graph attribute " + quoted(a.name()) + " holds no graph");
        out.kind = Attribute::Kind::graph;
        out.g = convert_subgraph(a.g(), label + " attribute " + quoted(a.name()));
        break;
      case onnx::AttributeProto::TYPE_PROTO: {
        out.kind = Attribute::Kind::type;
        const std::string what = label + " attribute " + quoted(a.name());
        const onnx::TypeProto* t = &a.tp();
        if (t->has_sequence_type()) {
          out.type_sequence = true;
          t = &t->sequence_type().elem_type();
        }
        if (!t->has_tensor_type() || t->tensor_type().elem_type() == onnx::TensorProto::UNDEFINED)
          fail(what + ": only a tensor or a sequence of tensors with an element type is supported");
        out.type_dtype = declared_dtype_from_onnx(t->tensor_type().elem_type(), what, src_.display);
        break;
      }
      default:
        fail(label + ": attribute " + quoted(a.name()) + " has type " +
             onnx::AttributeProto::AttributeType_Name(type) + ", which octet does not support");
    }
    return out;
  }

  // --- subgraphs ---------------------------------------------------------------------------

  // A GRAPH attribute: converted as the model's graph is, with the same opsets. Names it reads
  // but does not define are resolved in the enclosing scopes: they become its last inputs
  // (Graph::outer_scope), and the node holding it lists them as its inputs (read_nodes), where
  // the enclosing graph's own checks (toposort) resolve them in turn.
  std::shared_ptr<const Graph> convert_subgraph(const onnx::GraphProto& gp, const std::string& what) {
    if (depth_ >= kMaxSubgraphDepth)
      fail(what + ": subgraphs are nested more than " + std::to_string(kMaxSubgraphDepth) + " deep");
    auto sub = std::make_shared<Graph>();
    sub->model_path = g_->model_path;
    sub->model_dir = g_->model_dir;
    sub->ir_version = g_->ir_version;
    sub->opsets = g_->opsets;
    std::shared_ptr<Graph> parent = g_;
    g_ = sub;
    ++depth_;
    try {
      if (gp.sparse_initializer_size() > 0)
        fail(what + ": sparse initializer " + quoted(gp.sparse_initializer(0).values().name()) +
             " is not supported");
      for (const auto& init : gp.initializer()) {
        if (init.name().empty()) fail(what + ": an initializer has no name");
        if (g_->find_value(init.name()) >= 0) fail(what + ": initializer " + quoted(init.name()) + " is defined twice");
        g_->add_const(init.name(), tensor_from_proto(init, src_, what + " initializer " + quoted(init.name())));
      }
      read_inputs(gp);
      read_nodes(gp);
      read_declarations(gp);
      read_outputs(gp);
      std::vector<char> produced(g_->values.size(), 0);
      for (const Node& n : g_->nodes)
        for (int o : n.outputs)
          if (o >= 0) produced[o] = 1;
      for (int id : g_->inputs) produced[id] = 1;
      for (size_t id = 0; id < g_->values.size(); ++id) {
        if (produced[id] || g_->values[id].is_const) continue;
        g_->outer_scope.push_back(g_->values[id].name);
        g_->inputs.push_back(static_cast<int>(id));
      }
      upgrade_to_newest_forms(*g_, src_.display);
      g_->toposort();
    } catch (...) {
      g_ = parent;
      --depth_;
      throw;
    }
    g_ = parent;
    --depth_;
    return sub;
  }

  const onnx::ModelProto& model_;
  const std::vector<RawDataSpan>& raw_data_;
  std::map<std::string, std::shared_ptr<const detail::FileBytes>> external_files_;
  TensorSource src_;
  std::string model_path_;
  const OpSupported& op_supported_;
  std::shared_ptr<Graph> g_;
  int depth_ = 0;  // of the graph being converted: 0 for the model's, 1 for its subgraphs...
};

void check_model_size(uint64_t size, const std::string& display) {
  if (size > static_cast<uint64_t>(INT_MAX))
    throw Error(display + ": the model is " + std::to_string(size) +
                " bytes; a protobuf model must be under 2 GB (store large weights as external data)");
  if (size == 0) throw Error(display + ": the model is empty (0 bytes)");
}

// Parses the scanned model (protobuf sees only the pruned bytes, without the weights) and
// converts it; the initializers' bytes come from src (see TensorSource).
std::shared_ptr<detail::Graph> convert_scanned(const ScannedModel& scanned, const TensorSource& src,
                                               const std::string& model_path, const OpSupported& op_supported) {
  onnx::ModelProto model;
  if (!parse_message(scanned.pruned.data(), scanned.pruned.size(), &model))
    throw Error(src.display + ": not a valid ONNX model (protobuf parsing failed: truncated or corrupt file)");
  return ModelConverter(model, scanned.raw_data, src, model_path, op_supported).convert();
}

// A read-only private mapping of a whole file, unmapped on scope exit.
class FileMapping {
 public:
  FileMapping(const detail::FileBytes& file, const std::string& display) : size_(file.size()) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
    if (p == MAP_FAILED) throw Error(display + ": cannot map model: " + std::strerror(errno));
    data_ = static_cast<const uint8_t*>(p);
  }
  ~FileMapping() { ::munmap(const_cast<uint8_t*>(data_), size_); }
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;
  const uint8_t* data() const { return data_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_;
};

}  // namespace

std::shared_ptr<detail::Graph> load_onnx_file(const std::string& path, const OpSupported& op_supported) {
  std::string error;
  std::shared_ptr<const detail::FileBytes> file = detail::FileBytes::open(path, &error);
  if (!file) {
    if (error == detail::FileBytes::kNotRegularFile) throw Error(path + ": model is not a regular file");
    throw Error(path + ": cannot open model: " + error);
  }
  check_model_size(file->size(), path);
  // The scan reads the file through a mapping: only the pages holding protobuf structure are
  // touched, the weights are skipped (read later, at compile, from `file`), and the mapping is
  // gone before protobuf parses the pruned copy.
  ScannedModel scanned;
  {
    FileMapping map(*file, path);
    scanned = scan_initializers(map.data(), file->size(), path);
  }
  TensorSource src;
  src.display = path;
  src.base_dir = parent_dir(path);
  src.model_file = file;
  return convert_scanned(scanned, src, path, op_supported);
}

std::shared_ptr<detail::Graph> load_onnx_buffer(const void* data, size_t size, const std::string& base_dir,
                                                const OpSupported& op_supported, const std::string& display_name) {
  if (!data && size) throw Error(display_name + ": null model buffer");
  check_model_size(size, display_name);
  const auto* bytes = static_cast<const uint8_t*>(data);
  const ScannedModel scanned = scan_initializers(bytes, size, display_name);
  TensorSource src;
  src.display = display_name;
  src.base_dir = base_dir;
  src.model_bytes = bytes;  // the caller's buffer may go after the load: initializers are copied
  return convert_scanned(scanned, src, "", op_supported);
}

}  // namespace octet::frontend
