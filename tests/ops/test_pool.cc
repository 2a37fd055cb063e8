// Pooling beyond the ONNX node tests: dilated and strided windows with asymmetric pads and
// ceil_mode in 1-D/2-D/3-D checked against direct loops, AveragePool's divisor rules,
// MaxPool indices in both storage orders, integer MaxPool, LpPool, the global pools,
// MaxUnpool, and error paths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;
using testing::random_f32;


std::vector<float> floats(const Tensor& t) {
  return std::vector<float>(t.data_as<float>(), t.data_as<float>() + t.numel());
}

struct PoolCase {
  int rank = 2;
  std::vector<int64_t> in{1, 9, 8}, kernel{1, 3, 2}, stride{1, 2, 2}, dilation{1, 1, 1};
  std::vector<int64_t> pad_begin{0, 1, 0}, pad_end{0, 0, 1};
  bool ceil_mode = false, count_include_pad = false;
  int64_t p = 2;
};

std::vector<int64_t> last(const std::vector<int64_t>& v, int r) {
  return std::vector<int64_t>(v.end() - r, v.end());
}

// Direct loops over one (N=2, C=3) input; kind is "max", "avg" or "lp". Window positions
// beyond the padded input (ceil_mode) count neither as input nor as padding.
std::vector<double> pool_reference(const PoolCase& c, const std::string& kind, const Tensor& x,
                                   std::vector<int64_t>* out_dims, std::vector<int64_t>* argmax) {
  std::vector<int64_t> out(3, 1);
  for (int a = 0; a < 3; ++a) {
    const int64_t span = (c.kernel[a] - 1) * c.dilation[a] + 1;
    const int64_t padded = c.in[a] + c.pad_begin[a] + c.pad_end[a];
    out[a] = c.ceil_mode ? (padded - span + c.stride[a] - 1) / c.stride[a] + 1
                         : (padded - span) / c.stride[a] + 1;
    if (c.ceil_mode && (out[a] - 1) * c.stride[a] >= c.in[a] + c.pad_begin[a]) --out[a];
  }
  *out_dims = out;
  const int64_t planes = 6, is = c.in[0] * c.in[1] * c.in[2];
  std::vector<double> y;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t od = 0; od < out[0]; ++od)
      for (int64_t oh = 0; oh < out[1]; ++oh)
        for (int64_t ow = 0; ow < out[2]; ++ow) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t valid = 0, padded = 0, arg = -1;
          const int64_t o[3] = {od, oh, ow};
          for (int64_t kd = 0; kd < c.kernel[0]; ++kd)
            for (int64_t kh = 0; kh < c.kernel[1]; ++kh)
              for (int64_t kw = 0; kw < c.kernel[2]; ++kw) {
                const int64_t k[3] = {kd, kh, kw};
                int64_t pos[3];
                bool inside = true, in_padded = true;
                for (int a = 0; a < 3; ++a) {
                  pos[a] = o[a] * c.stride[a] - c.pad_begin[a] + k[a] * c.dilation[a];
                  inside = inside && pos[a] >= 0 && pos[a] < c.in[a];
                  in_padded =
                      in_padded && pos[a] >= -c.pad_begin[a] && pos[a] < c.in[a] + c.pad_end[a];
                }
                padded += in_padded;
                if (!inside) continue;
                const int64_t within = (pos[0] * c.in[1] + pos[1]) * c.in[2] + pos[2];
                const double v = x.data_as<float>()[pl * is + within];
                ++valid;
                sum += kind == "lp" ? std::pow(std::abs(v), double(c.p)) : v;
                if (v > best) {
                  best = v;
                  arg = pl * is + within;
                }
              }
          if (kind == "max") {
            y.push_back(best);
            argmax->push_back(arg);
          } else if (kind == "lp") {
            y.push_back(std::pow(sum, 1.0 / double(c.p)));
          } else {
            y.push_back(sum / double(c.count_include_pad ? padded : valid));
          }
        }
  return y;
}

