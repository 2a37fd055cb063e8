// End to end through the engine: rewritten old-opset nodes compute what the old op meant.
#include <gtest/gtest.h>

#include "frontend/model_builder.h"

namespace octet::testing {
namespace {

Tensor f32(Shape shape, std::vector<float> v) {
  Tensor t(DType::f32, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  for (size_t i = 0; i < v.size(); ++i) t.data_as<float>()[i] = v[i];
  return t;
}

std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data_as<float>(), t.data_as<float>() + t.numel());
}

std::map<std::string, Tensor> run(const ModelBuilder& b, const std::map<std::string, Tensor>& inputs,
                                  const std::string& base_dir = "") {
  const std::string bytes = b.bytes();
  Model m = Model::load_from_buffer(bytes.data(), bytes.size(), base_dir);
  CompileOptions opt;
  opt.isa = "ref";
  opt.threads = 1;
  CompiledModel cm = CompiledModel::compile(m, opt);
  Session s = cm.create_session();
  return s.run(inputs);
}

TEST(FrontendRun, Clip6) {
  ModelBuilder b(6);
  b.input("x", TP::FLOAT, {4});
  auto* n = b.node("Clip", {"x"}, {"y"});
  attr_f(n, "min", -1.f);
  attr_f(n, "max", 2.f);
  b.output("y", TP::FLOAT, {4});
  auto out = run(b, {{"x", f32({4}, {-3, 0.5f, 5, 2})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{-1, 0.5f, 2, 2}));
}

TEST(FrontendRun, Upsample9Nearest) {
  ModelBuilder b(9);
  b.input("x", TP::FLOAT, {1, 1, 2, 2});
  b.initializer(tensor_f32("scales", {4}, {1, 1, 2, 2}));
  attr_s(b.node("Upsample", {"x", "scales"}, {"y"}), "mode", "nearest");
  b.output("y", TP::FLOAT, {1, 1, 4, 4});
  auto out = run(b, {{"x", f32({1, 1, 2, 2}, {1, 2, 3, 4})}});
  EXPECT_EQ(out.at("y").shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(FrontendRun, Pad2AndSlice9) {
  ModelBuilder b(9);
  b.input("x", TP::FLOAT, {1, 2});
  auto* pad = b.node("Pad", {"x"}, {"p"});
  attr_ints(pad, "pads", {0, 1, 0, 2});
  attr_f(pad, "value", 7.f);
  auto* slice = b.node("Slice", {"p"}, {"y"});
  attr_ints(slice, "starts", {1});
  attr_ints(slice, "ends", {4});
  attr_ints(slice, "axes", {1});
  b.output("y", TP::FLOAT, {1, 3});
  auto out = run(b, {{"x", f32({1, 2}, {1, 2})}});  // pad -> [7,1,2,7,7], slice [1:4]
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, 2, 7}));
}

TEST(FrontendRun, Legacy6BroadcastAxis) {
  ModelBuilder b(6);
  b.input("a", TP::FLOAT, {2, 3});
  b.input("c", TP::FLOAT, {2});
  auto* add = b.node("Add", {"a", "c"}, {"y"});
  attr_i(add, "broadcast", 1);
  attr_i(add, "axis", 0);
  b.output("y", TP::FLOAT, {2, 3});
  auto out = run(b, {{"a", f32({2, 3}, {0, 0, 0, 1, 1, 1})}, {"c", f32({2}, {10, 20})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{10, 10, 10, 21, 21, 21}));
}

TEST(FrontendRun, ReduceMean13AndSqueeze11) {
  ModelBuilder b(11);
  b.input("x", TP::FLOAT, {2, 2});
  auto* r = b.node("ReduceMean", {"x"}, {"m"});
  attr_ints(r, "axes", {1});
  attr_i(r, "keepdims", 1);
  attr_ints(b.node("Squeeze", {"m"}, {"y"}), "axes", {1});
  b.output("y", TP::FLOAT, {2});
  auto out = run(b, {{"x", f32({2, 2}, {1, 3, 5, 9})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{2, 7}));
}

TEST(FrontendRun, ExternalDataAndOldIrInputs) {
  TempDir dir;
  const float w[3] = {0.5f, -1, 2};
  dir.write("w.bin", w, sizeof(w));
  ModelBuilder b(8, 3);
  b.input("x", TP::FLOAT, {3});
  b.input("w", TP::FLOAT, {3});  // old IR: the initializer is listed as an input too
  b.initializer(tensor_external("w", TP::FLOAT, {3}, "w.bin"));
  b.node("Mul", {"x", "w"}, {"y"});
  b.output("y", TP::FLOAT, {3});
  b.save(dir.file("m.onnx"));
  Model m = Model::load(dir.file("m.onnx"));
  ASSERT_EQ(m.inputs().size(), 1u);
  CompiledModel cm = CompiledModel::compile(m);
  Session s = cm.create_session();
  auto out = s.run({{"x", f32({3}, {2, 2, 2})}});
  EXPECT_EQ(values(out.at("y")), (std::vector<float>{1, -2, 4}));
}

}  // namespace
}  // namespace octet::testing
