// Building a node's subgraph attribute (If branch, Loop / Scan / SequenceMap body) inside a
// ModelBuilder model: for the control-flow op tests.
#pragma once

#include <string>
#include <vector>

#include "frontend/model_builder.h"

namespace octet::testing {

// A subgraph under construction, as an attribute of node n.
inline onnx::GraphProto* subgraph(onnx::NodeProto* n, const std::string& attr) {
  auto* a = add_attr(n, attr, onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(attr);
  return a->mutable_g();
}
inline void sub_input(onnx::GraphProto* g, const std::string& name, int elem_type, const std::vector<Dim>& dims) {
  auto* vi = g->add_input();
  vi->set_name(name);
  set_type(vi, elem_type, dims);
}
// An input typed as a sequence of elem_type tensors (a Loop's carried sequence).
inline void sub_sequence_input(onnx::GraphProto* g, const std::string& name, int elem_type) {
  auto* vi = g->add_input();
  vi->set_name(name);
  vi->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(elem_type);
}
inline void sub_output(onnx::GraphProto* g, const std::string& name) { g->add_output()->set_name(name); }
inline onnx::NodeProto* sub_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in,
                                 const std::vector<std::string>& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

}  // namespace octet::testing
