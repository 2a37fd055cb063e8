// Bounded resources: compiling never allocates more than a model's own declared sizes
// justify, CompileOptions::max_memory_bytes caps planned memory plus weights, and every
// shape computation that could overflow int64 (or int64 * element size) fails with
// octet::Error instead of wrapping. Each case is a model of a few hundred bytes.
#include <limits>

#include "reliability/reliability_util.h"
#include "runtime/memory_plan.h"

namespace octet::testing {
namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

// x (declared input) -> op(x, const inputs...) -> y.
ModelBuilder unary_with_consts(const std::string& op, int x_type, const std::vector<Dim>& x_dims,
                               const std::vector<TP>& consts) {
  ModelBuilder b;
  b.input("x", x_type, x_dims);
  std::vector<std::string> ins{"x"};
  for (const TP& t : consts) {
    b.initializer(t);
    ins.push_back(t.name());
  }
  b.node(op, ins, {"y"}, "op");
  b.output_untyped("y");
  return b;
}

TEST(Limits, TeraElementInputInATinyFile) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1000000, 1000000});
  b.node("Relu", {"x"}, {"y"}, "relu");
  b.output("y", TP::FLOAT, {1000000, 1000000});
  EXPECT_LT(b.bytes().size(), 1024u);
  EXPECT_CONTAINS(compile_error(b), "memory limit");
}

TEST(Limits, ConstantOfShapeTeraElements) {
  ModelBuilder b;
  b.initializer(tensor_i64("shape", {2}, {1000000, 1000000}));
  b.node("ConstantOfShape", {"shape"}, {"c"}, "fill");
  b.input("x", TP::FLOAT, {1});
  b.node("Add", {"x", "c"}, {"y"}, "add");
  b.output_untyped("y");
  EXPECT_CONTAINS(compile_error(b), "memory limit");
}

TEST(Limits, ShapeProductOverflowsInt64) {
  ModelBuilder b;
  b.initializer(tensor_i64("shape", {3}, {int64_t(1) << 32, int64_t(1) << 32, 16}));
  b.node("ConstantOfShape", {"shape"}, {"y"}, "fill");
  b.output_untyped("y");
  EXPECT_CONTAINS(compile_error(b), "int64");
}

// The working memory limit: the same model compiles under a large limit and is refused,
// naming the limit, under a small one.
TEST(Limits, MaxMemoryBytesIsConfigurable) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {1024, 1024});
  b.node("Relu", {"x"}, {"r"}, "r1");
  b.node("Sigmoid", {"r"}, {"y"}, "s1");
  b.output("y", TP::FLOAT, {1024, 1024});
  const Model m = load_public(b);
  CompiledModel c = CompiledModel::compile(m, ref_options(64 * kMiB));
  EXPECT_GE(c.arena_bytes(), 4 * kMiB);
  EXPECT_CONTAINS(compile_error(b, kMiB), "limit of 1048576");
}

// Initializer bytes count against the limit too.
TEST(Limits, WeightsCountAgainstTheLimit) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {256, 1024});
  b.initializer(tensor_f32("w", {256, 1024}, std::vector<float>(256 * 1024, 0.5f)));
  b.node("Add", {"x", "w"}, {"y"}, "add");
  b.output("y", TP::FLOAT, {256, 1024});
  EXPECT_NO_THROW(CompiledModel::compile(load_public(b), ref_options(16 * kMiB)));
  EXPECT_CONTAINS(compile_error(b, 512 * 1024), "limit of 524288");
}

// numel fits int64 but numel * sizeof(element) does not fit 64 bits: 2^62 floats. The byte
// count must not wrap to a small number that passes the limit (and, for an intermediate
// value, becomes a tiny arena slot that the kernel then overruns).
ModelBuilder then_relu(ModelBuilder b) {
  b.graph()->mutable_node(0)->set_output(0, "big");
  b.node("Relu", {"big"}, {"y"}, "relu");
  return b;
}

TEST(Limits, ElementBytesOverflowExpand) {
  ModelBuilder out = unary_with_consts("Expand", TP::FLOAT, {1}, {tensor_i64("shape", {1}, {int64_t(1) << 62})});
  EXPECT_FALSE(compile_error(out).empty());
  EXPECT_FALSE(compile_error(then_relu(out)).empty());
}

TEST(Limits, ElementBytesOverflowTile) {
  ModelBuilder out = unary_with_consts("Tile", TP::DOUBLE, {1}, {tensor_i64("reps", {1}, {int64_t(1) << 61})});
  EXPECT_FALSE(compile_error(out).empty());
  EXPECT_FALSE(compile_error(then_relu(out)).empty());
}

