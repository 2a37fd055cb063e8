// If, Loop and Scan: subgraphs compiled as programs of their own and run at run time
// (run-time conditions, carried values, scan outputs, outer-scope reads, nesting), and the
// shapes octet refuses because they would depend on run-time data.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/model_builder.h"
#include "ops/ref_model_run.h"
#include "ops/subgraph_builder.h"
#include "ops/float_tensors.h"

namespace octet::testing {
namespace {


// If(c) then x + x else -x, both reading x from the enclosing graph.
ModelBuilder if_model() {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  b.input("x", TP::FLOAT, {2});
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  auto* t = subgraph(n, "then_branch");
  sub_node(t, "Add", {"x", "x"}, {"t_out"});
  sub_output(t, "t_out");
  auto* e = subgraph(n, "else_branch");
  sub_node(e, "Neg", {"x"}, {"e_out"});
  sub_output(e, "e_out");
  b.output("y", TP::FLOAT, {2});
  return b;
}

TEST(If, RunTimeConditionBothWays) {
  ModelBuilder b = if_model();
  CompiledModel cm = compile_on_ref(b);
  Session s = cm.create_session();
  EXPECT_EQ(values(s.run({{"c", boolean(true)}, {"x", f32({2}, {1, -2})}}).at("y")), (std::vector<float>{2, -4}));
  EXPECT_EQ(values(s.run({{"c", boolean(false)}, {"x", f32({2}, {1, -2})}}).at("y")), (std::vector<float>{-1, 2}));
}

TEST(If, BranchesOfDifferentShapesNeedAConstantCondition) {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  b.input("x", TP::FLOAT, {2});
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  auto* t = subgraph(n, "then_branch");
  sub_node(t, "Concat", {"x", "x"}, {"t_out"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  sub_output(t, "t_out");
  auto* e = subgraph(n, "else_branch");
  sub_node(e, "Neg", {"x"}, {"e_out"});
  sub_output(e, "e_out");
  b.output_untyped("y");
  EXPECT_NE(compile_error_on_ref(b).find("static shapes"), std::string::npos) << compile_error_on_ref(b);
}

TEST(If, ConstantConditionPicksTheBranchShape) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {2});
  auto cond = tensor_i64("c", {}, {1});
  cond.clear_raw_data();
  cond.clear_int64_data();
  cond.set_data_type(TP::BOOL);
  cond.add_int32_data(1);
  b.initializer(cond);
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  auto* t = subgraph(n, "then_branch");
  auto* concat = sub_node(t, "Concat", {"x", "x"}, {"t_out"});
  auto* axis = concat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(0);
  sub_output(t, "t_out");
  auto* e = subgraph(n, "else_branch");
  sub_node(e, "Neg", {"x"}, {"e_out"});
  sub_output(e, "e_out");
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"x", f32({2}, {1, 2})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, 2, 1, 2}));
}

TEST(If, MissingBranchIsAnError) {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  auto* t = subgraph(n, "then_branch");
  sub_node(t, "Constant", {}, {"t_out"});
  t->mutable_node(0)->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("value_float");
    a.set_type(onnx::AttributeProto::FLOAT);
    a.set_f(1);
    return a;
  }());
  sub_output(t, "t_out");
  b.output_untyped("y");
  EXPECT_NE(compile_error_on_ref(b).find("else_branch"), std::string::npos) << compile_error_on_ref(b);
}

TEST(If, BranchReturnsAnOuterValueAndHasItsOwnInitializer) {
  ModelBuilder b(13);
  b.input("c", TP::BOOL, {});
  b.input("x", TP::FLOAT, {2});
  auto* n = b.node("If", {"c"}, {"y"}, "if");
  auto* t = subgraph(n, "then_branch");
  *t->add_initializer() = tensor_f32("ten", {2}, {10, 20});
  sub_node(t, "Mul", {"x", "ten"}, {"t_out"});
  sub_output(t, "t_out");
  subgraph(n, "else_branch")->add_output()->set_name("x");
  b.output("y", TP::FLOAT, {2});
  CompiledModel cm = compile_on_ref(b);
  Session s = cm.create_session();
  EXPECT_EQ(values(s.run({{"c", boolean(true)}, {"x", f32({2}, {1, 2})}}).at("y")), (std::vector<float>{10, 40}));
  EXPECT_EQ(values(s.run({{"c", boolean(false)}, {"x", f32({2}, {1, 2})}}).at("y")), (std::vector<float>{1, 2}));
}

