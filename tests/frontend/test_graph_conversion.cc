// How a well-formed ModelProto becomes a Graph: values, constants, declared types,
// attributes, unsupported-op reporting.
#include <gtest/gtest.h>

#include "frontend/model_builder.h"

namespace octet::testing {
namespace {

TEST(Conversion, ValuesNodesAndAttributes) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {"batch", 3, 8, 8});
  b.initializer(tensor_f32("w", {4, 3, 3, 3}, std::vector<float>(108, 0.5f)));
  auto* conv = b.node("Conv", {"x", "w", ""}, {"c"}, "conv1");
  attr_ints(conv, "pads", {1, 1, 1, 1});
  attr_ints(conv, "strides", {1, 1});
  attr_i(conv, "group", 1);
  attr_s(conv, "auto_pad", "NOTSET");
  auto* lr = b.node("LeakyRelu", {"c"}, {"y"}, "act");
  attr_f(lr, "alpha", 0.25f);
  b.value_info("c", TP::FLOAT, {"batch", 4, 8, 8});
  b.output("y", TP::FLOAT, {"batch", 4, 8, 8});
  b.model().mutable_opset_import(0)->set_domain("ai.onnx");  // normalised to ""

  auto g = b.load();
  EXPECT_EQ(g->opset(), 13);
  EXPECT_EQ(g->ir_version, 8);
  ASSERT_EQ(g->nodes.size(), 2u);
  const detail::Node& c = g->nodes[0];
  EXPECT_EQ(c.name, "conv1");
  EXPECT_EQ(c.op_type, "Conv");
  EXPECT_EQ(c.domain, "");
  ASSERT_EQ(c.inputs.size(), 3u);
  EXPECT_EQ(c.inputs[0], g->find_value("x"));
  EXPECT_EQ(c.inputs[1], g->find_value("w"));
  EXPECT_EQ(c.inputs[2], -1);  // omitted optional input
  EXPECT_EQ(c.attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(c.attr_i("group", 0), 1);
  EXPECT_EQ(c.attr_s("auto_pad", ""), "NOTSET");
  EXPECT_FLOAT_EQ(g->nodes[1].attr_f("alpha", 0), 0.25f);

  const detail::Value& x = value_named(*g, "x");
  EXPECT_EQ(x.dtype, DType::f32);
  EXPECT_TRUE(x.shape_known);
  EXPECT_EQ(x.shape, (Shape{-1, 3, 8, 8}));
  EXPECT_EQ(x.dim_names, (std::vector<std::string>{"batch", "", "", ""}));
  EXPECT_FALSE(x.is_const);
  const detail::Value& cv = value_named(*g, "c");
  EXPECT_EQ(cv.shape, (Shape{-1, 4, 8, 8}));
  EXPECT_EQ(cv.producer, 0);
  ASSERT_EQ(g->inputs.size(), 1u);
  EXPECT_EQ(g->inputs[0], g->find_value("x"));
  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->outputs[0], g->find_value("y"));
  EXPECT_TRUE(value_named(*g, "w").is_const);
}

TEST(Conversion, NodesAreSortedAndUnnamedNodesGetNames) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2});
  b.node("Relu", {"a"}, {"y"});  // consumes a value produced by the next node
  b.node("Neg", {"x"}, {"a"});
  b.output("y", TP::FLOAT, {2});
  auto g = b.load();
  ASSERT_EQ(g->nodes.size(), 2u);
  EXPECT_EQ(g->nodes[0].op_type, "Neg");
  EXPECT_EQ(g->nodes[1].op_type, "Relu");
  EXPECT_FALSE(g->nodes[0].name.empty());
  EXPECT_NE(g->nodes[0].name, g->nodes[1].name);
}

TEST(Conversion, UnnamedUnknownInputDimsGetBindableNames) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {-1, 3});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", TP::FLOAT, {-1, 3});
  auto g = b.load();
  const detail::Value& x = value_named(*g, "x");
  EXPECT_EQ(x.shape, (Shape{-1, 3}));
  EXPECT_EQ(x.dim_names[0], "x:0");
  EXPECT_EQ(x.dim_names[1], "");
  // A declared type without shape leaves the shape unknown.
  ModelBuilder c;
  auto* in = c.graph()->add_input();
  in->set_name("x");
  set_type(in, TP::FLOAT, {}, /*with_shape=*/false);
  c.node("Relu", {"x"}, {"y"});
  c.output("y", TP::FLOAT, {});
  auto gc = c.load();
  EXPECT_FALSE(value_named(*gc, "x").shape_known);
  EXPECT_EQ(value_named(*gc, "x").dtype, DType::f32);
}