void check_pool(const PoolCase& c, const std::string& op, const std::string& what) {
  SCOPED_TRACE(what + " " + op);
  const std::string kind = op == "MaxPool" ? "max" : op == "LpPool" ? "lp" : "avg";
  Shape xs{2, 3};
  for (int64_t d : last(c.in, c.rank)) xs.push_back(d);
  Tensor x = random_f32(xs, 21);
  std::vector<int64_t> out, argmax;
  std::vector<double> expected = pool_reference(c, kind, x, &out, &argmax);
  std::vector<int64_t> pads = last(c.pad_begin, c.rank);
  for (int64_t p : last(c.pad_end, c.rank)) pads.push_back(p);
  OpTest t(op, 18);
  t.attr("kernel_shape", last(c.kernel, c.rank))
      .attr("strides", last(c.stride, c.rank))
      .attr("pads", pads)
      .attr("ceil_mode", int64_t(c.ceil_mode));
  if (op == "MaxPool") t.attr("dilations", last(c.dilation, c.rank));
  if (op == "AveragePool") t.attr("count_include_pad", int64_t(c.count_include_pad));
  if (op == "LpPool") t.attr("p", c.p);
  t.input("x", x).output("y");
  if (op == "MaxPool") t.output("i");
  auto y = t.run("ref", 1);
  Shape ys{2, 3};
  for (int64_t d : last(out, c.rank)) ys.push_back(d);
  ASSERT_EQ(y[0].shape(), ys);
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_NEAR(y[0].data_as<float>()[i], expected[i], 1e-5 * (1 + std::abs(expected[i]))) << i;
  if (op == "MaxPool") {
    ASSERT_EQ(y[1].dtype(), DType::s64);
    for (size_t i = 0; i < argmax.size(); ++i)
      ASSERT_EQ(y[1].data_as<int64_t>()[i], argmax[i]) << i;
  }
  auto two = t.run("ref", 2);
  EXPECT_EQ(floats(y[0]), floats(two[0]));
}

TEST(Pool, WindowsMatchDirectLoops) {
  for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) {
    PoolCase c;
    check_pool(c, op, "2-D asymmetric pads");
    c.ceil_mode = true;
    check_pool(c, op, "ceil_mode");
    c.count_include_pad = true;
    check_pool(c, op, "ceil_mode, count_include_pad");
    c = PoolCase();
    c.rank = 1;
    c.in = {1, 1, 13};
    c.kernel = {1, 1, 4};
    c.stride = {1, 1, 3};
    c.pad_begin = {0, 0, 2};
    c.pad_end = {0, 0, 2};
    c.ceil_mode = true;
    c.count_include_pad = true;
    c.p = 3;
    check_pool(c, op, "1-D");
    c = PoolCase();
    c.rank = 3;
    c.in = {5, 6, 7};
    c.kernel = {2, 3, 2};
    c.stride = {2, 1, 3};
    c.pad_begin = {1, 1, 0};
    c.pad_end = {0, 1, 1};
    check_pool(c, op, "3-D");
  }
  PoolCase c;
  c.dilation = {1, 2, 3};
  c.in = {1, 11, 12};
  c.ceil_mode = true;
  check_pool(c, "MaxPool", "dilated");
}

TEST(Pool, AveragePoolDivisorRules) {
  // 1x1x2x2 input of ones, 2x2 window, stride 1, pads 1: the corner window holds one element.
  Tensor x = make_tensor<float>(DType::f32, {1, 1, 2, 2}, {1, 1, 1, 1});
  auto run = [&](int64_t include_pad) {
    return floats(OpTest("AveragePool")
                      .attr("kernel_shape", std::vector<int64_t>{2, 2})
                      .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                      .attr("count_include_pad", include_pad)
                      .input("x", x)
                      .output("y")
                      .run()[0]);
  };
  EXPECT_EQ(run(0), std::vector<float>(9, 1.0f));
  std::vector<float> with_pad = run(1);
  EXPECT_FLOAT_EQ(with_pad[0], 0.25f);
  EXPECT_FLOAT_EQ(with_pad[1], 0.5f);
  EXPECT_FLOAT_EQ(with_pad[4], 1.0f);
}

TEST(Pool, MaxPoolIndicesInColumnMajorOrder) {
  // Two planes of 2x3; the max of each 2x2 window, indices counted down the columns.
  Tensor x = make_tensor<float>(DType::f32, {1, 2, 2, 3},
                                {1, 5, 2, 3, 4, 6, /* plane 2 */ 9, 1, 1, 1, 1, 8});
  OpTest t("MaxPool", 12);
  t.attr("kernel_shape", std::vector<int64_t>{2, 2})
      .attr("storage_order", int64_t(1))
      .input("x", x)
      .output("y")
      .output("i");
  auto y = t.run();
  EXPECT_EQ(floats(y[0]), (std::vector<float>{5, 6, 9, 8}));
  // Plane 1: 5 at (0,1) -> 0 + 1*2 = 2; 6 at (1,2) -> 1 + 2*2 = 5. Plane 2 adds 6.
  std::vector<int64_t> idx(y[1].data_as<int64_t>(), y[1].data_as<int64_t>() + 4);
  EXPECT_EQ(idx, (std::vector<int64_t>{2, 5, 6, 11}));
}

