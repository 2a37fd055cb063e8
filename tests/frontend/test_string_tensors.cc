// String tensors through the frontend: TensorProto string_data (initializers, Constant nodes,
// .pb files) with its hostile forms, and a model that runs StringNormalizer on a string input.
#include <gtest/gtest.h>

#include "frontend/model_builder.h"
#include "octet/octet_c.h"

namespace octet::testing {
namespace {

TP string_proto(const std::string& name, const std::vector<int64_t>& dims, const std::vector<std::string>& v) {
  TP t;
  t.set_name(name);
  t.set_data_type(TP::STRING);
  for (int64_t d : dims) t.add_dims(d);
  for (const std::string& s : v) t.add_string_data(s);
  return t;
}

std::vector<std::string> strings_of(const Tensor& t) {
  return std::vector<std::string>(t.data_as<std::string>(), t.data_as<std::string>() + t.numel());
}

std::string write_pb(TempDir& dir, const TP& t, const std::string& file) {
  std::string bytes;
  t.SerializeToString(&bytes);
  dir.write(file, bytes.data(), bytes.size());
  return dir.file(file);
}

TEST(StringTensors, TensorPbFiles) {
  TempDir dir;
  const std::vector<std::string> words = {"x", "", "héllo", std::string("n\0ul", 4)};
  Tensor a = load_tensor_pb(write_pb(dir, string_proto("a", {2, 2}, words), "a.pb"));
  EXPECT_EQ(a.dtype(), DType::string);
  EXPECT_EQ(a.shape(), (Shape{2, 2}));
  EXPECT_EQ(strings_of(a), words);
  // save_tensor_pb writes string_data, which reads back the same.
  save_tensor_pb(a, "b", dir.file("b.pb"));
  std::string name;
  Tensor b = load_tensor_pb(dir.file("b.pb"), &name);
  EXPECT_EQ(name, "b");
  EXPECT_EQ(b.shape(), a.shape());
  EXPECT_EQ(strings_of(b), strings_of(a));
  Tensor empty = load_tensor_pb(write_pb(dir, string_proto("e", {0, 3}, {}), "e.pb"));
  EXPECT_EQ(empty.numel(), 0);
}

TEST(StringTensors, HostileTensorProtos) {
  TempDir dir;
  // The count must match the shape before anything is allocated: a huge claimed shape with
  // one string is refused, not allocated.
  EXPECT_OCTET_ERROR(load_tensor_pb(write_pb(dir, string_proto("h", {int64_t(1) << 40}, {"a"}), "h.pb")),
                     "string_data holds 1 values but string [1099511627776] needs 1099511627776");
  EXPECT_OCTET_ERROR(load_tensor_pb(write_pb(dir, string_proto("c", {3}, {"a", "b"}), "c.pb")),
                     "string_data holds 2 values but string [3] needs 3");
  EXPECT_OCTET_ERROR(load_tensor_pb(write_pb(dir, string_proto("o", {int64_t(1) << 62, 4}, {"a"}), "o.pb")),
                     "more elements than int64");
  TP raw = string_proto("r", {1}, {});
  raw.set_raw_data("abc");
  EXPECT_OCTET_ERROR(load_tensor_pb(write_pb(dir, raw, "r.pb")), "string tensors cannot be stored in raw_data");
  TP ext = string_proto("x", {1}, {"a"});
  ext.set_data_location(TP::EXTERNAL);
  auto* e = ext.add_external_data();
  e->set_key("location");
  e->set_value("x.bin");
  EXPECT_OCTET_ERROR(load_tensor_pb(write_pb(dir, ext, "x.pb")), "string tensors cannot be stored as external data");
}

TEST(StringTensors, InitializersAndConstants) {
  ModelBuilder b(10);
  b.initializer(string_proto("w", {3}, {"Monday", "tuesday", "x"}));
  auto* n = b.node("StringNormalizer", {"w"}, {"y"});
  attr_s(n, "case_change_action", "UPPER");
  auto* stop = add_attr(n, "stopwords", onnx::AttributeProto::STRINGS);
  stop->add_strings("monday");
  b.output("y", TP::STRING, {2});
  const std::string bytes = b.bytes();
  CompiledModel cm = CompiledModel::compile(Model::load_from_buffer(bytes.data(), bytes.size()));
  auto out = cm.create_session().run({});
  EXPECT_EQ(strings_of(out.at("y")), (std::vector<std::string>{"TUESDAY", "X"}));

  // A string initializer in raw_data is refused at load.
  ModelBuilder r(10);
  TP w = string_proto("w", {1}, {});
  w.set_raw_data("abc");
  r.initializer(w);
  r.node("StringNormalizer", {"w"}, {"y"});
  r.output("y", TP::STRING, {1});
  EXPECT_OCTET_ERROR(r.load(), "string tensors cannot be stored in raw_data");
}

TEST(StringTensors, StringGraphInputRuns) {
  ModelBuilder b(10);
  b.input("x", TP::STRING, {1, 3});
  auto* n = b.node("StringNormalizer", {"x"}, {"y"});
  attr_s(n, "case_change_action", "LOWER");
  b.output("y", TP::STRING, {1, 3});
  const std::string bytes = b.bytes();
  Model m = Model::load_from_buffer(bytes.data(), bytes.size());
  EXPECT_EQ(m.inputs()[0].dtype, DType::string);
  CompiledModel cm = CompiledModel::compile(m);
  Session s = cm.create_session();
  auto out = s.run({{"x", Tensor::from_strings({1, 3}, {"ABC", "ÀÉ", "q"})}});
  EXPECT_EQ(strings_of(out.at("y")), (std::vector<std::string>{"abc", "àé", "q"}));
  // Compiled files hold numeric tensors only.
  TempDir dir;
  EXPECT_OCTET_ERROR(cm.save(dir.file("m.octet")), "cannot save a compiled model with string tensors");
}

TEST(StringTensors, CApiRefusesStringModels) {
  // The C API passes tensors as flat bytes: a model with a string input is refused at load.
  ModelBuilder b(10);
  b.input("x", TP::STRING, {2});
  b.node("StringNormalizer", {"x"}, {"y"});
  b.output("y", TP::STRING, {2});
  const std::string bytes = b.bytes();
  octet_model* model = nullptr;
  octet_status* status = octet_model_load_from_buffer(bytes.data(), bytes.size(), nullptr, &model);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(octet_status_code(status), OCTET_INVALID_ARGUMENT);
  EXPECT_NE(std::string(octet_status_message(status)).find("'x' is a string tensor: the C API does not support"),
            std::string::npos)
      << octet_status_message(status);
  EXPECT_EQ(model, nullptr);
  octet_status_free(status);
}

}  // namespace
}  // namespace octet::testing