// IR < 4: initializers are listed among the graph inputs too; they stay constants.
TEST(Conversion, OldIrInitializerAsInput) {
  ModelBuilder b(8, 3);
  b.input("x", TP::FLOAT, {1, 2});
  b.input("w", TP::FLOAT, {1, 2});
  b.initializer(tensor_f32("w", {1, 2}, {3, 4}));
  b.node("Mul", {"x", "w"}, {"y"});
  b.output("y", TP::FLOAT, {1, 2});
  auto g = b.load();
  ASSERT_EQ(g->inputs.size(), 1u);
  EXPECT_EQ(g->values[g->inputs[0]].name, "x");
  EXPECT_TRUE(value_named(*g, "w").is_const);
  EXPECT_EQ(const_values<float>(*g, g->find_value("w")), (std::vector<float>{3, 4}));
  Model m(g);
  ASSERT_EQ(m.inputs().size(), 1u);
  EXPECT_EQ(m.inputs()[0].name, "x");
}

TEST(Conversion, ConstantNodesBecomeConstants) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2});
  auto* c1 = b.node("Constant", {}, {"t"}, "c1");
  attr_t(c1, "value", tensor_f32("", {2}, {1.5f, 2.5f}));
  attr_f(b.node("Constant", {}, {"f"}, "c2"), "value_float", 0.5f);
  attr_floats(b.node("Constant", {}, {"fs"}, "c3"), "value_floats", {1, 2, 3});
  attr_i(b.node("Constant", {}, {"i"}, "c4"), "value_int", -7);
  attr_ints(b.node("Constant", {}, {"is"}, "c5"), "value_ints", {4, 5});
  b.node("Add", {"x", "t"}, {"y"});
  for (const char* o : {"f", "fs", "i", "is"}) b.node("Identity", {o}, {std::string("o_") + o});
  b.output("y", TP::FLOAT, {2});
  for (const char* o : {"f", "fs", "i", "is"}) b.output_untyped(std::string("o_") + o);
  auto g = b.load();
  for (const auto& n : g->nodes) EXPECT_NE(n.op_type, "Constant");
  EXPECT_EQ(const_values<float>(*g, g->find_value("t")), (std::vector<float>{1.5f, 2.5f}));
  const detail::Value& f = value_named(*g, "f");
  EXPECT_EQ(f.dtype, DType::f32);
  EXPECT_EQ(f.shape, Shape{});
  EXPECT_EQ(const_values<float>(*g, g->find_value("f")), (std::vector<float>{0.5f}));
  EXPECT_EQ(value_named(*g, "fs").shape, (Shape{3}));
  EXPECT_EQ(const_values<int64_t>(*g, g->find_value("i")), (std::vector<int64_t>{-7}));
  EXPECT_EQ(value_named(*g, "i").dtype, DType::s64);
  EXPECT_EQ(const_values<int64_t>(*g, g->find_value("is")), (std::vector<int64_t>{4, 5}));
}

TEST(Conversion, BadConstantNodes) {
  auto with_const = [](auto set_attr) {
    ModelBuilder b;
    auto* c = b.node("Constant", {}, {"k"}, "k");
    set_attr(c);
    b.node("Identity", {"k"}, {"y"});
    b.output("y", TP::FLOAT, {});
    return b;
  };
  EXPECT_OCTET_ERROR(with_const([](onnx::NodeProto* c) {
                       auto* a = add_attr(c, "sparse_value", onnx::AttributeProto::SPARSE_TENSOR);
                       a->mutable_sparse_tensor()->mutable_values()->set_name("v");
                     }).load(),
                     "node 'k' (Constant): sparse constants are not supported");
  // A string constant loads; the Identity that takes it is refused at compile time (it does not
  // take string tensors).
  EXPECT_NO_THROW(with_const([](onnx::NodeProto* c) { attr_s(c, "value_string", "hi"); }).load());
  EXPECT_OCTET_ERROR(with_const([](onnx::NodeProto* c) {}).load(), "must have exactly one value attribute");
}

