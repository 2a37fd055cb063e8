// Loop and If whose values are sequences, between tensor graph inputs and outputs: a Loop
// growing a carried SequenceEmpty by one element of a new shape per iteration (bodies compiled
// per iteration, the element shapes chained), a Loop reading an outer sequence with SequenceAt,
// If branches returning sequences; and what is refused (branches whose element shapes differ
// under a run-time cond, a growing sequence without a constant trip count, a run-time early stop).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/model_builder.h"
#include "ops/ref_model_run.h"
#include "ops/subgraph_builder.h"
#include "ops/float_tensors.h"

namespace octet::testing {
namespace {


template <typename F>
std::string run_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The pattern of ONNX's test_loop13_seq: a sequence starts empty and each iteration inserts
// x[0 : iter + 1] (with slice; else x itself); the result is concatenated on axis 0. M is a
// constant; cond a graph input.
ModelBuilder growing_loop(int64_t trips, bool slice = true) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {5});
  b.input("c", TP::BOOL, {});
  b.initializer(tensor_i64("M", {}, {trips}));
  b.initializer(tensor_i64("one", {}, {1}));
  b.initializer(tensor_i64("zero1", {1}, {0}));
  b.node("SequenceEmpty", {}, {"empty"});
  auto* n = b.node("Loop", {"M", "c", "empty"}, {"seq"}, "loop");
  auto* body = subgraph(n, "body");
  sub_input(body, "i", TP::INT64, {});
  sub_input(body, "c_in", TP::BOOL, {});
  sub_sequence_input(body, "seq_in", TP::FLOAT);
  sub_node(body, "Identity", {"c_in"}, {"c_out"});
  sub_node(body, "Add", {"i", "one"}, {"end"});
  sub_node(body, "Unsqueeze", {"end", "zero1"}, {"end1"});
  if (slice)
    sub_node(body, "Slice", {"x", "zero1", "end1"}, {"part"});
  else
    sub_node(body, "Identity", {"x"}, {"part"});
  sub_node(body, "SequenceInsert", {"seq_in", "part"}, {"seq_out"});
  sub_output(body, "c_out");
  sub_output(body, "seq_out");
  b.node("SequenceLength", {"seq"}, {"n"});
  attr_i(b.node("ConcatFromSequence", {"seq"}, {"y"}), "axis", 0);
  b.output_untyped("n");
  b.output_untyped("y");
  return b;
}

TEST(LoopSequence, GrowsACarriedSequenceByElementsOfNewShapes) {
  auto out = run_on_ref(growing_loop(3), {{"x", f32({5}, {1, 2, 3, 4, 5})}, {"c", boolean(true)}});
  EXPECT_EQ(*out.at("n").data_as<int64_t>(), 3);
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, 1, 2, 1, 2, 3}));
}

TEST(LoopSequence, EarlyStopOfAGrowingSequenceIsRefusedAtRunTime) {
  CompiledModel cm = compile_on_ref(growing_loop(3));
  Session s = cm.create_session();
  const std::string error = run_error([&] { s.run({{"x", f32({5}, {1, 2, 3, 4, 5})}, {"c", boolean(false)}}); });
  EXPECT_NE(error.find("after 0 of 3"), std::string::npos) << error;
  EXPECT_NE(error.find("carried sequences"), std::string::npos) << error;
  // The same session still runs the whole loop.
  EXPECT_EQ(values(s.run({{"x", f32({5}, {1, 2, 3, 4, 5})}, {"c", boolean(true)}}).at("y")),
            (std::vector<float>{1, 1, 2, 1, 2, 3}));
}

TEST(LoopSequence, GrowingSequenceNeedsAConstantTripCount) {
  ModelBuilder b = growing_loop(3, false);
  b.graph()->mutable_initializer()->erase(b.graph()->mutable_initializer()->begin());  // M
  b.input("M", TP::INT64, {});
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("carried value 0 enters the body as sequence of f32 (0 elements) and leaves it as sequence of f32 (1 element: [5])"), std::string::npos)
      << error;
  EXPECT_NE(error.find("M is a constant"), std::string::npos) << error;
}

