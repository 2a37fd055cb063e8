#include "octet/frontend/onnx_writer.h"

#include <fstream>

#include "onnx_internal.h"

namespace octet::frontend {
namespace {

void set_type(const detail::Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (!v.shape_known) return;
  auto* shape = tt->mutable_shape();
  for (size_t d = 0; d < v.shape.size(); ++d) {
    auto* dim = shape->add_dim();
    std::string name = d < v.dim_names.size() ? v.dim_names[d] : std::string();
    if (!name.empty()) dim->set_dim_param(name);
    else dim->set_dim_value(v.shape[d]);
  }
}

void set_attr(const std::string& name, const detail::Attribute& a, onnx::AttributeProto* ap) {
  using K = detail::Attribute::Kind;
  ap->set_name(name);
  switch (a.kind) {
    case K::int_: ap->set_type(onnx::AttributeProto::INT); ap->set_i(a.i); break;
    case K::float_: ap->set_type(onnx::AttributeProto::FLOAT); ap->set_f(a.f); break;
    case K::string_: ap->set_type(onnx::AttributeProto::STRING); ap->set_s(a.s); break;
    case K::ints:
      ap->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : a.ints) ap->add_ints(v);
      break;
    case K::floats:
      ap->set_type(onnx::AttributeProto::FLOATS);
      for (float v : a.floats) ap->add_floats(v);
      break;
    case K::strings:
      ap->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& v : a.strings) ap->add_strings(v);
      break;
    case K::tensor:
      ap->set_type(onnx::AttributeProto::TENSOR);
      tensor_to_proto(a.t, "", ap->mutable_t());
      break;
    case K::graph: throw Error("cannot save attribute '" + name + "': graph attributes are not supported");
    case K::type: throw Error("cannot save attribute '" + name + "': type attributes are not supported");
  }
}

}  // namespace

std::string serialize_onnx(const detail::Graph& g, const std::string& producer) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name(producer);
  for (const auto& kv : g.opsets) {
    auto* op = model.add_opset_import();
    op->set_domain(kv.first);
    op->set_version(kv.second);
  }
  onnx::GraphProto* gp = model.mutable_graph();
  gp->set_name("octet");
  std::vector<char> written(g.values.size(), 0);
  for (int id : g.inputs) {
    set_type(g.values[id], gp->add_input());
    written[id] = 1;
  }
  for (int id : g.outputs) {
    set_type(g.values[id], gp->add_output());
    written[id] = 1;
  }
  // Only constants that something reads become initializers.
  std::vector<char> used(g.values.size(), 0);
  for (const detail::Node& n : g.nodes) {
    if (n.dead) continue;
    for (int i : n.inputs)
      if (i >= 0) used[i] = 1;
  }
  for (int id : g.outputs) used[id] = 1;
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].is_const && used[v] && g.values[v].is_sequence)
      throw Error("cannot save the constant sequence '" + g.values[v].name + "': ONNX initializers are tensors");
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].is_const && used[v]) tensor_to_proto(detail::constant_data(g.values[v]), g.values[v].name, gp->add_initializer());
  for (const detail::Node& n : g.nodes) {
    if (n.dead) continue;
    onnx::NodeProto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (int i : n.inputs) np->add_input(i >= 0 ? g.values[i].name : std::string());
    for (int o : n.outputs) np->add_output(o >= 0 ? g.values[o].name : std::string());
    for (const auto& kv : n.attrs) set_attr(kv.first, kv.second, np->add_attribute());
    for (int o : n.outputs)
      if (o >= 0 && !written[o] && !g.values[o].is_sequence && g.values[o].shape_known &&
          g.values[o].dtype != DType::undefined) {
        set_type(g.values[o], gp->add_value_info());
        written[o] = 1;
      }
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("cannot serialise the model (over 2 GB?)");
  return bytes;
}

void save_onnx(const detail::Graph& g, const std::string& path) {
  std::string bytes = serialize_onnx(g);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error("cannot open '" + path + "' for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw Error("error writing '" + path + "'");
}

}  // namespace octet::frontend