TEST(Limits, ElementBytesOverflowConvTransposeOutputShape) {
  ModelBuilder b = unary_with_consts("ConvTranspose", TP::FLOAT, {1, 1, 1, 1},
                                     {tensor_f32("w", {1, 1, 1, 1}, {1.0f})});
  attr_ints(b.graph()->mutable_node(0), "output_shape", {(int64_t(1) << 31) - 1, (int64_t(1) << 31) - 1});
  EXPECT_FALSE(compile_error(b).empty());
  EXPECT_FALSE(compile_error(then_relu(b)).empty());
}

TEST(Limits, ExpandOverflow) {
  ModelBuilder b =
      unary_with_consts("Expand", TP::FLOAT, {1, 1}, {tensor_i64("shape", {2}, {int64_t(1) << 32, int64_t(1) << 32})});
  EXPECT_CONTAINS(compile_error(b), "int64");
}

TEST(Limits, TileOverflow) {
  ModelBuilder b =
      unary_with_consts("Tile", TP::UINT8, {int64_t(1) << 31}, {tensor_i64("reps", {1}, {int64_t(1) << 33})});
  EXPECT_CONTAINS(compile_error(b), "int64");
}

TEST(Limits, ResizeHugeScalesAndSizes) {
  ModelBuilder s = unary_with_consts("Resize", TP::FLOAT, {1, 1, 4, 4},
                                     {tensor_f32("roi", {0}, {}), tensor_f32("scales", {4}, {1, 1, 1e30f, 1e30f})});
  EXPECT_FALSE(compile_error(s).empty());
  ModelBuilder z = unary_with_consts(
      "Resize", TP::FLOAT, {1, 1, 4, 4},
      {tensor_f32("roi", {0}, {}), tensor_f32("scales", {0}, {}),
       tensor_i64("sizes", {4}, {1, 1, (int64_t(1) << 39) - 1, (int64_t(1) << 39) - 1})});
  EXPECT_FALSE(compile_error(z).empty());
}

TEST(Limits, RangeAbsurdLengths) {
  ModelBuilder i;
  i.initializer(tensor_i64("start", {}, {kI64Min}));
  i.initializer(tensor_i64("limit", {}, {kI64Max}));
  i.initializer(tensor_i64("delta", {}, {1}));
  i.node("Range", {"start", "limit", "delta"}, {"y"}, "range");
  i.output_untyped("y");
  EXPECT_FALSE(compile_error(i).empty());

  ModelBuilder f;
  f.initializer(tensor_f32("start", {}, {0}));
  f.initializer(tensor_f32("limit", {}, {1}));
  f.initializer(tensor_f32("delta", {}, {1e-30f}));
  f.node("Range", {"start", "limit", "delta"}, {"y"}, "range");
  f.output_untyped("y");
  EXPECT_FALSE(compile_error(f).empty());
}

TEST(Limits, PadExtremes) {
  for (const std::vector<int64_t>& pads : std::vector<std::vector<int64_t>>{
           {kI64Max, kI64Max}, {kI64Min, 0}, {0, kI64Min}, {kI64Max, kI64Min}, {int64_t(1) << 39, int64_t(1) << 39}}) {
    SCOPED_TRACE("pads " + shape_str(pads));
    ModelBuilder b = unary_with_consts("Pad", TP::FLOAT, {4}, {tensor_i64("pads", {2}, pads)});
    EXPECT_FALSE(compile_error(b).empty());
  }
}

TEST(Limits, SliceExtremeSteps) {
  // Legal, if odd: one element each. Must compile to the right shape, without overflow.
  for (int64_t step : {kI64Max, kI64Min, -kI64Max}) {
    SCOPED_TRACE("step " + std::to_string(step));
    const int64_t start = step > 0 ? 0 : 4, end = step > 0 ? 5 : -100;
    ModelBuilder b = unary_with_consts("Slice", TP::FLOAT, {5},
                                       {tensor_i64("starts", {1}, {start}), tensor_i64("ends", {1}, {end}),
                                        tensor_i64("axes", {1}, {0}), tensor_i64("steps", {1}, {step})});
    CompiledModel c = CompiledModel::compile(load_public(b), ref_options());
    EXPECT_EQ(c.outputs().at(0).shape, Shape{1});
  }
}

TEST(Limits, ConcatLengthOverflow) {
  ModelBuilder b;
  b.input("a", TP::UINT8, {int64_t(1) << 62});
  b.input("b", TP::UINT8, {int64_t(1) << 62});
  b.node("Concat", {"a", "b"}, {"y"}, "cat");
  attr_i(b.graph()->mutable_node(0), "axis", 0);
  b.output_untyped("y");
  EXPECT_FALSE(compile_error(b).empty());
}