TEST(Pool, MaxPoolOnIntegers) {
  Tensor x = make_tensor<int8_t>(DType::s8, {1, 1, 1, 5}, {-128, -7, 3, -100, 127});
  auto y = OpTest("MaxPool")
               .attr("kernel_shape", std::vector<int64_t>{1, 2})
               .attr("pads", std::vector<int64_t>{0, 1, 0, 0})
               .input("x", x)
               .output("y")
               .run();
  ASSERT_EQ(y[0].dtype(), DType::s8);
  std::vector<int8_t> v(y[0].data_as<int8_t>(), y[0].data_as<int8_t>() + 5);
  EXPECT_EQ(v, (std::vector<int8_t>{-128, -7, 3, 3, 127}));
}

TEST(Pool, GlobalPools) {
  Tensor x = make_tensor<float>(DType::f32, {1, 2, 2, 2}, {1, -2, 3, 4, -5, 6, 7, -8});
  auto avg = OpTest("GlobalAveragePool").input("x", x).output("y").run();
  EXPECT_EQ(avg[0].shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(floats(avg[0]), (std::vector<float>{1.5f, 0.0f}));
  auto mx = OpTest("GlobalMaxPool").input("x", x).output("y").run();
  EXPECT_EQ(floats(mx[0]), (std::vector<float>{4, 7}));
  auto lp = OpTest("GlobalLpPool").attr("p", int64_t(1)).input("x", x).output("y").run();
  EXPECT_EQ(floats(lp[0]), (std::vector<float>{10, 26}));
  auto l2 = OpTest("GlobalLpPool").input("x", x).output("y").run();
  EXPECT_FLOAT_EQ(l2[0].data_as<float>()[0], std::sqrt(30.0f));
  Tensor x3 = random_f32({2, 3, 4, 5, 6}, 5);
  auto g3 = OpTest("GlobalAveragePool").input("x", x3).output("y").run();
  EXPECT_EQ(g3[0].shape(), (Shape{2, 3, 1, 1, 1}));
}

TEST(Pool, MaxUnpoolInvertsMaxPool) {
  Tensor x = random_f32({1, 2, 4, 6}, 9);
  auto pooled = OpTest("MaxPool")
                    .attr("kernel_shape", std::vector<int64_t>{2, 2})
                    .attr("strides", std::vector<int64_t>{2, 2})
                    .input("x", x)
                    .output("y")
                    .output("i")
                    .run();
  auto y = OpTest("MaxUnpool")
               .attr("kernel_shape", std::vector<int64_t>{2, 2})
               .attr("strides", std::vector<int64_t>{2, 2})
               .input("x", pooled[0])
               .input("i", pooled[1])
               .output("y")
               .run();
  ASSERT_EQ(y[0].shape(), x.shape());
  int nonzero = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float v = y[0].data_as<float>()[i];
    if (v != 0) {
      ++nonzero;
      EXPECT_EQ(v, x.data_as<float>()[i]);
    }
  }
  EXPECT_EQ(nonzero, 12);
  // An index outside the output is an error, not a write out of bounds.
  Tensor bad = make_tensor<int64_t>(DType::s64, {1, 1, 1, 1}, {100});
  Tensor one = make_tensor<float>(DType::f32, {1, 1, 1, 1}, {1});
  EXPECT_THROW(OpTest("MaxUnpool")
                   .attr("kernel_shape", std::vector<int64_t>{2, 2})
                   .input("x", one)
                   .input("i", bad)
                   .output("y")
                   .run(),
               Error);
}

TEST(Pool, RejectsBadAttributes) {
  Tensor x = random_f32({1, 1, 4, 4}, 1);
  EXPECT_THROW(OpTest("MaxPool").input("x", x).output("y").run(), Error);  // no kernel_shape
  EXPECT_THROW(OpTest("MaxPool")
                   .attr("kernel_shape", std::vector<int64_t>{2, 2})
                   .attr("storage_order", int64_t(2))
                   .input("x", x)
                   .output("y")
                   .run(),
               Error);
  EXPECT_THROW(OpTest("AveragePool")
                   .attr("kernel_shape", std::vector<int64_t>{5, 5})
                   .input("x", x)
                   .output("y")
                   .run(),
               Error);
  EXPECT_THROW(OpTest("AveragePool")
                   .attr("kernel_shape", std::vector<int64_t>{2})
                   .input("x", x)
                   .output("y")
                   .run(),
               Error);
  EXPECT_THROW(OpTest("MaxPool")
                   .attr("kernel_shape", std::vector<int64_t>{2, 2})
                   .attr("strides", std::vector<int64_t>{0, 1})
                   .input("x", x)
                   .output("y")
                   .run(),
               Error);
  Tensor xi(DType::s32, {1, 1, 4, 4});
  EXPECT_THROW(OpTest("AveragePool")
                   .attr("kernel_shape", std::vector<int64_t>{2, 2})
                   .input("x", xi)
                   .output("y")
                   .run(),
               Error);
}

}  // namespace
}  // namespace octet
