// The wire-format scanner that keeps initializer bytes out of protobuf (initializer_scan.h),
// and the loader paths built on it: file-backed initializers read at compile, buffers copied.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "frontend/model_builder.h"
#include "octet/frontend/initializer_scan.h"

namespace octet::testing {
namespace {

using frontend::ScannedModel;
using frontend::scan_initializers;

ScannedModel scan(const std::string& bytes) {
  return scan_initializers(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "m.onnx");
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

std::string span_bytes(const std::string& bytes, const frontend::RawDataSpan& s) {
  return bytes.substr(static_cast<size_t>(s.offset), static_cast<size_t>(s.size));
}

// x -> Add(x, b) -> Mul(., w) with a Constant node feeding a second Add.
ModelBuilder model_with_weights() {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2, 3});
  b.initializer(tensor_f32("b", {2, 3}, {1, 2, 3, 4, 5, 6}));
  b.initializer(tensor_f32("w", {3}, {0.5f, -1, 2}, /*raw=*/false));
  b.node("Add", {"x", "b"}, {"s"});
  b.node("Mul", {"s", "w"}, {"m"});
  attr_t(b.node("Constant", {}, {"c"}), "value", tensor_f32("c", {3}, {7, 8, 9}));
  b.node("Add", {"m", "c"}, {"y"});
  b.output("y", TP::FLOAT, {2, 3});
  return b;
}

TEST(InitializerScan, NoInitializersLeavesTheBytesAlone) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {2});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", TP::FLOAT, {2});
  const std::string bytes = b.bytes();
  const ScannedModel s = scan(bytes);
  EXPECT_TRUE(s.raw_data.empty());
  EXPECT_EQ(s.pruned, bytes);  // protobuf writes minimal varints; the scanner re-encodes the same
}

TEST(InitializerScan, FindsRawDataAndPrunesOnlyIt) {
  const std::string bytes = model_with_weights().bytes();
  const ScannedModel s = scan(bytes);
  ASSERT_EQ(s.raw_data.size(), 2u);
  ASSERT_TRUE(s.raw_data[0].present);
  const float b[6] = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(span_bytes(bytes, s.raw_data[0]), std::string(reinterpret_cast<const char*>(b), sizeof(b)));
  EXPECT_FALSE(s.raw_data[1].present);  // float_data: left to protobuf
  EXPECT_LT(s.pruned.size(), bytes.size());

  onnx::ModelProto pruned = parse(s.pruned), original = parse(bytes);
  ASSERT_EQ(pruned.graph().initializer_size(), 2);
  EXPECT_FALSE(pruned.graph().initializer(0).has_raw_data());
  EXPECT_EQ(pruned.graph().initializer(0).name(), "b");
  EXPECT_EQ(pruned.graph().initializer(1).float_data_size(), 3);
  // Everything but the payload is as it was: put it back and the messages are equal.
  pruned.mutable_graph()->mutable_initializer(0)->set_raw_data(span_bytes(bytes, s.raw_data[0]));
  EXPECT_EQ(pruned.SerializeAsString(), original.SerializeAsString());
  // The Constant node's tensor is not an initializer: its raw_data stays in the pruned bytes.
  bool found = false;
  for (const auto& n : pruned.graph().node())
    if (n.op_type() == "Constant") found = n.attribute(0).t().raw_data().size() == 12;
  EXPECT_TRUE(found);
}

TEST(InitializerScan, ExternalDataInitializerHasNoSpan) {
  ModelBuilder b;
  b.initializer(tensor_external("w", TP::FLOAT, {4}, "w.bin"));
  b.node("Identity", {"w"}, {"y"});
  b.output("y", TP::FLOAT, {4});
  const ScannedModel s = scan(b.bytes());
  ASSERT_EQ(s.raw_data.size(), 1u);
  EXPECT_FALSE(s.raw_data[0].present);
  EXPECT_EQ(parse(s.pruned).graph().initializer(0).external_data(0).value(), "w.bin");
}

// Protobuf keeps the last of a repeated scalar field and appends repeated fields of messages
// that appear twice; the scanner must agree, or the spans would belong to other tensors.
TEST(InitializerScan, AgreesWithProtobufOnRepeatedFields) {
  ModelBuilder b = model_with_weights();
  std::string bytes = b.bytes();
  // A second raw_data on the first initializer: field 9, length 4.
  onnx::TensorProto twice = tensor_f32("b", {1}, {42});
  std::string t = twice.SerializeAsString() + std::string("\x4A\x04", 2) + std::string("\x00\x00\x80\x3F", 4);
  std::string g2;
  g2 += '\x2A';  // GraphProto.initializer, length-delimited
  g2 += static_cast<char>(t.size());
  g2 += t;
  bytes += '\x3A';  // a second ModelProto.graph: merged into the first
  bytes += static_cast<char>(g2.size());
  bytes += g2;
  const ScannedModel s = scan(bytes);
  onnx::ModelProto original = parse(bytes);
  ASSERT_EQ(original.graph().initializer_size(), 3);
  ASSERT_EQ(s.raw_data.size(), 3u);
  EXPECT_EQ(span_bytes(bytes, s.raw_data[2]), original.graph().initializer(2).raw_data());
  EXPECT_EQ(parse(s.pruned).graph().initializer_size(), 3);
}

TEST(InitializerScan, EveryTruncationIsAnErrorOrAValidPrefix) {
  const std::string bytes = model_with_weights().bytes();
  int errors = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::string cut = bytes.substr(0, n);  // its own allocation: ASan sees any overrun
    try {
      const ScannedModel s = scan(cut);
      for (const auto& r : s.raw_data) EXPECT_LE(r.offset + r.size, n);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("m.onnx: not a valid ONNX model"), std::string::npos) << e.what();
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  // A cut inside a length-delimited field (the last one, opset_import) is always an error.
  EXPECT_THROW(scan(bytes.substr(0, bytes.size() - 1)), Error);
}

