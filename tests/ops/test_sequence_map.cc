// SequenceMap: its body run once per position of the input sequences, compiled once per
// distinct set of element shapes; extra inputs that are sequences (fed element by element) or
// tensors (fed whole), outer-scope reads, and what it refuses. Graph inputs and outputs are
// tensors, so the sequences are built with SequenceConstruct and read with SequenceAt /
// ConcatFromSequence / SequenceLength.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/model_builder.h"
#include "ops/ref_model_run.h"
#include "ops/subgraph_builder.h"
#include "ops/float_tensors.h"

namespace octet::testing {
namespace {

std::vector<int64_t> ints(const Tensor& t) {
  return std::vector<int64_t>(t.data_as<int64_t>(), t.data_as<int64_t>() + t.numel());
}

// A body input of any shape (the elements bound to it differ in shape).
void sub_input_any_shape(onnx::GraphProto* g, const std::string& name, int elem_type) {
  auto* vi = g->add_input();
  vi->set_name(name);
  set_type(vi, elem_type, {}, false);
}

onnx::NodeProto* concat(ModelBuilder& b, const std::string& seq, const std::string& out) {
  auto* n = b.node("ConcatFromSequence", {seq}, {out});
  attr_i(n, "axis", 0);
  return n;
}

// [a (2), b (3)] -> SequenceMap(body: e + k with k from the enclosing graph, Shape(e),
// Identity(e)) -> the three output sequences read back as tensors.
ModelBuilder one_sequence_model() {
  ModelBuilder b(17);
  b.input("a", TP::FLOAT, {2});
  b.input("b", TP::FLOAT, {3});
  b.input("k", TP::FLOAT, {1});
  b.initializer(tensor_i64("one", {}, {1}));
  b.node("SequenceConstruct", {"a", "b"}, {"s"});
  auto* n = b.node("SequenceMap", {"s"}, {"added", "shapes", "same"}, "map");
  auto* body = subgraph(n, "body");
  sub_input_any_shape(body, "e", TP::FLOAT);
  sub_node(body, "Add", {"e", "k"}, {"e_plus_k"});
  sub_node(body, "Shape", {"e"}, {"e_shape"});
  sub_node(body, "Identity", {"e"}, {"e_same"});
  sub_output(body, "e_plus_k");
  sub_output(body, "e_shape");
  sub_output(body, "e_same");
  concat(b, "added", "y");
  concat(b, "shapes", "y_shapes");
  b.node("SequenceAt", {"same", "one"}, {"y_second"});
  b.node("SequenceLength", {"added"}, {"n"});
  for (const char* o : {"y", "y_shapes", "y_second", "n"}) b.output_untyped(o);
  return b;
}

TEST(SequenceMap, OneSequenceOfDifferentShapesWithAnOuterValue) {
  auto out = run_on_ref(one_sequence_model(),
                        {{"a", f32({2}, {1, 2})}, {"b", f32({3}, {3, 4, 5})}, {"k", f32({1}, {10})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{11, 12, 13, 14, 15}));
  EXPECT_EQ(ints(out.at("y_shapes")), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(out.at("y_second").shape(), (Shape{3}));
  EXPECT_EQ(values(out.at("y_second")), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(ints(out.at("n")), (std::vector<int64_t>{2}));
}

TEST(SequenceMap, RunsTwiceOnOneCompiledModel) {
  CompiledModel cm = compile_on_ref(one_sequence_model());
  Session s = cm.create_session();
  s.run({{"a", f32({2}, {1, 2})}, {"b", f32({3}, {3, 4, 5})}, {"k", f32({1}, {10})}});
  auto out = s.run({{"a", f32({2}, {0, 0})}, {"b", f32({3}, {1, 1, 1})}, {"k", f32({1}, {-1})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{-1, -1, 0, 0, 0}));
}

// Two sequences fed element by element and a tensor fed whole: x_i * y_i + t.
ModelBuilder two_sequences_model(bool same_lengths) {
  ModelBuilder b(17);
  b.input("a", TP::FLOAT, {2, 1});
  b.input("b", TP::FLOAT, {1, 3});
  b.input("c", TP::FLOAT, {2, 1});
  b.input("d", TP::FLOAT, {1, 3});
  b.input("t", TP::FLOAT, {1});
  b.node("SequenceConstruct", {"a", "b"}, {"xs"});
  if (same_lengths) b.node("SequenceConstruct", {"c", "d"}, {"ys"});
  else b.node("SequenceConstruct", {"c", "d", "d"}, {"ys"});
  auto* n = b.node("SequenceMap", {"xs", "ys", "t"}, {"zs"}, "map");
  auto* body = subgraph(n, "body");
  sub_input_any_shape(body, "x", TP::FLOAT);
  sub_input_any_shape(body, "y", TP::FLOAT);
  sub_input(body, "t_in", TP::FLOAT, {1});
  sub_node(body, "Mul", {"x", "y"}, {"xy"});
  sub_node(body, "Add", {"xy", "t_in"}, {"z"});
  sub_output(body, "z");
  b.initializer(tensor_i64("zero", {}, {0}));
  b.initializer(tensor_i64("one", {}, {1}));
  b.node("SequenceAt", {"zs", "zero"}, {"z0"});
  b.node("SequenceAt", {"zs", "one"}, {"z1"});
  b.output_untyped("z0");
  b.output_untyped("z1");
  return b;
}

TEST(SequenceMap, TwoSequencesAndATensor) {
  auto out = run_on_ref(two_sequences_model(true), {{"a", f32({2, 1}, {1, 2})},
                                                    {"b", f32({1, 3}, {1, 2, 3})},
                                                    {"c", f32({2, 1}, {3, 4})},
                                                    {"d", f32({1, 3}, {2, 2, 2})},
                                                    {"t", f32({1}, {100})}});
  EXPECT_EQ(out.at("z0").shape(), (Shape{2, 1}));
  EXPECT_EQ(values(out.at("z0")), (std::vector<float>{103, 108}));
  EXPECT_EQ(out.at("z1").shape(), (Shape{1, 3}));
  EXPECT_EQ(values(out.at("z1")), (std::vector<float>{102, 104, 106}));
}

TEST(SequenceMap, ElementsOfOneShapeAndABroadcastingBody) {
  // Three elements of shape [2] (one body), each + a [3, 1] tensor: elements of shape [3, 2].
  ModelBuilder b(17);
  b.input("x", TP::FLOAT, {3, 2});
  b.input("t", TP::FLOAT, {3, 1});
  auto* split = b.node("SplitToSequence", {"x"}, {"s"});
  attr_i(split, "keepdims", 0);
  auto* n = b.node("SequenceMap", {"s", "t"}, {"r"}, "map");
  auto* body = subgraph(n, "body");
  sub_input(body, "e", TP::FLOAT, {2});
  sub_input(body, "u", TP::FLOAT, {3, 1});
  sub_node(body, "Add", {"e", "u"}, {"sum"});
  sub_output(body, "sum");
  concat(b, "r", "y");
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"x", f32({3, 2}, {1, 2, 3, 4, 5, 6})}, {"t", f32({3, 1}, {0, 10, 20})}});
  EXPECT_EQ(out.at("y").shape(), (Shape{9, 2}));
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, 2, 11, 12, 21, 22, 3, 4, 13, 14, 23, 24, 5, 6, 15, 16, 25, 26}));
}

