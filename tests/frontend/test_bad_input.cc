// Malformed models must raise octet::Error with a useful message, never crash, and never
// allocate a size taken from unchecked input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "frontend/model_builder.h"

namespace octet::testing {
namespace {

// y = Relu(Add(x, w)), with one initializer.
ModelBuilder small_model() {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1, 4});
  b.initializer(tensor_f32("w", {1, 4}, {1, 2, 3, 4}));
  b.node("Add", {"x", "w"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"y"}, "relu");
  b.output("y", TP::FLOAT, {1, 4});
  return b;
}

std::shared_ptr<detail::Graph> load_bytes(const std::string& s) {
  return frontend::load_onnx_buffer(s.data(), s.size(), "", detail::registry_has_op, "bad.onnx");
}

TEST(BadInput, SmallModelLoads) {
  auto g = small_model().load();
  ASSERT_EQ(g->nodes.size(), 2u);
  EXPECT_EQ(g->nodes[0].op_type, "Add");
  EXPECT_EQ(g->inputs.size(), 1u);
  EXPECT_EQ(g->outputs.size(), 1u);
}

// Every strict prefix of a serialized model is rejected.
TEST(BadInput, EveryTruncationIsAnError) {
  const std::string full = small_model().bytes();
  ASSERT_NO_THROW(load_bytes(full));
  for (size_t len = 0; len < full.size(); ++len) {
    SCOPED_TRACE("prefix of " + std::to_string(len) + " bytes");
    EXPECT_OCTET_ERROR(load_bytes(full.substr(0, len)), "bad.onnx: ");
  }
}

TEST(BadInput, TruncatedFileNamesTheFile) {
  TempDir dir;
  const std::string full = small_model().bytes();
  dir.write("cut.onnx", full.data(), full.size() / 2);
  EXPECT_OCTET_ERROR(frontend::load_onnx_file(dir.file("cut.onnx"), detail::registry_has_op), dir.file("cut.onnx") + ": not a valid ONNX model");
}

TEST(BadInput, RandomBytes) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    const size_t size = 1 + rng() % 4096;
    std::string s(size, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_OCTET_ERROR(load_bytes(s), "bad.onnx: ");
  }
}

// Random byte mutations of a valid model: loading either succeeds or throws octet::Error.
TEST(BadInput, MutatedModelsNeverCrash) {
  const std::string full = small_model().bytes();
  int errors = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    std::string s = full;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) s[rng() % s.size()] = static_cast<char>(rng());
    try {
      load_bytes(s);
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(BadInput, EmptyAndMissingFiles) {
  TempDir dir;
  dir.write("empty.onnx", "", 0);
  EXPECT_OCTET_ERROR(frontend::load_onnx_file(dir.file("empty.onnx"), detail::registry_has_op), "empty.onnx: the model is empty");
  EXPECT_OCTET_ERROR(frontend::load_onnx_file(dir.file("nope.onnx"), detail::registry_has_op), "nope.onnx: cannot open model");
  EXPECT_OCTET_ERROR(frontend::load_onnx_file(dir.path(), detail::registry_has_op), "is not a regular file");
  EXPECT_OCTET_ERROR(frontend::load_onnx_buffer(nullptr, 0, "", detail::registry_has_op), "<buffer>: the model is empty");
}

// A file over protobuf's 2 GB limit is refused from its size, without being read (the file
// is sparse, so this costs no disk).
TEST(BadInput, FileOver2GB) {
  TempDir dir;
  const std::string path = dir.file("huge.onnx");
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, (off_t(1) << 31) + 100), 0);
  ::close(fd);
  EXPECT_OCTET_ERROR(frontend::load_onnx_file(path, detail::registry_has_op), "2 GB");
}

TEST(BadInput, NodeInputNobodyProduces) {
  ModelBuilder b = small_model();
  b.graph()->mutable_node(1)->set_input(0, "ghost");
  EXPECT_OCTET_ERROR(b.load(), "node 'relu' (Relu) reads 'ghost', which no node, initializer or graph input provides");
}

TEST(BadInput, Cycle) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1});
  b.node("Add", {"x", "b"}, {"a"}, "n1");
  b.node("Relu", {"a"}, {"b"}, "n2");
  b.output("b", TP::FLOAT, {1});
  EXPECT_OCTET_ERROR(b.load(), "cycle");
}