TEST(LoopSequence, GrowingSequenceOverTheCompileCapIsRefused) {
  std::string error = compile_error_on_ref(growing_loop(65, false));
  EXPECT_NE(error.find("M is a constant up to 64"), std::string::npos) << error;
  error = compile_error_on_ref(growing_loop(65));  // the single body's error: its Slice
  EXPECT_NE(error.find("must be a constant"), std::string::npos) << error;
  auto out = run_on_ref(growing_loop(64, false), {{"x", f32({5}, {1, 2, 3, 4, 5})}, {"c", boolean(true)}});
  EXPECT_EQ(*out.at("n").data_as<int64_t>(), 64);
}

// The pattern of ONNX's SequenceMap expansion: M = SequenceLength(s) of an outer sequence, the
// body reads element iter with SequenceAt and inserts it, doubled, into a carried SequenceEmpty.
TEST(LoopSequence, ReadsAnOuterSequenceWithSequenceAt) {
  ModelBuilder b(13);
  b.input("a", TP::FLOAT, {2});
  b.input("b", TP::FLOAT, {3});
  b.initializer(tensor_i64("true_as_int", {}, {1}));
  b.node("SequenceConstruct", {"a", "b"}, {"s"});
  b.node("SequenceLength", {"s"}, {"M"});
  b.node("SequenceEmpty", {}, {"empty"});
  auto* n = b.node("Loop", {"M", "", "empty"}, {"doubled"}, "loop");
  auto* body = subgraph(n, "body");
  sub_input(body, "i", TP::INT64, {});
  sub_input(body, "c_in", TP::BOOL, {});
  sub_sequence_input(body, "acc_in", TP::FLOAT);
  sub_node(body, "Identity", {"c_in"}, {"c_out"});
  sub_node(body, "SequenceAt", {"s", "i"}, {"e"});
  sub_node(body, "Add", {"e", "e"}, {"e2"});
  sub_node(body, "SequenceInsert", {"acc_in", "e2"}, {"acc_out"});
  sub_output(body, "c_out");
  sub_output(body, "acc_out");
  b.initializer(tensor_i64("last", {}, {-1}));
  b.node("SequenceAt", {"doubled", "last"}, {"tail"});
  attr_i(b.node("ConcatFromSequence", {"doubled"}, {"y"}), "axis", 0);
  b.output_untyped("y");
  b.output_untyped("tail");
  auto out = run_on_ref(b, {{"a", f32({2}, {1, 2})}, {"b", f32({3}, {3, 4, 5})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{2, 4, 6, 8, 10}));
  EXPECT_EQ(out.at("tail").shape(), (Shape{3}));
  EXPECT_EQ(values(out.at("tail")), (std::vector<float>{6, 8, 10}));
}

// A carried sequence of one shape (the body replaces its only element) may stop early as
// tensors do: cond i < 1 ends the loop of M = 5 after two iterations.
TEST(LoopSequence, SequenceOfOneShapeMayStopEarly) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {2});
  b.initializer(tensor_i64("M", {}, {5}));
  b.initializer(tensor_i64("limit", {}, {1}));
  b.node("SequenceConstruct", {"x"}, {"s0"});
  auto* n = b.node("Loop", {"M", "", "s0"}, {"s"}, "loop");
  auto* body = subgraph(n, "body");
  sub_input(body, "i", TP::INT64, {});
  sub_input(body, "c_in", TP::BOOL, {});
  sub_sequence_input(body, "s_in", TP::FLOAT);
  sub_node(body, "Less", {"i", "limit"}, {"c_out"});
  b.initializer(tensor_i64("zero", {}, {0}));
  sub_node(body, "SequenceAt", {"s_in", "zero"}, {"v"});
  sub_node(body, "Add", {"v", "x"}, {"v2"});
  sub_node(body, "SequenceErase", {"s_in"}, {"s_mid"});
  sub_node(body, "SequenceInsert", {"s_mid", "v2"}, {"s_out"});
  sub_output(body, "c_out");
  sub_output(body, "s_out");
  attr_i(b.node("ConcatFromSequence", {"s"}, {"y"}), "axis", 0);
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"x", f32({2}, {1, 2})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{3, 6}));  // x + 2 x: two iterations
}

TEST(LoopSequence, TensorFormalDeclaredForASequenceIsAnError) {
  ModelBuilder b = growing_loop(3);
  auto* body = b.graph()->mutable_node(1)->mutable_attribute(0)->mutable_g();
  set_type(body->mutable_input(2), TP::FLOAT, {2});
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("is declared a tensor but receives a sequence"), std::string::npos) << error;
}

