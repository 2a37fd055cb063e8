// Optional, OptionalHasElement and OptionalGetElement inside a graph: an optional with an element
// is that element (a tensor or a static sequence); an empty one needs its type, and
// OptionalHasElement of an absent input (opset 18) folds to false. Identity passes sequences.
// (Optionals at the graph boundary: tests/engine/test_sequence_optional_io.cc.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontend/model_builder.h"
#include "ops/float_tensors.h"
#include "ops/ref_model_run.h"

namespace octet::testing {
namespace {


TEST(Optional, WrapHasGetTensor) {
  ModelBuilder b(15);
  b.input("x", TP::FLOAT, {3});
  b.node("Optional", {"x"}, {"o"});
  b.node("OptionalHasElement", {"o"}, {"has"});
  b.node("OptionalGetElement", {"o"}, {"y"});
  b.output_untyped("has");
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"x", f32({3}, {1, -2, 3})}});
  EXPECT_EQ(out.at("has").dtype(), DType::boolean);
  EXPECT_TRUE(*out.at("has").data_as<bool>());
  EXPECT_EQ(out.at("y").shape(), (Shape{3}));
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, -2, 3}));
}

TEST(Optional, Opset18TensorInputAndAbsentInput) {
  ModelBuilder b(18);
  b.input("x", TP::FLOAT, {2});
  b.node("OptionalGetElement", {"x"}, {"y"});  // a tensor is its own element at opset 18
  b.node("OptionalHasElement", {"x"}, {"has"});
  b.node("OptionalHasElement", {""}, {"none"});
  b.output_untyped("y");
  b.output_untyped("has");
  b.output_untyped("none");
  auto out = run_on_ref(b, {{"x", f32({2}, {4, 5})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{4, 5}));
  EXPECT_TRUE(*out.at("has").data_as<bool>());
  EXPECT_FALSE(*out.at("none").data_as<bool>());
}

TEST(Optional, OfSequenceAndIdentityOfSequence) {
  ModelBuilder b(16);
  b.input("a", TP::FLOAT, {1});
  b.input("c", TP::FLOAT, {2});
  b.node("SequenceConstruct", {"a", "c"}, {"s"});
  b.node("Identity", {"s"}, {"s2"});
  b.node("Optional", {"s2"}, {"o"});
  b.node("OptionalGetElement", {"o"}, {"s3"});
  attr_i(b.node("ConcatFromSequence", {"s3"}, {"y"}), "axis", 0);
  b.output_untyped("y");
  auto out = run_on_ref(b, {{"a", f32({1}, {7})}, {"c", f32({2}, {8, 9})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{7, 8, 9}));
}

TEST(Optional, Refusals) {
  {  // an empty optional needs its element type
    ModelBuilder b(15);
    b.input("x", TP::FLOAT, {2});
    b.node("Optional", {}, {"o"});
    b.node("OptionalHasElement", {"o"}, {"has"});
    b.output_untyped("has");
    EXPECT_NE(compile_error_on_ref(b).find("needs the 'type' attribute"), std::string::npos) << compile_error_on_ref(b);
  }
  {  // nothing to get
    ModelBuilder b(18);
    b.input("x", TP::FLOAT, {2});
    b.node("OptionalGetElement", {""}, {"y"});
    b.output_untyped("y");
    EXPECT_NE(compile_error_on_ref(b).find("no element to get"), std::string::npos) << compile_error_on_ref(b);
  }
  {  // OptionalHasElement needs its input before opset 18
    ModelBuilder b(15);
    b.input("x", TP::FLOAT, {2});
    b.node("OptionalHasElement", {""}, {"has"});
    b.output_untyped("has");
    EXPECT_NE(compile_error_on_ref(b).find("before opset 18"), std::string::npos) << compile_error_on_ref(b);
  }
  {  // too many inputs
    ModelBuilder b(15);
    b.input("x", TP::FLOAT, {2});
    b.node("Optional", {"x", "x"}, {"o"});
    b.node("OptionalGetElement", {"o"}, {"y"});
    b.output_untyped("y");
    EXPECT_NE(compile_error_on_ref(b).find("at most one input"), std::string::npos) << compile_error_on_ref(b);
  }
  {  // the element of an optional sequence is still a sequence: run() refuses it
    ModelBuilder b(15);
    b.input("x", TP::FLOAT, {2});
    b.node("SequenceConstruct", {"x"}, {"s"});
    b.node("Optional", {"s"}, {"o"});
    b.node("OptionalGetElement", {"o"}, {"y"});
    b.output_untyped("y");
    EXPECT_OCTET_ERROR(run_on_ref(b, {{"x", f32({2}, {1, 2})}}), "use Session::run_values");
  }
}

}  // namespace
}  // namespace octet::testing