TEST(SequenceMap, EmptySequenceGivesEmptySequences) {
  ModelBuilder b(17);
  b.input("x", TP::FLOAT, {2});
  b.node("SequenceEmpty", {}, {"s"});
  auto* n = b.node("SequenceMap", {"s"}, {"r"}, "map");
  auto* body = subgraph(n, "body");
  sub_input_any_shape(body, "e", TP::FLOAT);
  sub_node(body, "Shape", {"e"}, {"e_shape"});
  sub_output(body, "e_shape");
  body->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(TP::INT64);
  // r is empty: insert Shape(x) so there is something to read back.
  b.node("Shape", {"x"}, {"x_shape"});
  b.node("SequenceInsert", {"r", "x_shape"}, {"r1"});
  concat(b, "r1", "y");
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"x", f32({2}, {1, 2})}});
  EXPECT_EQ(ints(out.at("y")), (std::vector<int64_t>{2}));
}

TEST(SequenceMap, NestedInAnotherSequenceMap) {
  // Outer body: SequenceMap over SplitToSequence(e) adding 1 to each piece, then concat.
  ModelBuilder b(17);
  b.input("a", TP::FLOAT, {2});
  b.input("b", TP::FLOAT, {3});
  b.node("SequenceConstruct", {"a", "b"}, {"s"});
  auto* n = b.node("SequenceMap", {"s"}, {"r"}, "outer");
  auto* body = subgraph(n, "body");
  sub_input_any_shape(body, "e", TP::FLOAT);
  sub_node(body, "SplitToSequence", {"e"}, {"pieces"});
  auto* inner = sub_node(body, "SequenceMap", {"pieces"}, {"plus"});
  auto* inner_body = subgraph(inner, "body");
  sub_input(inner_body, "p", TP::FLOAT, {1});
  sub_node(inner_body, "Add", {"p", "p"}, {"twice"});
  sub_output(inner_body, "twice");
  attr_i(sub_node(body, "ConcatFromSequence", {"plus"}, {"joined"}), "axis", 0);
  sub_output(body, "joined");
  concat(b, "r", "y");
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"a", f32({2}, {1, 2})}, {"b", f32({3}, {3, 4, 5})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{2, 4, 6, 8, 10}));
}

TEST(SequenceMap, ConstantInputsAreFolded) {
  // Every input a constant: the node runs while the graph is compiled.
  ModelBuilder b(17);
  b.initializer(tensor_f32("a", {1}, {1}));
  b.initializer(tensor_f32("c", {2}, {2, 3}));
  b.initializer(tensor_f32("k", {1}, {10}));
  b.input("x", TP::FLOAT, {3});
  b.node("SequenceConstruct", {"a", "c"}, {"s"});
  auto* n = b.node("SequenceMap", {"s"}, {"r"}, "map");
  auto* body = subgraph(n, "body");
  sub_input_any_shape(body, "e", TP::FLOAT);
  sub_node(body, "Add", {"e", "k"}, {"f"});
  sub_output(body, "f");
  concat(b, "r", "folded");
  b.node("Add", {"folded", "x"}, {"y"});
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"x", f32({3}, {100, 200, 300})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{111, 212, 313}));
}