TEST(BadInput, OutputNobodyProduces) {
  ModelBuilder b = small_model();
  b.output("z", TP::FLOAT, {1});
  EXPECT_OCTET_ERROR(b.load(), "graph output 'z' is not produced");
}

TEST(BadInput, NoOutputs) {
  ModelBuilder b = small_model();
  b.graph()->clear_output();
  EXPECT_OCTET_ERROR(b.load(), "no outputs");
}

TEST(BadInput, TwoProducers) {
  ModelBuilder b = small_model();
  b.node("Relu", {"x"}, {"s"}, "again");
  EXPECT_OCTET_ERROR(b.load(), "node 'again' (Relu) writes 's', which another node also produces");
}

TEST(BadInput, NodeWritesInitializerOrInput) {
  ModelBuilder b = small_model();
  b.node("Relu", {"x"}, {"w"}, "clobber");
  EXPECT_OCTET_ERROR(b.load(), "writes 'w', which is an initializer");
  ModelBuilder c = small_model();
  c.node("Relu", {"s"}, {"x"}, "clobber");
  EXPECT_OCTET_ERROR(c.load(), "writes 'x', which is a graph input");
}

TEST(BadInput, DuplicateNames) {
  ModelBuilder b = small_model();
  b.initializer(tensor_f32("w", {1}, {1}));
  EXPECT_OCTET_ERROR(b.load(), "initializer 'w' is defined twice");
  ModelBuilder c = small_model();
  c.input("x", TP::FLOAT, {1, 4});
  EXPECT_OCTET_ERROR(c.load(), "graph input 'x' is listed twice");
}

TEST(BadInput, NegativeDims) {
  ModelBuilder b = small_model();
  TP w = tensor_f32("w", {1, 4}, {1, 2, 3, 4});
  w.set_dims(0, -1);
  *b.graph()->mutable_initializer(0) = w;
  EXPECT_OCTET_ERROR(b.load(), "test.onnx: initializer 'w': negative dimension");

  ModelBuilder c = small_model();
  c.graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(-3);
  EXPECT_OCTET_ERROR(c.load(), "graph input 'x' declares a negative dimension -3");
}

// 10^12 floats declared in a file of a few bytes: refused before anything is allocated.
TEST(BadInput, AbsurdDims) {
  ModelBuilder b = small_model();
  TP w = tensor_f32("w", {1, 4}, {1, 2, 3, 4});
  w.set_dims(0, 1000000);
  w.set_dims(1, 1000000);
  *b.graph()->mutable_initializer(0) = w;
  EXPECT_OCTET_ERROR(b.load(), "raw_data holds 16 bytes but f32 [1000000,1000000] needs 4000000000000");

  w.clear_raw_data();
  w.add_float_data(1);
  *b.graph()->mutable_initializer(0) = w;
  EXPECT_OCTET_ERROR(b.load(), "float_data holds 1 values");

  w.set_dims(0, int64_t(1) << 40);
  w.set_dims(1, int64_t(1) << 40);
  *b.graph()->mutable_initializer(0) = w;
  EXPECT_OCTET_ERROR(b.load(), "more elements than int64");

  // Same for a Constant node's tensor.
  ModelBuilder c;
  TP t = tensor_f32("", {1000000, 1000000, 1000}, {1});
  c.node("Constant", {}, {"k"}, "big");
  attr_t(c.graph()->mutable_node(0), "value", t);
  c.node("Relu", {"k"}, {"y"});
  c.output("y", TP::FLOAT, {1});
  EXPECT_OCTET_ERROR(c.load(), "node 'big' (Constant) value: raw_data holds 4 bytes");
}