TEST(LoopSequence, SequenceFormalGivenATensorIsAnError) {
  ModelBuilder b = growing_loop(3);
  auto* body = b.graph()->mutable_node(1)->mutable_attribute(0)->mutable_g();
  body->mutable_input(0)->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(
      TP::INT64);
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("input 'i' is declared a sequence but receives a tensor"), std::string::npos) << error;
}

TEST(ScanSequence, BodyReturningASequenceIsRefused) {
  ModelBuilder b(13);
  b.input("s0", TP::FLOAT, {2});
  b.input("xs", TP::FLOAT, {3, 2});
  auto* n = b.node("Scan", {"s0", "xs"}, {"s", "ys"}, "scan");
  attr_i(n, "num_scan_inputs", 1);
  auto* body = subgraph(n, "body");
  sub_input(body, "s_in", TP::FLOAT, {2});
  sub_input(body, "x", TP::FLOAT, {2});
  sub_node(body, "Add", {"s_in", "x"}, {"s_out"});
  sub_node(body, "SequenceConstruct", {"x"}, {"y"});
  sub_output(body, "s_out");
  sub_output(body, "y");
  b.output_untyped("s");
  b.output_untyped("ys");
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("body output 1 is a sequence"), std::string::npos) << error;
}

// If(c) then [x, z] else [-x, z] (else_elements_swapped: [z, -x]), then concatenated.
ModelBuilder sequence_if(bool constant_cond, bool cond_value, bool else_elements_swapped) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {2});
  b.input("z", TP::FLOAT, {1});
  if (constant_cond) {
    auto cond = tensor_i64("c", {}, {1});
    cond.clear_raw_data();
    cond.clear_int64_data();
    cond.set_data_type(TP::BOOL);
    cond.add_int32_data(cond_value ? 1 : 0);
    b.initializer(cond);
  } else {
    b.input("c", TP::BOOL, {});
  }
  auto* n = b.node("If", {"c"}, {"s"}, "if");
  auto* t = subgraph(n, "then_branch");
  sub_node(t, "SequenceConstruct", {"x", "z"}, {"t_out"});
  sub_output(t, "t_out");
  auto* e = subgraph(n, "else_branch");
  sub_node(e, "Neg", {"x"}, {"nx"});
  if (else_elements_swapped)
    sub_node(e, "SequenceConstruct", {"z", "nx"}, {"e_out"});
  else
    sub_node(e, "SequenceConstruct", {"nx", "z"}, {"e_out"});
  sub_output(e, "e_out");
  attr_i(b.node("ConcatFromSequence", {"s"}, {"y"}), "axis", 0);
  b.output_untyped("y");
  return b;
}

TEST(IfSequence, RunTimeConditionBothWays) {
  CompiledModel cm = compile_on_ref(sequence_if(false, false, false));
  Session s = cm.create_session();
  const Tensor x = f32({2}, {1, 2}), z = f32({1}, {9});
  EXPECT_EQ(values(s.run({{"c", boolean(true)}, {"x", x}, {"z", z}}).at("y")), (std::vector<float>{1, 2, 9}));
  EXPECT_EQ(values(s.run({{"c", boolean(false)}, {"x", x}, {"z", z}}).at("y")), (std::vector<float>{-1, -2, 9}));
}

TEST(IfSequence, BranchesWithOtherElementShapesNeedAConstantCondition) {
  // Three floats either way, but [2], [1] against [1], [2].
  const std::string error = compile_error_on_ref(sequence_if(false, false, true));
  EXPECT_NE(error.find("sequence of f32 (2 elements: [2], [1]) in then_branch but sequence of f32 "
                       "(2 elements: [1], [2]) in else_branch"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("run time"), std::string::npos) << error;
}

TEST(IfSequence, ConstantConditionTakesItsBranchsElements) {
  auto out = run_on_ref(sequence_if(true, false, true), {{"x", f32({2}, {1, 2})}, {"z", f32({1}, {9})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{9, -1, -2}));
  out = run_on_ref(sequence_if(true, true, true), {{"x", f32({2}, {1, 2})}, {"z", f32({1}, {9})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, 2, 9}));
}

TEST(IfSequence, SequenceAgainstTensorIsAnError) {
  ModelBuilder b = sequence_if(false, false, false);
  auto* e = b.graph()->mutable_node(0)->mutable_attribute(1)->mutable_g();
  e->mutable_output(0)->set_name("nx");
  const std::string error = compile_error_on_ref(b);
  EXPECT_NE(error.find("in else_branch"), std::string::npos) << error;
}

}  // namespace
}  // namespace octet::testing