// --- what it refuses ---------------------------------------------------------------------------

TEST(SequenceMap, WrongNumberOfBodyInputs) {
  ModelBuilder b = one_sequence_model();
  sub_input_any_shape(b.graph()->mutable_node(1)->mutable_attribute(0)->mutable_g(), "extra", TP::FLOAT);
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("has 2 inputs; the node gives it 1"), std::string::npos) << error;
}

TEST(SequenceMap, WrongNumberOfOutputs) {
  ModelBuilder b = one_sequence_model();
  b.graph()->mutable_node(1)->mutable_attribute(0)->mutable_g()->mutable_output()->RemoveLast();
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("body has 2 outputs; the node has 3"), std::string::npos) << error;
}

TEST(SequenceMap, InputZeroMustBeASequence) {
  ModelBuilder b(17);
  b.input("x", TP::FLOAT, {2});
  auto* n = b.node("SequenceMap", {"x"}, {"r"}, "map");
  auto* body = subgraph(n, "body");
  sub_input(body, "e", TP::FLOAT, {2});
  sub_node(body, "Identity", {"e"}, {"f"});
  sub_output(body, "f");
  concat(b, "r", "y");
  b.output_untyped("y");
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("input 0 ('x') must be a sequence"), std::string::npos) << error;
}

TEST(SequenceMap, SequencesOfDifferentLengths) {
  const std::string error = compile_error_on_ref(two_sequences_model(false));
  EXPECT_NE(error.find("input sequence 1 has 3 elements, input 0 has 2"), std::string::npos) << error;
}

TEST(SequenceMap, MissingBody) {
  ModelBuilder b(17);
  b.input("a", TP::FLOAT, {2});
  b.node("SequenceConstruct", {"a"}, {"s"});
  b.node("SequenceMap", {"s"}, {"r"}, "map");
  concat(b, "r", "y");
  b.output_untyped("y");
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("no graph attribute 'body'"), std::string::npos) << error;
}

TEST(SequenceMap, BodyRefusingAnElementNamesTheNode) {
  // Elements of shapes [2] and [3] against a body input declared [2].
  ModelBuilder b = one_sequence_model();
  auto* e = b.graph()->mutable_node(1)->mutable_attribute(0)->mutable_g()->mutable_input(0);
  set_type(e, TP::FLOAT, {2});
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("is declared [2] but receives [3]"), std::string::npos) << error;
  EXPECT_NE(error.find("map"), std::string::npos) << error;
}

TEST(SequenceMap, TooManyDistinctElementShapes) {
  // 65 elements of lengths 1..65: 65 bodies would be compiled.
  ModelBuilder b(17);
  std::vector<std::string> names;
  for (int i = 1; i <= 65; ++i) {
    names.push_back("c" + std::to_string(i));
    b.initializer(tensor_f32(names.back(), {i}, std::vector<float>(static_cast<size_t>(i), 1.0f)));
  }
  b.input("x", TP::FLOAT, {1});
  b.node("SequenceConstruct", names, {"s"});
  auto* n = b.node("SequenceMap", {"s"}, {"r"}, "map");
  auto* body = subgraph(n, "body");
  sub_input_any_shape(body, "e", TP::FLOAT);
  sub_node(body, "Add", {"e", "x"}, {"f"});
  sub_output(body, "f");
  concat(b, "r", "y");
  b.output_untyped("y");
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("more than 64 distinct sets of shapes"), std::string::npos) << error;
}

TEST(SequenceMap, NestedMapCompiledApartInsideOneCompiledApartIsRefused) {
  // Outer elements [2] and [3] (two bodies); inside, [3] splits into [2] and [1] (two more).
  ModelBuilder b(17);
  b.input("a", TP::FLOAT, {2});
  b.input("b", TP::FLOAT, {3});
  b.initializer(tensor_i64("two", {}, {2}));
  b.node("SequenceConstruct", {"a", "b"}, {"s"});
  auto* n = b.node("SequenceMap", {"s"}, {"r"}, "outer");
  auto* body = subgraph(n, "body");
  sub_input_any_shape(body, "e", TP::FLOAT);
  sub_node(body, "SplitToSequence", {"e", "two"}, {"pieces"});
  auto* inner = sub_node(body, "SequenceMap", {"pieces"}, {"same"});
  auto* inner_body = subgraph(inner, "body");
  sub_input_any_shape(inner_body, "p", TP::FLOAT);
  sub_node(inner_body, "Identity", {"p"}, {"q"});
  sub_output(inner_body, "q");
  attr_i(sub_node(body, "ConcatFromSequence", {"same"}, {"joined"}), "axis", 0);
  sub_output(body, "joined");
  concat(b, "r", "y");
  b.output_untyped("y");
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("itself compiled apart"), std::string::npos) << error;
}

}  // namespace
}  // namespace octet::testing