TEST(Conversion, AttributeWithoutTypeIsInferred) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2});
  auto* n = b.node("LeakyRelu", {"x"}, {"y"});
  auto* a = n->add_attribute();
  a->set_name("alpha");
  a->set_f(0.3f);  // no type: IR version 1 style
  b.output("y", TP::FLOAT, {2});
  auto g = b.load();
  EXPECT_FLOAT_EQ(g->nodes[0].attr_f("alpha", 0), 0.3f);
}

TEST(Conversion, TensorAttribute) {
  ModelBuilder b;
  b.input("x", TP::INT64, {1});
  attr_t(b.node("ConstantOfShape", {"x"}, {"y"}), "value", tensor_f32("", {1}, {2.5f}));
  b.output("y", TP::FLOAT, {-1});
  auto g = b.load();
  const detail::Attribute* a = g->nodes[0].attr("value");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->kind, detail::Attribute::Kind::tensor);
  EXPECT_EQ(a->t.dtype(), DType::f32);
  EXPECT_EQ(*a->t.data_as<float>(), 2.5f);
}

// Every unsupported op is listed in one error, with counts; subgraph ops are unsupported.
TEST(Conversion, UnsupportedOpsReportedAllAtOnce) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2});
  b.node("Relu", {"x"}, {"a"});
  b.node("FrobnicateA", {"a"}, {"b"});
  b.node("FrobnicateB", {"b"}, {"c"});
  b.node("FrobnicateB", {"c"}, {"d"});
  b.node("FrobnicateB", {"d"}, {"e"});
  b.node("Fancy", {"e"}, {"f"}, "", "com.example");
  auto* loop = b.node("Loop", {"", "", "f"}, {"y"});
  auto* body = add_attr(loop, "body", onnx::AttributeProto::GRAPH)->mutable_g();
  body->set_name("body");
  body->add_node()->set_op_type("FrobnicateC");  // ops inside subgraphs are counted too
  b.output("y", TP::FLOAT, {2});
  auto* os = b.model().add_opset_import();
  os->set_domain("com.example");
  os->set_version(1);
  try {
    b.load();
    FAIL() << "expected UnsupportedOpsError";
  } catch (const frontend::UnsupportedOpsError& e) {
    EXPECT_EQ(std::string(e.what()),
              "test.onnx: 4 unsupported op types: FrobnicateA (1), FrobnicateB (3), FrobnicateC (1), com.example.Fancy (1)");
    EXPECT_EQ(e.op_counts().size(), 4u);
    EXPECT_EQ(e.op_counts().at("FrobnicateB"), 3);
  }
  // It is an octet::Error like every other failure.
  EXPECT_OCTET_ERROR(b.load(), "unsupported op types");
}

// The unsupported-op report wins over other problems of the same model.
TEST(Conversion, UnsupportedOpsReportedBeforeOtherErrors) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2});
  b.node("NoSuchOp", {"ghost"}, {"y"});
  b.output("y", TP::FLOAT, {2});
  EXPECT_OCTET_ERROR(b.load(), "test.onnx: 1 unsupported op type: NoSuchOp (1)");
}

TEST(Conversion, ModelLoadFromFileAndBuffer) {
  TempDir dir;
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", TP::FLOAT, {2});
  b.save(dir.file("m.onnx"));
  Model m = Model::load(dir.file("m.onnx"));
  EXPECT_EQ(m.path(), dir.file("m.onnx"));
  EXPECT_EQ(m.graph()->model_dir, dir.path());
  ASSERT_EQ(m.outputs().size(), 1u);
  EXPECT_EQ(m.outputs()[0].name, "y");
  const std::string bytes = b.bytes();
  Model mb = Model::load_from_buffer(bytes.data(), bytes.size());
  EXPECT_EQ(mb.inputs().size(), 1u);
  EXPECT_EQ(mb.inputs()[0].shape, (Shape{2}));
}

}  // namespace
}  // namespace octet::testing