TEST(BadInput, WrongDtype) {
  ModelBuilder b = small_model();
  b.graph()->mutable_initializer(0)->set_data_type(99);
  EXPECT_OCTET_ERROR(b.load(), "initializer 'w': unsupported dtype code 99");

  ModelBuilder c = small_model();
  c.graph()->mutable_initializer(0)->set_data_type(TP::UNDEFINED);
  EXPECT_OCTET_ERROR(c.load(), "initializer 'w' has no data type");

  ModelBuilder s = small_model();
  TP str;
  str.set_name("w");
  str.set_data_type(TP::STRING);
  str.add_dims(1);
  str.add_string_data("hello");
  *s.graph()->mutable_initializer(0) = str;
  // A string initializer loads; the Add that takes it is refused when compiled.
  EXPECT_OCTET_ERROR(CompiledModel::compile(Model(s.load())),
                     "unsupported dtype string for input 1: Add does not take string tensors");

  ModelBuilder cx = small_model();
  cx.graph()->mutable_initializer(0)->set_data_type(TP::COMPLEX64);
  EXPECT_OCTET_ERROR(cx.load(), "unsupported dtype COMPLEX64");

  // An initializer also listed as an input (old IR) whose declaration disagrees with it.
  ModelBuilder d = small_model();
  d.input("w", TP::INT64, {1, 4});
  EXPECT_OCTET_ERROR(d.load(), "graph input 'w' is declared s64 but its initializer is f32");
  ModelBuilder e = small_model();
  e.input("w", TP::FLOAT, {4, 1});
  EXPECT_OCTET_ERROR(e.load(), "graph input 'w' is declared with shape [4,1] but its initializer has shape [1,4]");

  ModelBuilder f = small_model();
  f.graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(TP::STRING);
  EXPECT_OCTET_ERROR(CompiledModel::compile(Model(f.load())),
                     "unsupported dtype string for input 0: Add does not take string tensors");

  ModelBuilder g = small_model();
  g.graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(1234);
  EXPECT_OCTET_ERROR(g.load(), "graph input 'x': unsupported dtype code 1234");
}

TEST(BadInput, NonTensorInput) {
  ModelBuilder b = small_model();
  auto* vi = b.graph()->mutable_input(0);
  // Sequences of tensors are supported (CompileOptions::sequence_shapes); of sequences are not.
  vi->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_sequence_type()->mutable_elem_type()
      ->mutable_tensor_type()->set_elem_type(TP::FLOAT);
  EXPECT_OCTET_ERROR(b.load(), "graph input 'x': unsupported type");
}

TEST(BadInput, Opsets) {
  ModelBuilder b = small_model();
  b.model().mutable_opset_import(0)->set_version(19);
  EXPECT_OCTET_ERROR(b.load(), "test.onnx: opset 19 of the default ONNX domain is not supported");
  b.model().mutable_opset_import(0)->set_version(0);
  EXPECT_OCTET_ERROR(b.load(), "opset 0");
  b.model().mutable_opset_import(0)->set_domain("ai.onnx");
  b.model().mutable_opset_import(0)->set_version(13);
  EXPECT_NO_THROW(b.load());
  b.model().clear_opset_import();
  EXPECT_OCTET_ERROR(b.load(), "declares no opset");
}

TEST(BadInput, NoGraph) {
  ModelBuilder b = small_model();
  b.model().clear_graph();
  EXPECT_OCTET_ERROR(b.load(), "no graph");
}

TEST(BadInput, SparseInitializer) {
  ModelBuilder b = small_model();
  auto* sp = b.graph()->add_sparse_initializer();
  sp->mutable_values()->set_name("sp");
  EXPECT_OCTET_ERROR(b.load(), "sparse initializer 'sp'");
}

TEST(BadInput, UnsupportedAttributeType) {
  ModelBuilder b = small_model();
  auto* a = add_attr(b.graph()->mutable_node(1), "weird", onnx::AttributeProto::TENSORS);
  *a->add_tensors() = tensor_f32("", {1}, {1});
  EXPECT_OCTET_ERROR(b.load(), "node 'relu' (Relu): attribute 'weird' has type TENSORS");
}

TEST(BadInput, ErrorsNameTheFile) {
  TempDir dir;
  ModelBuilder b = small_model();
  b.graph()->mutable_node(1)->set_input(0, "ghost");
  b.save(dir.file("m.onnx"));
  EXPECT_OCTET_ERROR(frontend::load_onnx_file(dir.file("m.onnx"), detail::registry_has_op), dir.file("m.onnx") + ": node 'relu'");
  EXPECT_OCTET_ERROR(Model::load(dir.file("m.onnx")), dir.file("m.onnx") + ": node 'relu'");
}

}  // namespace
}  // namespace octet::testing
