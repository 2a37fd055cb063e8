// Old-opset nodes are rewritten to the newest form of their op (opset_upgrade.cc).
#include <gtest/gtest.h>

#include "frontend/model_builder.h"

namespace octet::testing {
namespace {

// x (f32, shape) -> op -> y; returns the builder and the node for attributes.
struct OneOp {
  ModelBuilder b;
  onnx::NodeProto* node;
  OneOp(int64_t opset, const std::string& op, std::vector<Dim> shape, int elem = TP::FLOAT,
        std::vector<std::string> extra_inputs = {})
      : b(opset) {
    b.input("x", elem, shape);
    std::vector<std::string> inputs = {"x"};
    inputs.insert(inputs.end(), extra_inputs.begin(), extra_inputs.end());
    node = b.node(op, inputs, {"y"}, "n");
    b.output_untyped("y");
  }
};

template <class T>
std::vector<T> input_const(const detail::Graph& g, const detail::Node& n, size_t i) {
  EXPECT_LT(i, n.inputs.size());
  if (i >= n.inputs.size() || n.inputs[i] < 0) return {};
  return const_values<T>(g, n.inputs[i]);
}

TEST(OpsetUpgrade, Clip6AttributesBecomeInputs) {
  OneOp m(6, "Clip", {2, 3});
  attr_f(m.node, "min", -1.f);
  attr_f(m.node, "max", 2.f);
  auto g = m.b.load();
  const detail::Node& n = only_node(*g, "Clip");
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_TRUE(n.attrs.empty());
  EXPECT_EQ(input_const<float>(*g, n, 1), (std::vector<float>{-1.f}));
  EXPECT_EQ(input_const<float>(*g, n, 2), (std::vector<float>{2.f}));
  EXPECT_EQ(g->values[n.inputs[1]].shape, Shape{});  // scalars

  OneOp only_max(6, "Clip", {2});
  attr_f(only_max.node, "max", 6.f);
  auto g2 = only_max.b.load();
  const detail::Node& n2 = only_node(*g2, "Clip");
  ASSERT_EQ(n2.inputs.size(), 3u);
  EXPECT_EQ(n2.inputs[1], -1);
  EXPECT_EQ(input_const<float>(*g2, n2, 2), (std::vector<float>{6.f}));

  // The scalars take the input's declared float type.
  OneOp f64(6, "Clip", {2}, TP::DOUBLE);
  attr_f(f64.node, "min", 0.5f);
  auto g3 = f64.b.load();
  EXPECT_EQ(g3->values[only_node(*g3, "Clip").inputs[1]].dtype, DType::f64);
  EXPECT_EQ(input_const<double>(*g3, only_node(*g3, "Clip"), 1), (std::vector<double>{0.5}));

  // Opset 11 Clip already has the input form: untouched.
  OneOp c11(11, "Clip", {2});
  auto g4 = c11.b.load();
  EXPECT_EQ(only_node(*g4, "Clip").inputs.size(), 1u);
}

TEST(OpsetUpgrade, SqueezeUnsqueeze11AxesBecomeInput) {
  OneOp sq(11, "Squeeze", {1, 3, 1});
  attr_ints(sq.node, "axes", {0, 2});
  auto g = sq.b.load();
  const detail::Node& n = only_node(*g, "Squeeze");
  EXPECT_FALSE(n.has_attr("axes"));
  EXPECT_EQ(input_const<int64_t>(*g, n, 1), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(g->values[n.inputs[1]].dtype, DType::s64);

  OneOp sq_all(11, "Squeeze", {1, 3});  // no axes: squeeze every 1-dim, no input added
  auto g2 = sq_all.b.load();
  EXPECT_EQ(only_node(*g2, "Squeeze").inputs.size(), 1u);

  OneOp un(11, "Unsqueeze", {3});
  attr_ints(un.node, "axes", {-1});
  auto g3 = un.b.load();
  EXPECT_EQ(input_const<int64_t>(*g3, only_node(*g3, "Unsqueeze"), 1), (std::vector<int64_t>{-1}));

  OneOp bad(11, "Unsqueeze", {3});
  EXPECT_OCTET_ERROR(bad.b.load(), "node 'n' (Unsqueeze) (opset 11): missing attribute 'axes'");
}

TEST(OpsetUpgrade, Split11SplitBecomesInput) {
  ModelBuilder b(11);
  b.input("x", TP::FLOAT, {6});
  auto* n = b.node("Split", {"x"}, {"a", "b"}, "split");
  attr_i(n, "axis", 0);
  attr_ints(n, "split", {2, 4});
  b.output_untyped("a");
  b.output_untyped("b");
  auto g = b.load();
  const detail::Node& s = only_node(*g, "Split");
  EXPECT_EQ(s.attr_i("axis", -1), 0);
  EXPECT_FALSE(s.has_attr("split"));
  EXPECT_EQ(input_const<int64_t>(*g, s, 1), (std::vector<int64_t>{2, 4}));
}

TEST(OpsetUpgrade, Pad2AttributesBecomeInputs) {
  OneOp p(2, "Pad", {1, 2});
  attr_ints(p.node, "pads", {0, 1, 0, 2});
  attr_f(p.node, "value", 1.5f);
  attr_s(p.node, "mode", "constant");
  auto g = p.b.load();
  const detail::Node& n = only_node(*g, "Pad");
  EXPECT_EQ(n.attr_s("mode", ""), "constant");
  EXPECT_FALSE(n.has_attr("pads"));
  EXPECT_FALSE(n.has_attr("value"));
  EXPECT_EQ(input_const<int64_t>(*g, n, 1), (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(input_const<float>(*g, n, 2), (std::vector<float>{1.5f}));

  OneOp p1(1, "Pad", {1, 2});  // opset 1 spelled it "paddings"
  attr_ints(p1.node, "paddings", {1, 1, 1, 1});
  auto g1 = p1.b.load();
  const detail::Node& n1 = only_node(*g1, "Pad");
  EXPECT_EQ(input_const<int64_t>(*g1, n1, 1), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(n1.inputs.size(), 2u);  // no value attribute: default 0, no input
}

TEST(OpsetUpgrade, ReduceAxesBecomeInput) {
  OneOp mean(13, "ReduceMean", {2, 3});
  attr_ints(mean.node, "axes", {1});
  attr_i(mean.node, "keepdims", 0);
  auto g = mean.b.load();
  const detail::Node& n = only_node(*g, "ReduceMean");
  EXPECT_EQ(n.attr_i("keepdims", 1), 0);
  EXPECT_EQ(input_const<int64_t>(*g, n, 1), (std::vector<int64_t>{1}));

  OneOp sum11(11, "ReduceSum", {2, 3});
  attr_ints(sum11.node, "axes", {0, 1});
  auto g2 = sum11.b.load();
  EXPECT_EQ(input_const<int64_t>(*g2, only_node(*g2, "ReduceSum"), 1), (std::vector<int64_t>{0, 1}));

  OneOp all(13, "ReduceMax", {2, 3});  // no axes: reduce all, stays input-less
  auto g3 = all.b.load();
  EXPECT_EQ(only_node(*g3, "ReduceMax").inputs.size(), 1u);
}

TEST(OpsetUpgrade, Slice9AttributesBecomeInputs) {
  OneOp s(9, "Slice", {4, 5});
  attr_ints(s.node, "starts", {1});
  attr_ints(s.node, "ends", {3});
  attr_ints(s.node, "axes", {1});
  auto g = s.b.load();
  const detail::Node& n = only_node(*g, "Slice");
  EXPECT_TRUE(n.attrs.empty());
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(input_const<int64_t>(*g, n, 1), (std::vector<int64_t>{1}));
  EXPECT_EQ(input_const<int64_t>(*g, n, 2), (std::vector<int64_t>{3}));
  EXPECT_EQ(input_const<int64_t>(*g, n, 3), (std::vector<int64_t>{1}));

  OneOp missing(9, "Slice", {4});
  attr_ints(missing.node, "starts", {0});
  EXPECT_OCTET_ERROR(missing.b.load(), "missing attribute 'ends'");
}

TEST(OpsetUpgrade, TopK1KBecomesInput) {
  ModelBuilder b(9);
  b.input("x", TP::FLOAT, {10});
  attr_i(b.node("TopK", {"x"}, {"v", "i"}, "topk"), "k", 3);
  b.output_untyped("v");
  b.output_untyped("i");
  auto g = b.load();
  EXPECT_EQ(input_const<int64_t>(*g, only_node(*g, "TopK"), 1), (std::vector<int64_t>{3}));
}

TEST(OpsetUpgrade, Dft17AxisBecomesScalarInput) {
  OneOp d(17, "DFT", {1, 8, 4, 1});
  attr_i(d.node, "axis", 2);
  auto g = d.b.load();
  const detail::Node& n = only_node(*g, "DFT");
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(n.inputs[1], -1);  // no dft_length
  EXPECT_FALSE(n.has_attr("axis"));
  EXPECT_EQ(g->values[n.inputs[2]].shape, Shape{});  // a scalar, as opset 20 takes it
  EXPECT_EQ(input_const<int64_t>(*g, n, 2), (std::vector<int64_t>{2}));

  // Absent, the opset-17 default (1) is written out: opset 20's default is -2.
  OneOp dflt(17, "DFT", {1, 8, 4, 1});
  auto g2 = dflt.b.load();
  EXPECT_EQ(input_const<int64_t>(*g2, only_node(*g2, "DFT"), 2), (std::vector<int64_t>{1}));
}

TEST(OpsetUpgrade, Upsample9BecomesResize) {
  OneOp u(9, "Upsample", {1, 1, 2, 2}, TP::FLOAT, {"scales"});
  u.b.input("scales", TP::FLOAT, {4});
  attr_s(u.node, "mode", "nearest");
  auto g = u.b.load();
  const detail::Node& n = only_node(*g, "Resize");
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(n.inputs[0], g->find_value("x"));
  EXPECT_EQ(n.inputs[1], -1);  // no roi
  EXPECT_EQ(n.inputs[2], g->find_value("scales"));
  EXPECT_EQ(n.attr_s("mode", ""), "nearest");
  EXPECT_EQ(n.attr_s("coordinate_transformation_mode", ""), "asymmetric");
  EXPECT_EQ(n.attr_s("nearest_mode", ""), "floor");
}

TEST(OpsetUpgrade, Upsample7ScalesAttribute) {
  OneOp u(7, "Upsample", {1, 1, 2, 2});
  attr_s(u.node, "mode", "linear");
  attr_floats(u.node, "scales", {1, 1, 2, 3});
  auto g = u.b.load();
  const detail::Node& n = only_node(*g, "Resize");
  EXPECT_EQ(n.attr_s("mode", ""), "linear");
  EXPECT_FALSE(n.has_attr("scales"));
  EXPECT_EQ(input_const<float>(*g, n, 2), (std::vector<float>{1, 1, 2, 3}));

  OneOp bad(7, "Upsample", {1, 1, 2, 2});
  attr_s(bad.node, "mode", "cubic");
  attr_floats(bad.node, "scales", {1, 1, 2, 2});
  EXPECT_OCTET_ERROR(bad.b.load(), "Upsample mode 'cubic' is not supported");
}

TEST(OpsetUpgrade, Resize10GetsRoiSlot) {
  ModelBuilder b(10);
  b.input("x", TP::FLOAT, {1, 1, 4, 4});
  b.initializer(tensor_f32("scales", {4}, {1, 1, 0.5f, 0.5f}));
  attr_s(b.node("Resize", {"x", "scales"}, {"y"}), "mode", "nearest");
  b.output_untyped("y");
  auto g = b.load();
  const detail::Node& n = only_node(*g, "Resize");
  ASSERT_EQ(n.inputs.size(), 3u);
  EXPECT_EQ(n.inputs[1], -1);
  EXPECT_EQ(n.inputs[2], g->find_value("scales"));
  EXPECT_EQ(n.attr_s("coordinate_transformation_mode", ""), "asymmetric");
  EXPECT_EQ(n.attr_s("nearest_mode", ""), "ceil");  // downsampling, as ONNX Runtime runs opset 10
}

TEST(OpsetUpgrade, Dropout10RatioBecomesInput) {
  OneOp d(10, "Dropout", {4});
  attr_f(d.node, "ratio", 0.25f);
  auto g = d.b.load();
  const detail::Node& n = only_node(*g, "Dropout");
  EXPECT_FALSE(n.has_attr("ratio"));
  EXPECT_EQ(input_const<float>(*g, n, 1), (std::vector<float>{0.25f}));
}

TEST(OpsetUpgrade, BatchNormSpatial) {
  auto bn = [](int64_t spatial, std::vector<int64_t> param_shape) {
    ModelBuilder b(7);
    b.input("x", TP::FLOAT, {1, 2, 3, 3});
    int64_t count = 1;
    for (int64_t d : param_shape) count *= d;
    for (const char* p : {"s", "bias", "mean", "var"})
      b.initializer(tensor_f32(p, param_shape, std::vector<float>(static_cast<size_t>(count), 1.f)));
    auto* n = b.node("BatchNormalization", {"x", "s", "bias", "mean", "var"}, {"y"}, "bn");
    attr_i(n, "spatial", spatial);
    attr_f(n, "epsilon", 1e-5f);
    b.output_untyped("y");
    return b;
  };
  auto g = bn(1, {2}).load();
  EXPECT_FALSE(only_node(*g, "BatchNormalization").has_attr("spatial"));
  auto g0 = bn(0, {2}).load();  // per-channel parameters: spatial=0 means the same thing
  EXPECT_FALSE(only_node(*g0, "BatchNormalization").has_attr("spatial"));
  EXPECT_OCTET_ERROR(bn(0, {2, 3, 3}).load(), "spatial=0");
}

TEST(OpsetUpgrade, ScatterBecomesScatterElements) {
  ModelBuilder b(9);
  b.input("x", TP::FLOAT, {3});
  b.input("i", TP::INT64, {1});
  b.input("u", TP::FLOAT, {1});
  b.node("Scatter", {"x", "i", "u"}, {"y"});
  b.output_untyped("y");
  auto g = b.load();
  EXPECT_EQ(g->nodes[0].op_type, "ScatterElements");
}

TEST(OpsetUpgrade, SoftmaxBefore13IsLeftAsIs) {
  OneOp s(11, "Softmax", {2, 3, 4});
  attr_i(s.node, "axis", 1);
  auto g = s.b.load();
  const detail::Node& n = only_node(*g, "Softmax");
  EXPECT_EQ(n.attr_i("axis", -1), 1);
  EXPECT_EQ(g->opset(), 11);  // the op reads the opset for the pre-13 semantics
}

// --- legacy opsets 1..6 ----------------------------------------------------------------------

TEST(OpsetUpgrade, Legacy6BroadcastWithAxis) {
  // B constant [3] broadcast at axis 1 of [2,3,4,5] -> a [3,1,1] constant.
  ModelBuilder b(6);
  b.input("a", TP::FLOAT, {2, 3, 4, 5});
  b.initializer(tensor_f32("bc", {3}, {1, 2, 3}));
  auto* add = b.node("Add", {"a", "bc"}, {"y"}, "add");
  attr_i(add, "broadcast", 1);
  attr_i(add, "axis", 1);
  b.output_untyped("y");
  auto g = b.load();
  const detail::Node& n = only_node(*g, "Add");
  EXPECT_TRUE(n.attrs.empty());
  EXPECT_EQ(g->values[n.inputs[1]].shape, (Shape{3, 1, 1}));
  EXPECT_EQ(input_const<float>(*g, n, 1), (std::vector<float>{1, 2, 3}));

  // A runtime B [3,4] at axis 1 -> Unsqueeze(B, axes=[2]).
  ModelBuilder r(6);
  r.input("a", TP::FLOAT, {2, 3, 4, 5});
  r.input("bi", TP::FLOAT, {3, 4});
  auto* mul = r.node("Mul", {"a", "bi"}, {"y"}, "mul");
  attr_i(mul, "broadcast", 1);
  attr_i(mul, "axis", 1);
  r.output_untyped("y");
  auto gr = r.load();
  const detail::Node& u = only_node(*gr, "Unsqueeze");
  EXPECT_EQ(u.inputs[0], gr->find_value("bi"));
  EXPECT_EQ(input_const<int64_t>(*gr, u, 1), (std::vector<int64_t>{2}));
  EXPECT_EQ(only_node(*gr, "Mul").inputs[1], u.outputs[0]);
  EXPECT_LT(&u - gr->nodes.data(), &only_node(*gr, "Mul") - gr->nodes.data());  // sorted before its user

  // Unknown ranks cannot be aligned.
  ModelBuilder unk(6);
  unk.input("a", TP::FLOAT, {2, 3});
  unk.node("Relu", {"a"}, {"t"});
  unk.input("bi", TP::FLOAT, {3});
  auto* sub = unk.node("Sub", {"t", "bi"}, {"y"}, "sub");
  attr_i(sub, "broadcast", 1);
  attr_i(sub, "axis", 0);
  unk.output_untyped("y");
  EXPECT_OCTET_ERROR(unk.load(), "node 'sub' (Sub) (opset 6): legacy broadcast with axis needs the ranks");
}

TEST(OpsetUpgrade, Legacy6PReluSlopeIsPerChannel) {
  ModelBuilder b(6);
  b.input("x", TP::FLOAT, {2, 3, 4, 5});
  b.initializer(tensor_f32("slope", {3}, {0.1f, 0.2f, 0.3f}));
  b.node("PRelu", {"x", "slope"}, {"y"});
  b.output_untyped("y");
  auto g = b.load();
  EXPECT_EQ(g->values[only_node(*g, "PRelu").inputs[1]].shape, (Shape{3, 1, 1}));
}

TEST(OpsetUpgrade, LegacyAttributeForms) {
  OneOp cast(1, "Cast", {2});
  attr_s(cast.node, "to", "INT32");
  auto g = cast.b.load();
  EXPECT_EQ(only_node(*g, "Cast").attr_i("to", 0), TP::INT32);

  OneOp reshape(4, "Reshape", {2, 3});
  attr_ints(reshape.node, "shape", {3, 2});
  auto g2 = reshape.b.load();
  EXPECT_EQ(input_const<int64_t>(*g2, only_node(*g2, "Reshape"), 1), (std::vector<int64_t>{3, 2}));

  OneOp concat(3, "Concat", {2, 3});
  auto g3 = concat.b.load();
  EXPECT_EQ(only_node(*g3, "Concat").attr_i("axis", -5), 1);

  OneOp relu(5, "Relu", {2});
  attr_ints(relu.node, "consumed_inputs", {0});
  auto g4 = relu.b.load();
  EXPECT_FALSE(only_node(*g4, "Relu").has_attr("consumed_inputs"));

  OneOp tile(5, "Tile", {2}, TP::FLOAT, {"t", "ax"});
  tile.b.input("t", TP::INT64, {1});
  tile.b.input("ax", TP::INT64, {1});
  EXPECT_OCTET_ERROR(tile.b.load(), "Tile before opset 6");
}

}  // namespace
}  // namespace octet::testing