// Loop M times: s += x (x from the enclosing graph); scan output: s after each iteration;
// body cond: iteration < stop_after.
ModelBuilder loop_model(int64_t trips, bool with_scan, int64_t stop_after) {
  ModelBuilder b(13);
  b.input("s0", TP::FLOAT, {2});
  b.input("x", TP::FLOAT, {2});
  b.initializer(tensor_i64("M", {}, {trips}));
  b.initializer(tensor_i64("limit", {}, {stop_after}));
  std::vector<std::string> outs = {"s_final"};
  if (with_scan) outs.push_back("s_all");
  auto* n = b.node("Loop", {"M", "", "s0"}, outs, "loop");
  auto* body = subgraph(n, "body");
  sub_input(body, "i", TP::INT64, {});
  sub_input(body, "c_in", TP::BOOL, {});
  sub_input(body, "s_in", TP::FLOAT, {2});
  sub_node(body, "Less", {"i", "limit"}, {"c_out"});
  sub_node(body, "Add", {"s_in", "x"}, {"s_out"});
  sub_output(body, "c_out");
  sub_output(body, "s_out");
  if (with_scan) {
    sub_node(body, "Identity", {"s_out"}, {"s_scan"});
    sub_output(body, "s_scan");
  }
  for (const auto& o : outs) b.output_untyped(o);
  return b;
}

TEST(Loop, CarriedValuesAndScanOutputs) {
  auto out = run_on_ref(loop_model(3, true, 100), {{"s0", f32({2}, {1, 2})}, {"x", f32({2}, {10, 20})}});
  EXPECT_EQ(values(out.at("s_final")), (std::vector<float>{31, 62}));
  EXPECT_EQ(out.at("s_all").shape(), (Shape{3, 2}));
  EXPECT_EQ(values(out.at("s_all")), (std::vector<float>{11, 22, 21, 42, 31, 62}));
}

TEST(Loop, ConditionEndsItEarly) {
  // i < 1 is false at i = 1: two iterations run.
  auto out = run_on_ref(loop_model(5, false, 1), {{"s0", f32({2}, {0, 0})}, {"x", f32({2}, {1, 2})}});
  EXPECT_EQ(values(out.at("s_final")), (std::vector<float>{2, 4}));
}

