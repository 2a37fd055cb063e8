// GRAPH attributes: subgraphs converted with their outer-scope reads made inputs of the node
// that holds them, and the limits on hostile files (nesting depth, names no scope defines).
#include <gtest/gtest.h>

#include <string>

#include "frontend/model_builder.h"

namespace octet::testing {
namespace {

onnx::GraphProto* subgraph(onnx::NodeProto* n, const std::string& attr) {
  auto* a = add_attr(n, attr, onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(attr);
  return a->mutable_g();
}

std::string load_error(const ModelBuilder& b) {
  try {
    b.load();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Subgraphs, OuterScopeReadsBecomeNodeInputs) {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  b.input("x", TP::FLOAT, {2});
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  auto* t = subgraph(n, "then_branch");
  auto* add = t->add_node();
  add->set_op_type("Add");
  add->add_input("x");
  add->add_input("x");
  add->add_output("t_out");
  t->add_output()->set_name("t_out");
  auto* e = subgraph(n, "else_branch");
  e->add_output()->set_name("x");  // an outer value returned as it is
  b.output_untyped("y");
  auto g = b.load();
  ASSERT_EQ(g->nodes.size(), 1u);
  const detail::Node& node = g->nodes[0];
  ASSERT_EQ(node.inputs.size(), 2u);  // c, then x for both branches
  EXPECT_EQ(g->values[node.inputs[1]].name, "x");
  const detail::Graph& then_g = *node.attr("then_branch")->g;
  EXPECT_EQ(then_g.outer_scope, (std::vector<std::string>{"x"}));
  ASSERT_EQ(then_g.inputs.size(), 1u);
  EXPECT_EQ(node.attr("else_branch")->g->outer_scope, (std::vector<std::string>{"x"}));
}

TEST(Subgraphs, NameNoScopeDefinesIsAnError) {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  subgraph(n, "then_branch")->add_output()->set_name("nowhere");
  subgraph(n, "else_branch")->add_output()->set_name("nowhere");
  b.output_untyped("y");
  EXPECT_NE(load_error(b).find("nowhere"), std::string::npos) << load_error(b);
}

TEST(Subgraphs, NestingTooDeep) {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  onnx::NodeProto* n = b.node("If", {"c"}, {"y"}, "if");
  for (int depth = 0; depth < 12; ++depth) {
    subgraph(n, "else_branch")->add_output()->set_name("c");
    onnx::GraphProto* g = subgraph(n, "then_branch");
    n = g->add_node();
    n->set_op_type("If");
    n->add_input("c");
    n->add_output("y");
    g->add_output()->set_name("y");
  }
  b.output_untyped("y");
  EXPECT_NE(load_error(b).find("nested more than 8 deep"), std::string::npos) << load_error(b);
}

TEST(Subgraphs, GraphListAttributeRefused) {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  auto* a = add_attr(n, "then_branch", onnx::AttributeProto::GRAPHS);
  a->add_graphs()->add_output()->set_name("c");
  subgraph(n, "else_branch")->add_output()->set_name("c");
  b.output_untyped("y");
  EXPECT_NE(load_error(b).find("GRAPHS"), std::string::npos) << load_error(b);
}

}  // namespace
}  // namespace octet::testing
