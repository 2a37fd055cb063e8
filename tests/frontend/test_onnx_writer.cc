// The ONNX writer: a model loaded, saved and loaded again is the same graph and computes the
// same outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "octet/frontend/onnx_loader.h"
#include "octet/frontend/onnx_writer.h"
#include "octet/graph/graph.h"
#include "octet/octet.h"
#include "ops/op_registry.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

void expect_same_graph(const octet::detail::Graph& a, const octet::detail::Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    EXPECT_EQ(a.nodes[n].op_type, b.nodes[n].op_type);
    EXPECT_EQ(a.nodes[n].name, b.nodes[n].name);
    EXPECT_EQ(a.nodes[n].attrs.size(), b.nodes[n].attrs.size());
    ASSERT_EQ(a.nodes[n].inputs.size(), b.nodes[n].inputs.size());
    for (size_t i = 0; i < a.nodes[n].inputs.size(); ++i) {
      int ia = a.nodes[n].inputs[i], ib = b.nodes[n].inputs[i];
      ASSERT_EQ(ia < 0, ib < 0);
      if (ia < 0) continue;
      const auto& va = a.values[ia];
      const auto& vb = b.values[ib];
      EXPECT_EQ(va.name, vb.name);
      EXPECT_EQ(va.is_const, vb.is_const);
      if (va.is_const && vb.is_const) {
        ASSERT_EQ(va.data.shape(), vb.data.shape());
        ASSERT_EQ(va.data.dtype(), vb.data.dtype());
        EXPECT_EQ(0, std::memcmp(va.data.data(), vb.data.data(), va.data.nbytes())) << va.name;
      }
    }
  }
}

TEST(OnnxWriter, ZooModelsRoundTrip) {
  std::string zoo = octet::testing::zoo_dir();
  if (zoo.empty()) GTEST_SKIP() << "no model zoo (../shared/zoo or OCTET_ZOO): round trip of real models not tested";
  for (const char* name : {"mnist-8", "resnet8-cifar10", "sst2-tinybert"}) {
    std::string path = zoo + "/models/" + name + ".onnx";
    auto g1 = octet::frontend::load_onnx_file(path, octet::detail::registry_has_op);
    std::string bytes = octet::frontend::serialize_onnx(*g1);  // reads initializers from the file
    g1->load_file_constants();  // to compare them below
    auto g2 = octet::frontend::load_onnx_buffer(bytes.data(), bytes.size(), "", octet::detail::registry_has_op, name);
    SCOPED_TRACE(name);
    expect_same_graph(*g1, *g2);
  }
}

TEST(OnnxWriter, SaveToUnwritablePathIsAnError) {
  auto g = std::make_shared<octet::detail::Graph>();
  g->opsets[""] = 17;
  EXPECT_THROW(octet::frontend::save_onnx(*g, "/nonexistent-dir/x.onnx"), octet::Error);
}

}  // namespace