TEST(Limits, ReshapeOverflow) {
  ModelBuilder b = unary_with_consts("Reshape", TP::FLOAT, {4},
                                     {tensor_i64("shape", {3}, {int64_t(1) << 32, int64_t(1) << 32, 0})});
  attr_i(b.graph()->mutable_node(0), "allowzero", 1);
  EXPECT_FALSE(compile_error(b).empty());
}

TEST(Limits, ConvTransposeStrideOverflow) {
  ModelBuilder b = unary_with_consts("ConvTranspose", TP::FLOAT, {1, 1, int64_t(1) << 40},
                                     {tensor_f32("w", {1, 1, 1}, {1.0f})});
  attr_ints(b.graph()->mutable_node(0), "strides", {int64_t(1) << 30});
  EXPECT_FALSE(compile_error(b).empty());
}

TEST(Limits, DepthToSpaceHugeBlock) {
  for (int64_t block : {int64_t(1) << 32, kI64Max, int64_t(0), int64_t(-2)}) {
    SCOPED_TRACE("blocksize " + std::to_string(block));
    ModelBuilder b = unary_with_consts("DepthToSpace", TP::FLOAT, {1, 4, 2, 2}, {});
    attr_i(b.graph()->mutable_node(0), "blocksize", block);
    EXPECT_FALSE(compile_error(b).empty());
    ModelBuilder s = unary_with_consts("SpaceToDepth", TP::FLOAT, {1, 4, 2, 2}, {});
    attr_i(s.graph()->mutable_node(0), "blocksize", block);
    EXPECT_FALSE(compile_error(s).empty());
  }
}

TEST(Limits, OneHotHugeDepth) {
  ModelBuilder b = unary_with_consts("OneHot", TP::INT64, {4},
                                     {tensor_i64("depth", {}, {int64_t(1) << 40}), tensor_f32("values", {2}, {0, 1})});
  EXPECT_FALSE(compile_error(b).empty());
}

TEST(Limits, MatMulBroadcastOverflow) {
  ModelBuilder b;
  b.input("a", TP::FLOAT, {int64_t(1) << 40, 1, 1, 1});
  b.input("b", TP::FLOAT, {1, int64_t(1) << 40, 1, 1});
  b.node("MatMul", {"a", "b"}, {"y"}, "mm");
  b.output_untyped("y");
  EXPECT_FALSE(compile_error(b).empty());
}

TEST(Limits, PoolingHugeWindow) {
  ModelBuilder b = unary_with_consts("MaxPool", TP::FLOAT, {1, 1, 4, 4}, {});
  attr_ints(b.graph()->mutable_node(0), "kernel_shape", {kI64Max, kI64Max});
  EXPECT_FALSE(compile_error(b).empty());
  ModelBuilder p = unary_with_consts("AveragePool", TP::FLOAT, {1, 1, 4, 4}, {});
  attr_ints(p.graph()->mutable_node(0), "kernel_shape", {2, 2});
  attr_ints(p.graph()->mutable_node(0), "pads", {kI64Max, kI64Max, kI64Max, kI64Max});
  EXPECT_FALSE(compile_error(p).empty());
}

// A symbolic batch dimension bound through CompileOptions::dim_values is held to the limit.
TEST(Limits, HugeDimValue) {
  ModelBuilder b;
  b.input("x", TP::FLOAT, {"batch", 1000});
  b.node("Relu", {"x"}, {"r"}, "relu");
  b.node("Relu", {"r"}, {"y"}, "relu2");
  b.output("y", TP::FLOAT, {"batch", 1000});
  CompileOptions o = ref_options();
  o.dim_values["batch"] = int64_t(1) << 40;
  EXPECT_THROW(CompiledModel::compile(load_public(b), o), Error);
  o.dim_values["batch"] = kI64Max;
  EXPECT_THROW(CompiledModel::compile(load_public(b), o), Error);
}

// The arena planner adds sizes and offsets: huge buffers that overlap in time must not wrap.
TEST(Limits, MemoryPlanNeverWraps) {
  using detail::BufferRequest;
  const int64_t big = int64_t(1) << 62;
  EXPECT_THROW(detail::plan_memory({BufferRequest{big, 0, 1}, BufferRequest{big, 0, 1}, BufferRequest{big, 1, 2}}),
               Error);
  EXPECT_THROW(detail::plan_memory({BufferRequest{kI64Max, 0, 0}}), Error);
  // Disjoint lifetimes share the bytes: no overflow, one big slot.
  EXPECT_EQ(detail::plan_memory({BufferRequest{big, 0, 0}, BufferRequest{big, 1, 1}}).total_bytes, big);
}

}  // namespace
}  // namespace octet::testing