TEST(InitializerScan, LyingLengthsAndBadTagsAreErrors) {
  auto expect = [](const std::string& bytes, const std::string& why) {
    EXPECT_OCTET_ERROR(scan(bytes), why);
  };
  // graph claiming 2^35 bytes
  expect(std::string("\x3A\x80\x80\x80\x80\x80\x01", 7), "claims 34359738368 bytes");
  // initializer longer than the graph holding it (the file itself is long enough)
  expect(std::string("\x3A\x02\x2A\x05") + std::string(16, '\0'), "field 5 claims 5 bytes but its message has 0 left");
  // raw_data longer than its tensor
  expect(std::string("\x3A\x04\x2A\x02\x4A\x09", 6) + std::string(16, 'x'), "claims 9 bytes");
  expect(std::string("\x3A", 1), "truncated varint");
  expect(std::string(11, '\xFF'), "varint longer than 10 bytes");
  expect(std::string("\x00\x01", 2), "field number 0");
  expect(std::string("\x0B\x0C", 2), "groups are not supported");
  expect(std::string("\x0E", 1), "invalid wire type 6");
  expect(std::string("\x09\x01\x02", 3), "truncated fixed64");
  expect(std::string("\x0D\x01", 2), "truncated fixed32");
  expect(std::string("\x80\x80\x80\x80\x80\x01", 6), "field tag over 32 bits");
}

TEST(InitializerScan, FileInitializersStayInTheFileUntilCompile) {
  TempDir dir;
  ModelBuilder b = model_with_weights();
  b.save(dir.file("m.onnx"));
  auto g = frontend::load_onnx_file(dir.file("m.onnx"), detail::registry_has_op);
  const detail::Value& v = value_named(*g, "b");
  EXPECT_TRUE(v.file != nullptr);
  EXPECT_TRUE(v.data.empty());
  EXPECT_EQ(const_values<float>(*g, g->find_value("b")), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  g->load_file_constants();
  EXPECT_FALSE(value_named(*g, "b").data.empty());
  // Unchanged, it can go back to the file; changed, it stays.
  detail::Graph copy = *g;
  copy.release_constants_equal_to_file();
  EXPECT_TRUE(value_named(copy, "b").only_in_file());
  copy.load_file_constants();
  copy.values[copy.find_value("b")].data = value_named(copy, "b").data.clone();
  copy.values[copy.find_value("b")].data.data_as<float>()[5] = 60;
  copy.release_constants_equal_to_file();
  EXPECT_EQ(const_values<float>(copy, copy.find_value("b")), (std::vector<float>{1, 2, 3, 4, 5, 60}));
  // A buffer may be freed after the load: its initializers are copied.
  auto gb = b.load();
  EXPECT_TRUE(value_named(*gb, "b").file == nullptr);
  EXPECT_EQ(const_values<float>(*gb, gb->find_value("b")), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(InitializerScan, FileTruncatedAfterLoadIsAnErrorAtCompile) {
  TempDir dir;
  model_with_weights().save(dir.file("m.onnx"));
  Model m = Model::load(dir.file("m.onnx"));
  ASSERT_EQ(::truncate(dir.file("m.onnx").c_str(), 10), 0);
  EXPECT_OCTET_ERROR(CompiledModel::compile(m), "shorter than when it was loaded");
}

// The same model from a file (weights read at compile) and from a buffer (copied at load)
// compiles to the same program: outputs equal bit for bit, on the best ISA and on ref.
TEST(InitializerScan, FileAndBufferLoadsGiveBitIdenticalOutputs) {
  TempDir dir;
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 3, 8, 8});
  std::vector<float> w(8 * 3 * 3 * 3), bias(8);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 37) % 19) / 7.0f - 1.3f;
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.1f * static_cast<float>(i) - 0.35f;
  b.initializer(tensor_f32("w", {8, 3, 3, 3}, w));
  b.initializer(tensor_f32("bias", {8}, bias));
  auto* conv = b.node("Conv", {"x", "w", "bias"}, {"c"});
  attr_ints(conv, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"});
  b.node("Add", {"r", "c"}, {"y"});
  b.output("y", TP::FLOAT, {1, 8, 8, 8});
  b.save(dir.file("m.onnx"));
  const std::string bytes = b.bytes();
  Tensor x(DType::f32, {1, 3, 8, 8});
  for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = static_cast<float>((i * 13) % 29) / 9.0f - 1.5f;
  for (const char* isa : {"ref", "auto"}) {
    CompileOptions opt;
    opt.isa = isa;
    opt.threads = 1;
    Model from_file = Model::load(dir.file("m.onnx"));
    Model from_buffer = Model::load_from_buffer(bytes.data(), bytes.size());
    Session sf = CompiledModel::compile(from_file, opt).create_session();
    Session sb = CompiledModel::compile(from_buffer, opt).create_session();
    const Tensor yf = sf.run({{"x", x}}).at("y"), yb = sb.run({{"x", x}}).at("y");
    ASSERT_EQ(yf.nbytes(), yb.nbytes());
    EXPECT_EQ(std::memcmp(yf.data(), yb.data(), yf.nbytes()), 0) << isa;
    // And the Model still compiles after a compile (it kept the file, not used-up copies).
    EXPECT_NO_THROW(CompiledModel::compile(from_file, opt));
  }
}

}  // namespace
}  // namespace octet::testing
