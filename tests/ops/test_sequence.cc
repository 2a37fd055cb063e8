// Sequence ops over static sequences (element shapes known at compile time), between tensor
// inputs and outputs: construct / insert / erase / at / length, split and concatenate, and
// what is refused (sequences at graph outputs, tensor ops on sequences, run-time positions
// over elements of different shapes).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/model_builder.h"
#include "ops/ref_model_run.h"
#include "ops/float_tensors.h"

namespace octet::testing {
namespace {



TEST(Sequence, SplitThenAtAndLength) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {2, 6});
  b.initializer(tensor_i64("split", {2}, {2, 4}));
  b.initializer(tensor_i64("one", {}, {1}));
  attr_i(b.node("SplitToSequence", {"x", "split"}, {"seq"}), "axis", 1);
  b.node("SequenceAt", {"seq", "one"}, {"y"});
  b.node("SequenceLength", {"seq"}, {"n"});
  b.output_untyped("y");
  b.output_untyped("n");
  auto out = run_on_ref(b, {{"x", f32({2, 6}, {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15})}});
  EXPECT_EQ(out.at("y").shape(), (Shape{2, 4}));
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{2, 3, 4, 5, 12, 13, 14, 15}));
  EXPECT_EQ(*out.at("n").data_as<int64_t>(), 2);
}

TEST(Sequence, SplitWithoutSizesSqueezes) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {3, 2});
  b.initializer(tensor_i64("last", {}, {-1}));
  attr_i(b.node("SplitToSequence", {"x"}, {"seq"}), "keepdims", 0);
  b.node("SequenceAt", {"seq", "last"}, {"y"});
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"x", f32({3, 2}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(out.at("y").shape(), (Shape{2}));
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{5, 6}));
}

TEST(Sequence, ConstructInsertEraseConcat) {
  // [a, b] -> insert c at 0 -> [c, a, b] -> erase the last -> [c, a] -> concat on axis 1.
  ModelBuilder b(13);
  b.input("a", TP::FLOAT, {2, 1});
  b.input("b", TP::FLOAT, {2, 2});
  b.input("c", TP::FLOAT, {2, 3});
  b.initializer(tensor_i64("zero", {}, {0}));
  b.node("SequenceConstruct", {"a", "b"}, {"s1"});
  b.node("SequenceInsert", {"s1", "c", "zero"}, {"s2"});
  b.node("SequenceErase", {"s2"}, {"s3"});
  attr_i(b.node("ConcatFromSequence", {"s3"}, {"y"}), "axis", 1);
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"a", f32({2, 1}, {1, 2})}, {"b", f32({2, 2}, {3, 4, 5, 6})}, {"c", f32({2, 3}, {7, 8, 9, 10, 11, 12})}});
  EXPECT_EQ(out.at("y").shape(), (Shape{2, 4}));
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{7, 8, 9, 1, 10, 11, 12, 2}));
}

TEST(Sequence, EmptyThenInsertsStacked) {
  ModelBuilder b(13);
  b.input("a", TP::FLOAT, {2});
  b.input("b", TP::FLOAT, {2});
  b.node("SequenceEmpty", {}, {"s0"});
  b.node("SequenceInsert", {"s0", "a"}, {"s1"});
  b.node("SequenceInsert", {"s1", "b"}, {"s2"});
  auto* n = b.node("ConcatFromSequence", {"s2"}, {"y"});
  attr_i(n, "axis", -1);
  attr_i(n, "new_axis", 1);
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"a", f32({2}, {1, 2})}, {"b", f32({2}, {3, 4})}});
  EXPECT_EQ(out.at("y").shape(), (Shape{2, 2}));
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, 3, 2, 4}));
}

TEST(Sequence, RunTimePositionOverElementsOfOneShape) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {3, 2});
  b.input("p", TP::INT64, {});
  b.node("SplitToSequence", {"x"}, {"seq"});
  b.node("SequenceAt", {"seq", "p"}, {"y"});
  b.output_untyped("y");
  CompiledModel cm = compile_on_ref(b);
  Session s = cm.create_session();
  Tensor p(DType::s64, {});
  *p.data_as<int64_t>() = -2;
  EXPECT_EQ(values(s.run({{"x", f32({3, 2}, {1, 2, 3, 4, 5, 6})}, {"p", p}}).at("y")), (std::vector<float>{3, 4}));
  *p.data_as<int64_t>() = 3;
  EXPECT_THROW(s.run({{"x", f32({3, 2}, {1, 2, 3, 4, 5, 6})}, {"p", p}}), Error);
}

TEST(Sequence, RunTimePositionOverElementsOfDifferentShapesIsRefused) {
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {3});
  b.input("p", TP::INT64, {});
  b.initializer(tensor_i64("split", {2}, {1, 2}));
  b.node("SplitToSequence", {"x", "split"}, {"seq"});
  b.node("SequenceAt", {"seq", "p"}, {"y"});
  b.output_untyped("y");
  EXPECT_NE(compile_error_on_ref(b).find("static shapes"), std::string::npos) << compile_error_on_ref(b);
}

TEST(Sequence, Refusals) {
  {  // a tensor op reading a sequence
    ModelBuilder b(13);
    b.input("x", TP::FLOAT, {2});
    b.node("SequenceConstruct", {"x"}, {"s"});
    b.node("Relu", {"s"}, {"y"});
    b.output_untyped("y");
    EXPECT_NE(compile_error_on_ref(b).find("is a sequence; this op takes tensors"), std::string::npos) << compile_error_on_ref(b);
  }
  {  // position out of range, split sizes that do not add up
    ModelBuilder b(13);
    b.input("x", TP::FLOAT, {3});
    b.initializer(tensor_i64("five", {}, {5}));
    b.node("SplitToSequence", {"x"}, {"seq"});
    b.node("SequenceAt", {"seq", "five"}, {"y"});
    b.output_untyped("y");
    EXPECT_NE(compile_error_on_ref(b).find("outside"), std::string::npos) << compile_error_on_ref(b);
    ModelBuilder c(13);
    c.input("x", TP::FLOAT, {3});
    c.initializer(tensor_i64("split", {2}, {1, 1}));
    c.node("SplitToSequence", {"x", "split"}, {"seq"});
    c.node("ConcatFromSequence", {"seq"}, {"y"});
    c.output_untyped("y");
    EXPECT_NE(compile_error_on_ref(c).find("add up to 2"), std::string::npos) << compile_error_on_ref(c);
  }
  {  // a sequence input needs its element shapes at compile time
    ModelBuilder b(13);
    auto* in = b.graph()->add_input();
    in->set_name("s");
    in->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(TP::FLOAT);
    b.node("SequenceLength", {"s"}, {"n"});
    b.output_untyped("n");
    EXPECT_NE(compile_error_on_ref(b).find("sequence_shapes"), std::string::npos) << compile_error_on_ref(b);
  }
}

}  // namespace
}  // namespace octet::testing
