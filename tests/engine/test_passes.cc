// The compiler's passes: constant folding, BatchNorm folding, Identity removal, dead code,
// and the memory limit. Optimised and unoptimised compilations must agree.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "octet/graph/graph.h"
#include "octet/octet.h"

using namespace octet;
using octet::detail::Graph;
using octet::detail::Node;

namespace {

class Builder {
 public:
  Builder() { g_ = std::make_shared<Graph>(); g_->opsets[""] = 17; }
  int input(const std::string& name, Shape shape) {
    int id = g_->add_value(name);
    g_->values[id].dtype = DType::f32;
    g_->values[id].shape = shape;
    g_->values[id].shape_known = true;
    g_->inputs.push_back(id);
    return id;
  }
  int constant(const std::string& name, Tensor t) { return g_->add_const(name, std::move(t)); }
  int node(const std::string& op, std::vector<int> ins, const std::string& out,
           std::map<std::string, detail::Attribute> attrs = {}) {
    Node n;
    n.name = op + "_" + out;
    n.op_type = op;
    n.inputs = std::move(ins);
    n.outputs = {g_->add_value(out)};
    n.attrs = std::move(attrs);
    g_->nodes.push_back(n);
    return n.outputs[0];
  }
  void output(int id) { g_->outputs.push_back(id); }
  Model model() {
    g_->toposort();
    return Model(g_);
  }

 private:
  std::shared_ptr<Graph> g_;
};

Tensor random_tensor(Shape shape, std::mt19937& rng, float lo = -1, float hi = 1) {
  Tensor t(DType::f32, std::move(shape));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = d(rng);
  return t;
}

detail::Attribute ints_attr(std::vector<int64_t> v) {
  detail::Attribute a;
  a.kind = detail::Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}

Tensor run(const Model& m, bool optimize, const std::map<std::string, Tensor>& feeds, std::string* describe = nullptr) {
  CompileOptions opt;
  opt.isa = "ref";
  opt.optimize = optimize;
  CompiledModel cm = CompiledModel::compile(m, opt);
  if (describe) *describe = cm.describe();
  Session s = cm.create_session();
  return s.run(feeds).begin()->second;
}

TEST(Passes, BatchNormFoldsIntoConvAndIdentityDisappears) {
  std::mt19937 rng(3);
  Builder b;
  int x = b.input("x", {1, 3, 8, 8});
  int w = b.constant("w", random_tensor({4, 3, 3, 3}, rng));
  int bias = b.constant("bias", random_tensor({4}, rng));
  int conv = b.node("Conv", {x, w, bias}, "conv", {{"pads", ints_attr({1, 1, 1, 1})}});
  int gamma = b.constant("gamma", random_tensor({4}, rng, 0.5f, 1.5f));
  int beta = b.constant("beta", random_tensor({4}, rng));
  int mean = b.constant("mean", random_tensor({4}, rng));
  int var = b.constant("var", random_tensor({4}, rng, 0.1f, 2.0f));
  int bn = b.node("BatchNormalization", {conv, gamma, beta, mean, var}, "bn");
  int id = b.node("Identity", {bn}, "id");
  int y = b.node("Relu", {id}, "y");
  b.output(y);
  Model m = b.model();
  std::map<std::string, Tensor> feeds{{"x", random_tensor({1, 3, 8, 8}, rng)}};

  std::string plain_desc, opt_desc;
  Tensor plain = run(m, false, feeds, &plain_desc);
  Tensor optimised = run(m, true, feeds, &opt_desc);
  EXPECT_NE(plain_desc.find("BatchNormalization"), std::string::npos);
  EXPECT_EQ(opt_desc.find("BatchNormalization"), std::string::npos) << opt_desc;
  EXPECT_EQ(opt_desc.find("Identity"), std::string::npos) << opt_desc;
  ASSERT_EQ(plain.shape(), optimised.shape());
  for (int64_t i = 0; i < plain.numel(); ++i)
    EXPECT_NEAR(plain.data_as<float>()[i], optimised.data_as<float>()[i], 1e-4) << i;
}

TEST(Passes, ConstantSubgraphsFoldAndDeadBranchesGo) {
  std::mt19937 rng(5);
  Builder b;
  int x = b.input("x", {2, 3});
  int c1 = b.constant("c1", random_tensor({2, 3}, rng));
  int c2 = b.constant("c2", random_tensor({2, 3}, rng));
  int folded = b.node("Add", {c1, c2}, "c1_plus_c2");
  int y = b.node("Mul", {x, folded}, "y");
  b.node("Relu", {x}, "unused_branch");
  b.output(y);
  Model m = b.model();
  Tensor xv = random_tensor({2, 3}, rng);
  std::string desc;
  Tensor out = run(m, true, {{"x", xv}}, &desc);
  EXPECT_EQ(desc.find("Add"), std::string::npos) << desc;
  EXPECT_EQ(desc.find("Relu"), std::string::npos) << desc;
  EXPECT_NE(desc.find("Mul"), std::string::npos) << desc;
  // Same numbers as computing it by hand.
  const Tensor& a = m.graph()->values[c1].data;
  const Tensor& c = m.graph()->values[c2].data;
  for (int i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(out.data_as<float>()[i],
                    xv.data_as<float>()[i] * (a.data_as<float>()[i] + c.data_as<float>()[i]));
}

TEST(Passes, MemoryLimitRejectsHugeIntermediates) {
  Builder b;
  int x = b.input("x", {1000, 1000});
  int y = b.node("Relu", {x}, "y");
  int z = b.node("Relu", {y}, "z");
  b.output(z);
  Model m = b.model();
  CompileOptions opt;
  opt.isa = "ref";
  opt.max_memory_bytes = 1000;  // far below the 4 MB the intermediate needs
  EXPECT_THROW(CompiledModel::compile(m, opt), Error);
}

TEST(Passes, SessionRejectsWrongInputs) {
  Builder b;
  int x = b.input("x", {2, 3});
  b.output(b.node("Relu", {x}, "y"));
  Model m = b.model();
  CompileOptions opt;
  opt.isa = "ref";
  CompiledModel cm = CompiledModel::compile(m, opt);
  Session s = cm.create_session();
  EXPECT_THROW(s.run({}), Error);                                                // missing
  EXPECT_THROW(s.run({{"x", Tensor(DType::f32, {3, 2})}}), Error);               // shape
  EXPECT_THROW(s.run({{"x", Tensor(DType::s32, {2, 3})}}), Error);               // dtype
  EXPECT_THROW(s.run({{"x", Tensor(DType::f32, {2, 3})}, {"bogus", Tensor(DType::f32, {1})}}), Error);
  EXPECT_NO_THROW(s.run({{"x", Tensor(DType::f32, {2, 3})}}));
}

TEST(Passes, ArenaIsSmallerThanTheSumOfIntermediates) {
  Builder b;
  int cur = b.input("x", {256, 256});
  for (int i = 0; i < 8; ++i) cur = b.node("Relu", {cur}, "r" + std::to_string(i));
  b.output(cur);
  Model m = b.model();
  CompileOptions opt;
  opt.isa = "ref";
  CompiledModel cm = CompiledModel::compile(m, opt);
  // 7 intermediates of 256 KiB each, but only two are ever live at once.
  EXPECT_EQ(cm.arena_bytes(), size_t(2) * 256 * 256 * 4);
}

}  // namespace