TEST(Loop, EarlyEndWithScanOutputsIsRefusedAtRunTime) {
  CompiledModel cm = compile_on_ref(loop_model(5, true, 1));
  Session s = cm.create_session();
  try {
    s.run({{"s0", f32({2}, {0, 0})}, {"x", f32({2}, {1, 2})}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("after 2 of 5"), std::string::npos) << e.what();
  }
}

TEST(Loop, ScanOutputsNeedAConstantTripCount) {
  ModelBuilder b = loop_model(3, true, 100);
  b.graph()->mutable_initializer()->erase(b.graph()->mutable_initializer()->begin());  // M
  b.input("M", TP::INT64, {});
  EXPECT_NE(compile_error_on_ref(b).find("compile time"), std::string::npos) << compile_error_on_ref(b);
}

TEST(Loop, HugeTripCountWithScanOutputsIsOverTheMemoryLimit) {
  const std::string error = compile_error_on_ref(loop_model(int64_t(1) << 40, true, int64_t(1) << 41));
  EXPECT_NE(error.find("memory limit"), std::string::npos) << error;
}

TEST(Loop, WrongNumberOfBodyInputs) {
  ModelBuilder b = loop_model(3, false, 100);
  b.graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_input()->RemoveLast();
  b.graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_node(1)->set_input(0, "s0");
  EXPECT_NE(compile_error_on_ref(b).find("has 2 inputs; the node gives it 3"), std::string::npos) << compile_error_on_ref(b);
}

TEST(Loop, MissingBody) {
  ModelBuilder b(13);
  b.input("s0", TP::FLOAT, {2});
  b.initializer(tensor_i64("M", {}, {2}));
  b.node("Loop", {"M", "", "s0"}, {"s"}, "loop");
  b.output_untyped("s");
  EXPECT_NE(compile_error_on_ref(b).find("no graph attribute 'body'"), std::string::npos) << compile_error_on_ref(b);
}

TEST(Loop, BodyCompiledPerIterationWhenItSlicesAtTheIterationNumber) {
  // Scan output i = table[i : i + 1]: Slice needs its start at compile time.
  ModelBuilder b(13);
  b.input("s0", TP::FLOAT, {1});
  b.initializer(tensor_i64("M", {}, {3}));
  b.initializer(tensor_f32("table", {4}, {5, 6, 7, 8}));
  b.initializer(tensor_i64("one", {}, {1}));
  b.initializer(tensor_i64("zero", {1}, {0}));
  auto* n = b.node("Loop", {"M", "", "s0"}, {"s", "rows"}, "loop");
  auto* body = subgraph(n, "body");
  sub_input(body, "i", TP::INT64, {});
  sub_input(body, "c_in", TP::BOOL, {});
  sub_input(body, "s_in", TP::FLOAT, {1});
  sub_node(body, "Identity", {"c_in"}, {"c_out"});
  sub_node(body, "Add", {"i", "one"}, {"end"});
  sub_node(body, "Unsqueeze", {"i", "zero"}, {"start1"});
  sub_node(body, "Unsqueeze", {"end", "zero"}, {"end1"});
  sub_node(body, "Slice", {"table", "start1", "end1"}, {"row"});
  sub_node(body, "Add", {"s_in", "row"}, {"s_out"});
  sub_output(body, "c_out");
  sub_output(body, "s_out");
  sub_output(body, "row");
  b.output_untyped("s");
  b.output_untyped("rows");
  auto out = run_on_ref(b, {{"s0", f32({1}, {100})}});
  EXPECT_EQ(values(out.at("s")), (std::vector<float>{118}));
  EXPECT_EQ(values(out.at("rows")), (std::vector<float>{5, 6, 7}));
}

TEST(Loop, NestedIfReadsTwoScopesOut) {
  // Each iteration: s += (i < 1 ? x : -x), with x read by the If's branches from the model's graph.
  ModelBuilder b(13);
  b.input("s0", TP::FLOAT, {2});
  b.input("x", TP::FLOAT, {2});
  b.initializer(tensor_i64("M", {}, {3}));
  b.initializer(tensor_i64("one", {}, {1}));
  auto* n = b.node("Loop", {"M", "", "s0"}, {"s"}, "loop");
  auto* body = subgraph(n, "body");
  sub_input(body, "i", TP::INT64, {});
  sub_input(body, "c_in", TP::BOOL, {});
  sub_input(body, "s_in", TP::FLOAT, {2});
  sub_node(body, "Identity", {"c_in"}, {"c_out"});
  sub_node(body, "Less", {"i", "one"}, {"first"});
  auto* iff = sub_node(body, "If", {"first"}, {"step"});
  auto* t = subgraph(iff, "then_branch");
  sub_node(t, "Identity", {"x"}, {"t_out"});
  sub_output(t, "t_out");
  auto* e = subgraph(iff, "else_branch");
  sub_node(e, "Neg", {"x"}, {"e_out"});
  sub_output(e, "e_out");
  sub_node(body, "Add", {"s_in", "step"}, {"s_out"});
  sub_output(body, "c_out");
  sub_output(body, "s_out");
  b.output_untyped("s");
  auto out = run_on_ref(b, {{"s0", f32({2}, {0, 0})}, {"x", f32({2}, {1, 2})}});
  EXPECT_EQ(values(out.at("s")), (std::vector<float>{-1, -2}));  // x - x - x
}

// Scan (opset 11) over axis 1 of x [2, 3], reversed; state: the running sum [2]; scan output
// stacked along axis 1 in forward order.
TEST(Scan, AxesAndDirections) {
  ModelBuilder b(11);
  b.input("init", TP::FLOAT, {2});
  b.input("x", TP::FLOAT, {2, 3});
  auto* n = b.node("Scan", {"init", "x"}, {"sum", "partial"}, "scan");
  attr_i(n, "num_scan_inputs", 1);
  attr_ints(n, "scan_input_axes", {1});
  attr_ints(n, "scan_input_directions", {1});
  attr_ints(n, "scan_output_axes", {-1});
  auto* body = subgraph(n, "body");
  sub_input(body, "acc", TP::FLOAT, {2});
  sub_input(body, "col", TP::FLOAT, {2});
  sub_node(body, "Add", {"acc", "col"}, {"acc_out"});
  sub_node(body, "Identity", {"acc_out"}, {"scan_out"});
  sub_output(body, "acc_out");
  sub_output(body, "scan_out");
  b.output_untyped("sum");
  b.output_untyped("partial");
  auto out = run_on_ref(b, {{"init", f32({2}, {0, 100})}, {"x", f32({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(values(out.at("sum")), (std::vector<float>{6, 115}));
  EXPECT_EQ(out.at("partial").shape(), (Shape{2, 3}));
  // Reverse order: columns 2, 1, 0 -> partial sums 3, 5, 6 and 106, 111, 115.
  EXPECT_EQ(values(out.at("partial")), (std::vector<float>{3, 5, 6, 106, 111, 115}));
}

TEST(Scan, ReversedOutput) {
  ModelBuilder b(11);
  b.input("init", TP::FLOAT, {1});
  b.input("x", TP::FLOAT, {3, 1});
  auto* n = b.node("Scan", {"init", "x"}, {"sum", "partial"}, "scan");
  attr_i(n, "num_scan_inputs", 1);
  attr_ints(n, "scan_output_directions", {1});
  auto* body = subgraph(n, "body");
  sub_input(body, "acc", TP::FLOAT, {1});
  sub_input(body, "row", TP::FLOAT, {1});
  sub_node(body, "Add", {"acc", "row"}, {"acc_out"});
  sub_node(body, "Identity", {"acc_out"}, {"scan_out"});
  sub_output(body, "acc_out");
  sub_output(body, "scan_out");
  b.output_untyped("sum");
  b.output_untyped("partial");
  auto out = run_on_ref(b, {{"init", f32({1}, {0})}, {"x", f32({3, 1}, {1, 2, 3})}});
  EXPECT_EQ(values(out.at("partial")), (std::vector<float>{6, 3, 1}));
}

// Opset 8: batch axis 0, the scan axis 1; sequence_lens must be the full length.
ModelBuilder scan8_model() {
  ModelBuilder b(8);
  b.input("lens", TP::INT64, {2});
  b.input("init", TP::FLOAT, {2, 1});
  b.input("x", TP::FLOAT, {2, 3, 1});
  auto* n = b.node("Scan", {"lens", "init", "x"}, {"sum", "partial"}, "scan");
  attr_i(n, "num_scan_inputs", 1);
  attr_ints(n, "directions", {1});
  auto* body = subgraph(n, "body");
  sub_input(body, "acc", TP::FLOAT, {1});
  sub_input(body, "row", TP::FLOAT, {1});
  sub_node(body, "Add", {"acc", "row"}, {"acc_out"});
  sub_node(body, "Identity", {"acc_out"}, {"scan_out"});
  sub_output(body, "acc_out");
  sub_output(body, "scan_out");
  b.output_untyped("sum");
  b.output_untyped("partial");
  return b;
}

TEST(Scan, Opset8BatchAxis) {
  CompiledModel cm = compile_on_ref(scan8_model());
  Session s = cm.create_session();
  Tensor lens(DType::s64, {2});
  lens.data_as<int64_t>()[0] = lens.data_as<int64_t>()[1] = 3;
  auto out = s.run({{"lens", lens}, {"init", f32({2, 1}, {0, 100})}, {"x", f32({2, 3, 1}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(values(out.at("sum")), (std::vector<float>{6, 115}));
  EXPECT_EQ(out.at("partial").shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(values(out.at("partial")), (std::vector<float>{3, 5, 6, 106, 111, 115}));
  lens.data_as<int64_t>()[1] = 2;
  try {
    s.run({{"lens", lens}, {"init", f32({2, 1}, {0, 100})}, {"x", f32({2, 3, 1}, {1, 2, 3, 4, 5, 6})}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("full length"), std::string::npos) << e.what();
  }
}

TEST(Scan, BadDirection) {
  ModelBuilder b(11);
  b.input("init", TP::FLOAT, {1});
  b.input("x", TP::FLOAT, {3, 1});
  auto* n = b.node("Scan", {"init", "x"}, {"sum"}, "scan");
  attr_i(n, "num_scan_inputs", 1);
  attr_ints(n, "scan_input_directions", {2});
  auto* body = subgraph(n, "body");
  sub_input(body, "acc", TP::FLOAT, {1});
  sub_input(body, "row", TP::FLOAT, {1});
  sub_node(body, "Add", {"acc", "row"}, {"acc_out"});
  sub_output(body, "acc_out");
  b.output_untyped("sum");
  EXPECT_NE(compile_error_on_ref(b).find("direction must be 0 or 1"), std::string::npos) << compile_error_on_ref(b);
}

}  // namespace
}  // namespace octet::testing
