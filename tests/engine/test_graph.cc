#include <gtest/gtest.h>

#include "octet/graph/graph.h"

using octet::detail::Graph;
using octet::detail::Node;

namespace {

Node make_node(Graph& g, const std::string& name, const std::string& op, std::vector<std::string> ins,
               std::vector<std::string> outs) {
  Node n;
  n.name = name;
  n.op_type = op;
  for (auto& i : ins) {
    int id = g.find_value(i);
    if (id < 0) id = g.add_value(i);
    n.inputs.push_back(id);
  }
  for (auto& o : outs) {
    int id = g.find_value(o);
    if (id < 0) id = g.add_value(o);
    n.outputs.push_back(id);
  }
  return n;
}

TEST(Graph, ToposortOrdersProducersFirst) {
  Graph g;
  int x = g.add_value("x");
  g.inputs.push_back(x);
  g.nodes.push_back(make_node(g, "second", "Relu", {"a"}, {"b"}));
  g.nodes.push_back(make_node(g, "first", "Relu", {"x"}, {"a"}));
  g.outputs.push_back(g.find_value("b"));
  g.toposort();
  EXPECT_EQ(g.nodes[0].name, "first");
  EXPECT_EQ(g.nodes[1].name, "second");
  EXPECT_EQ(g.values[g.find_value("b")].producer, 1);
}

TEST(Graph, CycleIsAnError) {
  Graph g;
  g.model_path = "cyclic.onnx";
  g.nodes.push_back(make_node(g, "n1", "Relu", {"b"}, {"a"}));
  g.nodes.push_back(make_node(g, "n2", "Relu", {"a"}, {"b"}));
  g.outputs.push_back(g.find_value("b"));
  try {
    g.toposort();
    FAIL() << "expected an error";
  } catch (const octet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cyclic.onnx"), std::string::npos) << e.what();
  }
}

TEST(Graph, InputNobodyProducesIsAnError) {
  Graph g;
  g.nodes.push_back(make_node(g, "n1", "Relu", {"ghost"}, {"a"}));
  g.outputs.push_back(g.find_value("a"));
  try {
    g.toposort();
    FAIL() << "expected an error";
  } catch (const octet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ghost"), std::string::npos) << e.what();
  }
}

TEST(Graph, TwoProducersIsAnError) {
  Graph g;
  int x = g.add_value("x");
  g.inputs.push_back(x);
  g.nodes.push_back(make_node(g, "n1", "Relu", {"x"}, {"a"}));
  g.nodes.push_back(make_node(g, "n2", "Relu", {"x"}, {"a"}));
  g.outputs.push_back(g.find_value("a"));
  EXPECT_THROW(g.toposort(), octet::Error);
}

TEST(Graph, CompactDropsDeadNodesAndUnusedValues) {
  Graph g;
  int x = g.add_value("x");
  g.inputs.push_back(x);
  g.nodes.push_back(make_node(g, "keep", "Relu", {"x"}, {"y"}));
  g.nodes.push_back(make_node(g, "drop", "Relu", {"x"}, {"unused"}));
  g.outputs.push_back(g.find_value("y"));
  g.toposort();
  g.nodes[1].dead = true;
  g.compact();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.find_value("unused"), -1);
  EXPECT_EQ(g.values[g.outputs[0]].name, "y");
  EXPECT_EQ(g.values[g.nodes[0].inputs[0]].name, "x");
}

TEST(Tensor, ShapeArithmeticIsChecked) {
  EXPECT_THROW(octet::shape_numel({-1, 3}), octet::Error);
  EXPECT_THROW(octet::shape_numel({int64_t(1) << 40, int64_t(1) << 40}), octet::Error);
  EXPECT_EQ(octet::shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(octet::shape_numel({}), 1);
  EXPECT_THROW(octet::Tensor(octet::DType::f32, {int64_t(1) << 62}), octet::Error);
}

}  // namespace
