// QDQ export: octet's own quantization written as QDQ ONNX and imported back is the same
// INT8 graph (nodes, constants) with bit-identical outputs.
#include <filesystem>

#include "quant_test_util.h"
#include "runtime/program.h"

namespace octet::testing {
namespace {

// Node list and constants of a compiled INT8 graph, by value names.
void expect_same_graph(const detail::Graph& a, const detail::Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  auto name_of = [](const detail::Graph& g, int v) { return v < 0 ? std::string("<none>") : g.values[v].name; };
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    const auto &na = a.nodes[n], &nb = b.nodes[n];
    EXPECT_EQ(na.op_type, nb.op_type) << "node " << n;
    EXPECT_EQ(na.domain, nb.domain) << "node " << n;
    EXPECT_EQ(na.name, nb.name) << "node " << n;
    ASSERT_EQ(na.inputs.size(), nb.inputs.size()) << na.name;
    for (size_t i = 0; i < na.inputs.size(); ++i) {
      EXPECT_EQ(name_of(a, na.inputs[i]), name_of(b, nb.inputs[i])) << na.name << " input " << i;
      if (na.inputs[i] < 0 || nb.inputs[i] < 0) continue;
      const auto &va = a.values[na.inputs[i]], &vb = b.values[nb.inputs[i]];
      EXPECT_EQ(va.is_const, vb.is_const) << va.name;
      EXPECT_EQ(va.dtype, vb.dtype) << va.name;
      EXPECT_EQ(va.shape, vb.shape) << va.name;
      // Constants that kernels packed are freed in a compiled program (nbytes 0 on both sides):
      // their content is compared through the QDQ graphs and the bit-identical runs below.
      if (va.is_const && vb.is_const && va.data.nbytes() == vb.data.nbytes() && va.data.nbytes() > 0) {
        EXPECT_EQ(std::memcmp(va.data.data(), vb.data.data(), va.data.nbytes()), 0) << "constant " << va.name;
      }
    }
    ASSERT_EQ(na.outputs.size(), nb.outputs.size()) << na.name;
    for (size_t o = 0; o < na.outputs.size(); ++o) EXPECT_EQ(name_of(a, na.outputs[o]), name_of(b, nb.outputs[o]));
  }
}

void check_round_trip(const Model& m, const std::vector<Sample>& calibration, const std::vector<Sample>& samples) {
  TempDir dir;
  const std::string path = dir.file("model_qdq.onnx");
  CompiledModel q = compile_int8(m, calibration, "auto");
  q.export_qdq(path);
  CompileOptions o;
  o.precision = Precision::int8;
  CompiledModel r = CompiledModel::compile(Model::load(path), o);
  expect_same_graph(q.program()->graph, r.program()->graph);
  ASSERT_TRUE(q.program()->qdq_graph && r.program()->qdq_graph);
  expect_same_graph(*q.program()->qdq_graph, *r.program()->qdq_graph);  // every weight, unpacked
  EXPECT_EQ(q.describe(), r.describe());
  Session a = q.create_session(), b = r.create_session();
  for (const auto& s : samples) EXPECT_TRUE(bit_identical(a.run(s), b.run(s)));
  // The export of the re-imported model is the same file content again (a fixed point).
  const std::string again = dir.file("again.onnx");
  r.export_qdq(again);
  CompiledModel r2 = CompiledModel::compile(Model::load(again), o);
  expect_same_graph(r.program()->graph, r2.program()->graph);
}

TEST(Export, ConvNetRoundTrip) {
  check_round_trip(load_model(conv_net()), random_samples("x", {1, 3, 16, 16}, 8, 1),
                   random_samples("x", {1, 3, 16, 16}, 3, 2));
}

TEST(Export, MatMulNetRoundTrip) {
  check_round_trip(load_model(matmul_net()), random_samples("x", {1, 4, 8}, 8, 3), random_samples("x", {1, 4, 8}, 3, 4));
}

TEST(Export, ZooModelRoundTrip) {
  const std::string zoo = zoo_dir();
  if (zoo.empty()) GTEST_SKIP() << "../shared/zoo is absent";
  Model m = Model::load(zoo + "/models/mnist-8.onnx");
  std::string name;
  Tensor x = load_tensor_pb(zoo + "/models/mnist-8/test_data_set_0/input_0.pb", &name);
  check_round_trip(m, {{{"Input3", x}}}, {{{"Input3", x}}});
}

TEST(Export, QdqFileIsStandardOnnx) {
  TempDir dir;
  CompiledModel q = compile_int8(load_model(conv_net()), random_samples("x", {1, 3, 16, 16}, 4, 1), "ref");
  q.export_qdq(dir.file("m.onnx"));
  onnx::ModelProto proto;
  std::ifstream f(dir.file("m.onnx"), std::ios::binary);
  ASSERT_TRUE(proto.ParseFromIstream(&f));
  // Only standard ONNX ops (what ONNX Runtime's QDQ fusion reads), opset 13 or newer.
  int quantize = 0, dequantize = 0;
  for (const auto& n : proto.graph().node()) {
    EXPECT_TRUE(n.domain().empty() || n.domain() == "ai.onnx") << n.op_type() << " in " << n.domain();
    quantize += n.op_type() == "QuantizeLinear";
    dequantize += n.op_type() == "DequantizeLinear";
  }
  EXPECT_GT(quantize, 0);
  EXPECT_GT(dequantize, quantize);  // weights and biases have a DequantizeLinear each
  for (const auto& os : proto.opset_import())
    if (os.domain().empty()) {
      EXPECT_GE(os.version(), 13);
    }
}

TEST(Export, Fp32ModelHasNothingToExport) {
  TempDir dir;
  CompiledModel f = CompiledModel::compile(load_model(conv_net()));
  EXPECT_THROW(f.export_qdq(dir.file("m.onnx")), Error);
  EXPECT_TRUE(f.quantization_report().empty());
}

}  // namespace
}  // namespace octet::testing
