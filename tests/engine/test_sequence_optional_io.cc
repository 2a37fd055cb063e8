// Sequences and optionals at the graph boundary: declared types on Model / CompiledModel,
// CompileOptions::sequence_shapes and empty_optional_inputs, Session::run_values, the
// refusals, and load_sequence_pb / load_optional_pb.
#include <gtest/gtest.h>
#include <onnx/onnx-data_pb.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "frontend/model_builder.h"
#include "ops/float_tensors.h"

namespace octet::testing {
namespace {


// Wraps a declared tensor type into seq(...) / optional(...).
void wrap_sequence(onnx::ValueInfoProto* vi) {
  const onnx::TypeProto t = vi->type();
  *vi->mutable_type()->mutable_sequence_type()->mutable_elem_type() = t;
}
void wrap_optional(onnx::ValueInfoProto* vi) {
  const onnx::TypeProto t = vi->type();
  *vi->mutable_type()->mutable_optional_type()->mutable_elem_type() = t;
}

Model load(const ModelBuilder& b) {
  const std::string bytes = b.bytes();
  return Model::load_from_buffer(bytes.data(), bytes.size(), "");
}
CompiledModel compile(const ModelBuilder& b, CompileOptions opt) {
  opt.isa = "ref";
  opt.threads = 1;
  return CompiledModel::compile(load(b), opt);
}

// seq(float[N]) x, float[3] t -> SequenceInsert(x, t) -> seq y.
ModelBuilder insert_model() {
  ModelBuilder b(16);
  wrap_sequence(b.input("x", TP::FLOAT, {"N"}));
  b.input("t", TP::FLOAT, {3});
  b.node("SequenceInsert", {"x", "t"}, {"y"});
  wrap_sequence(b.output("y", TP::FLOAT, {"M"}));
  return b;
}

TEST(SequenceIo, DeclaredTypesAndRun) {
  const ModelBuilder b = insert_model();
  const Model m = load(b);
  ASSERT_EQ(m.inputs().size(), 2u);
  EXPECT_TRUE(m.inputs()[0].is_sequence);
  EXPECT_EQ(m.inputs()[0].dtype, DType::f32);
  EXPECT_EQ(m.inputs()[0].shape, (Shape{-1}));  // the declared element shape
  EXPECT_FALSE(m.inputs()[1].is_sequence);
  EXPECT_TRUE(m.outputs()[0].is_sequence);

  CompileOptions opt;
  opt.sequence_shapes["x"] = {{2}, {1}};
  CompiledModel cm = compile(b, opt);
  EXPECT_EQ(cm.inputs()[0].element_shapes, (std::vector<Shape>{{2}, {1}}));
  EXPECT_EQ(cm.outputs()[0].element_shapes, (std::vector<Shape>{{2}, {1}, {3}}));
  Session s = cm.create_session();
  auto out = s.run_values({{"x", Value::sequence({f32({2}, {1, 2}), f32({1}, {3})})}, {"t", f32({3}, {4, 5, 6})}});
  ASSERT_TRUE(out.at("y").is_sequence());
  const auto& e = out.at("y").elements();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(values(e[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(values(e[1]), (std::vector<float>{3}));
  EXPECT_EQ(values(e[2]), (std::vector<float>{4, 5, 6}));
}

TEST(SequenceIo, EmptySequenceInput) {
  CompileOptions opt;
  opt.sequence_shapes["x"] = {};
  Session s = compile(insert_model(), opt).create_session();
  auto out = s.run_values({{"x", Value::sequence({})}, {"t", f32({3}, {1, 2, 3})}});
  ASSERT_EQ(out.at("y").elements().size(), 1u);
  EXPECT_EQ(values(out.at("y").elements()[0]), (std::vector<float>{1, 2, 3}));
}

TEST(SequenceIo, Refusals) {
  const ModelBuilder b = insert_model();
  EXPECT_OCTET_ERROR(compile(b, {}), "CompileOptions::sequence_shapes");
  CompileOptions rank;
  rank.sequence_shapes["x"] = {{2, 2}};
  EXPECT_OCTET_ERROR(compile(b, rank), "the model declares");
  CompileOptions negative;
  negative.sequence_shapes["x"] = {{-2}};
  EXPECT_OCTET_ERROR(compile(b, negative), "negative dimension");
  CompileOptions wrong_name;
  wrong_name.sequence_shapes["t"] = {{3}};
  EXPECT_OCTET_ERROR(compile(b, wrong_name), "not a sequence graph input");
  CompileOptions not_optional;
  not_optional.sequence_shapes["x"] = {{2}};
  not_optional.empty_optional_inputs = {"t"};
  EXPECT_OCTET_ERROR(compile(b, not_optional), "not an optional graph input");

  CompileOptions opt;
  opt.sequence_shapes["x"] = {{2}};
  Session s = compile(b, opt).create_session();
  const Tensor t = f32({3}, {1, 2, 3});
  EXPECT_OCTET_ERROR(s.run({{"x", f32({2}, {1, 2})}, {"t", t}}), "use Session::run_values");
  EXPECT_OCTET_ERROR(s.run_values({{"x", Value::sequence({f32({2}, {1, 2}), f32({2}, {1, 2})})}, {"t", t}}),
                     "has 2 elements but the model was compiled for 1");
  EXPECT_OCTET_ERROR(s.run_values({{"x", Value::sequence({f32({3}, {1, 2, 3})})}, {"t", t}}),
                     "element 0 is f32 [3] but the model was compiled for f32 [2]");
  EXPECT_OCTET_ERROR(s.run_values({{"x", f32({2}, {1, 2})}, {"t", t}}), "it needs a sequence");
  EXPECT_OCTET_ERROR(s.run_values({{"x", Value::sequence({f32({2}, {1, 2})})}, {"t", Value::none()}}),
                     "it needs a tensor");
  EXPECT_OCTET_ERROR(s.run_values({{"x", Value::sequence({f32({2}, {1, 2})})}}), "missing input 't'");
  EXPECT_OCTET_ERROR(Value::none().tensor(), "Value::tensor() on none");
  EXPECT_OCTET_ERROR(Value(t).elements(), "Value::elements() on a tensor");
}

// optional(int32 []) x -> OptionalHasElement; Identity passes the optional through.
ModelBuilder has_element_model() {
  ModelBuilder b(15);
  wrap_optional(b.input("x", TP::INT32, {}));
  b.node("OptionalHasElement", {"x"}, {"has"});
  b.node("Identity", {"x"}, {"same"});
  b.output("has", TP::BOOL, {});
  wrap_optional(b.output("same", TP::INT32, {}));
  return b;
}

TEST(OptionalIo, EmptyAndHoldingInputs) {
  const ModelBuilder b = has_element_model();
  EXPECT_TRUE(load(b).inputs()[0].is_optional);

  CompileOptions empty;
  empty.empty_optional_inputs = {"x"};
  CompiledModel cm = compile(b, empty);
  EXPECT_TRUE(cm.outputs()[1].is_none);
  Session s = cm.create_session();
  for (const auto& feeds : {std::map<std::string, Value>{{"x", Value::none()}}, std::map<std::string, Value>{}}) {
    auto out = s.run_values(feeds);
    EXPECT_FALSE(*out.at("has").tensor().data_as<bool>());
    EXPECT_TRUE(out.at("same").is_none());
  }
  Tensor seven(DType::s32, {});
  *seven.data_as<int32_t>() = 7;
  EXPECT_OCTET_ERROR(s.run_values({{"x", seven}}), "was compiled empty; it takes none");
  EXPECT_OCTET_ERROR(s.run({}), "use Session::run_values");

  Session holding = compile(b, {}).create_session();  // not named empty: it holds a tensor
  auto out = holding.run_values({{"x", seven}});
  EXPECT_TRUE(*out.at("has").tensor().data_as<bool>());
  EXPECT_EQ(*out.at("same").tensor().data_as<int32_t>(), 7);
}

TEST(OptionalIo, EmptyOptionalFromTypeAttributeAndRefusals) {
  {  // Optional without input, typed by its attribute: an empty optional output
    ModelBuilder b(15);
    b.input("x", TP::FLOAT, {2});
    onnx::NodeProto* n = b.node("Optional", {}, {"o"});
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("type");
    a->set_type(onnx::AttributeProto::TYPE_PROTO);
    a->mutable_tp()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(TP::FLOAT);
    b.node("OptionalHasElement", {"o"}, {"has"});
    b.node("Identity", {"x"}, {"y"});
    b.output_untyped("o");
    b.output_untyped("has");
    b.output_untyped("y");
    CompiledModel cm = compile(b, {});
    auto out = cm.create_session().run_values({{"x", f32({2}, {1, 2})}});
    EXPECT_TRUE(out.at("o").is_none());
    EXPECT_FALSE(*out.at("has").tensor().data_as<bool>());
    EXPECT_EQ(values(out.at("y").tensor()), (std::vector<float>{1, 2}));
  }
  {  // an empty optional cannot feed an op that computes on tensors
    ModelBuilder b(15);
    wrap_optional(b.input("x", TP::FLOAT, {2}));
    b.input("z", TP::FLOAT, {2});
    b.node("Add", {"x", "z"}, {"y"});
    b.output_untyped("y");
    CompileOptions empty;
    empty.empty_optional_inputs = {"x"};
    EXPECT_OCTET_ERROR(compile(b, empty), "is an empty optional");
  }
  {  // a sequence in a map is refused by the frontend with its reason
    ModelBuilder b(15);
    auto* vi = b.input("x", TP::FLOAT, {2});
    vi->mutable_type()->mutable_map_type()->set_key_type(TP::INT64);
    b.node("Identity", {"x"}, {"y"});
    b.output_untyped("y");
    EXPECT_OCTET_ERROR(load(b), "map, sparse and nested sequence types are not");
  }
}

std::string write_temp(const std::string& bytes) {
  char path[] = "/tmp/octet_value_pb_XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
  return path;
}

TEST(ValuePb, SequenceAndOptionalFiles) {
  onnx::SequenceProto sp;
  sp.set_name("s");
  sp.set_elem_type(onnx::SequenceProto::TENSOR);
  for (int n : {1, 2}) {
    onnx::TensorProto* t = sp.add_tensor_values();
    t->set_data_type(TP::FLOAT);
    t->add_dims(n);
    for (int i = 0; i < n; ++i) t->add_float_data(static_cast<float>(10 * n + i));
  }
  const std::string seq_path = write_temp(sp.SerializeAsString());
  std::string name;
  Value v = load_sequence_pb(seq_path, &name);
  EXPECT_EQ(name, "s");
  ASSERT_EQ(v.elements().size(), 2u);
  EXPECT_EQ(values(v.elements()[1]), (std::vector<float>{20, 21}));

  onnx::OptionalProto op;
  op.set_elem_type(onnx::OptionalProto::SEQUENCE);
  *op.mutable_sequence_value() = sp;
  const std::string opt_path = write_temp(op.SerializeAsString());
  EXPECT_EQ(load_optional_pb(opt_path).elements().size(), 2u);

  onnx::OptionalProto none;
  const std::string none_path = write_temp(none.SerializeAsString());
  EXPECT_TRUE(load_optional_pb(none_path).is_none());

  onnx::OptionalProto lying;
  lying.set_elem_type(onnx::OptionalProto::TENSOR);  // says tensor, holds none
  const std::string lying_path = write_temp(lying.SerializeAsString());
  EXPECT_OCTET_ERROR(load_optional_pb(lying_path), "without a tensor_value");

  const std::string bytes = sp.SerializeAsString();
  const std::string cut_path = write_temp(bytes.substr(0, bytes.size() - 3));
  EXPECT_OCTET_ERROR(load_sequence_pb(cut_path), "not a valid onnx.SequenceProto");

  onnx::SequenceProto nested;
  nested.set_elem_type(onnx::SequenceProto::SEQUENCE);
  *nested.add_sequence_values() = sp;
  const std::string nested_path = write_temp(nested.SerializeAsString());
  EXPECT_OCTET_ERROR(load_sequence_pb(nested_path), "only sequences of tensors");
  for (const std::string& p : {seq_path, opt_path, none_path, lying_path, cut_path, nested_path}) std::remove(p.c_str());
}

}  // namespace
}  // namespace octet::testing
