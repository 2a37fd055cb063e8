// Conv and ConvTranspose: attribute combinations the ONNX node tests leave out (groups,
// dilations, asymmetric pads, SAME_LOWER, 1-D and 3-D, shapes large enough to tile the
// im2col buffer), checked against direct textbook loops in double; thread-count independence;
// error paths.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::OpTest;

Tensor random_tensor(DType dt, Shape shape, uint32_t seed) {
  Tensor t(dt, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dt == DType::f64)
      t.data_as<double>()[i] = dist(gen);
    else
      t.data_as<float>()[i] = static_cast<float>(dist(gen));
  }
  return t;
}

double at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::f64 ? t.data_as<double>()[i] : t.data_as<float>()[i];
}

// Spatial attributes of one test case, always given for three dims (D, H, W); a case of
// spatial rank r uses the last r.
struct ConvCase {
  int rank = 2;
  int64_t n = 1, c = 4, m = 6, group = 1;
  std::vector<int64_t> in{1, 7, 9}, kernel{1, 3, 3}, stride{1, 1, 1}, dilation{1, 1, 1};
  std::vector<int64_t> pad_begin{0, 0, 0}, pad_end{0, 0, 0};
  std::string auto_pad = "NOTSET";
  bool bias = true;
  DType dtype = DType::f32;
};

std::vector<int64_t> last(const std::vector<int64_t>& v, int r) {
  return std::vector<int64_t>(v.end() - r, v.end());
}

Shape x_shape(const ConvCase& c) {
  Shape s{c.n, c.c};
  for (int64_t d : last(c.in, c.rank)) s.push_back(d);
  return s;
}

// Output dims and the begin pads actually used (auto_pad resolved).
void conv_out_dims(const ConvCase& c, std::vector<int64_t>* out, std::vector<int64_t>* pb) {
  out->assign(3, 1);
  pb->assign(3, 0);
  for (int a = 3 - c.rank; a < 3; ++a) {
    const int64_t span = (c.kernel[a] - 1) * c.dilation[a] + 1;
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
      (*out)[a] = (c.in[a] + c.stride[a] - 1) / c.stride[a];
      const int64_t total = std::max<int64_t>(0, ((*out)[a] - 1) * c.stride[a] + span - c.in[a]);
      (*pb)[a] = c.auto_pad == "SAME_UPPER" ? total / 2 : (total + 1) / 2;
    } else if (c.auto_pad == "VALID") {
      (*out)[a] = (c.in[a] - span) / c.stride[a] + 1;
    } else {
      (*pb)[a] = c.pad_begin[a];
      (*out)[a] = (c.in[a] + c.pad_begin[a] + c.pad_end[a] - span) / c.stride[a] + 1;
    }
  }
}

// Textbook convolution, accumulated in double.
std::vector<double> conv_reference(const ConvCase& c, const Tensor& x, const Tensor& w,
                                   const Tensor* b) {
  std::vector<int64_t> out, pb;
  conv_out_dims(c, &out, &pb);
  const int64_t cg = c.c / c.group, mg = c.m / c.group;
  std::vector<double> y;
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t od = 0; od < out[0]; ++od)
        for (int64_t oh = 0; oh < out[1]; ++oh)
          for (int64_t ow = 0; ow < out[2]; ++ow) {
            double s = b ? at(*b, m) : 0.0;
            const int64_t g = m / mg;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t kd = 0; kd < c.kernel[0]; ++kd)
                for (int64_t kh = 0; kh < c.kernel[1]; ++kh)
                  for (int64_t kw = 0; kw < c.kernel[2]; ++kw) {
                    const int64_t id = od * c.stride[0] - pb[0] + kd * c.dilation[0];
                    const int64_t ih = oh * c.stride[1] - pb[1] + kh * c.dilation[1];
                    const int64_t iw = ow * c.stride[2] - pb[2] + kw * c.dilation[2];
                    if (id < 0 || id >= c.in[0] || ih < 0 || ih >= c.in[1] || iw < 0 ||
                        iw >= c.in[2])
                      continue;
                    const int64_t xi =
                        (((n * c.c + g * cg + ci) * c.in[0] + id) * c.in[1] + ih) * c.in[2] + iw;
                    const int64_t wi =
                        ((m * cg + ci) * c.kernel[0] + kd) * c.kernel[1] * c.kernel[2] +
                        kh * c.kernel[2] + kw;
                    s += at(x, xi) * at(w, wi);
                  }
            y.push_back(s);
          }
  return y;
}

OpTest make_conv(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  OpTest t("Conv", 17);
  t.attr("group", c.group)
      .attr("strides", last(c.stride, c.rank))
      .attr("dilations", last(c.dilation, c.rank));
  if (c.auto_pad == "NOTSET") {
    std::vector<int64_t> pads = last(c.pad_begin, c.rank);
    for (int64_t p : last(c.pad_end, c.rank)) pads.push_back(p);
    t.attr("pads", pads);
  } else {
    t.attr("auto_pad", c.auto_pad);
  }
  t.input("x", x).const_input("w", w);
  if (c.bias) t.const_input("b", b);
  t.output("y");
  return t;
}

void check_conv(const ConvCase& c, const std::string& what) {
  SCOPED_TRACE(what);
  Tensor x = random_tensor(c.dtype, x_shape(c), 1);
  Shape ws{c.m, c.c / c.group};
  for (int64_t k : last(c.kernel, c.rank)) ws.push_back(k);
  Tensor w = random_tensor(c.dtype, ws, 2);
  Tensor b = random_tensor(c.dtype, {c.m}, 3);
  std::vector<double> expected = conv_reference(c, x, w, c.bias ? &b : nullptr);
  std::vector<int64_t> out, pb;
  conv_out_dims(c, &out, &pb);
  Shape ys{c.n, c.m};
  for (int64_t d : last(out, c.rank)) ys.push_back(d);

  OpTest t = make_conv(c, x, w, b);
  std::vector<Tensor> one = t.run("ref", 1);
  ASSERT_EQ(one[0].shape(), ys);
  ASSERT_EQ(one[0].numel(), static_cast<int64_t>(expected.size()));
  const double tol = c.dtype == DType::f64 ? 1e-10 : 1e-4;
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_NEAR(at(one[0], i), expected[i], tol * (1 + std::abs(expected[i]))) << "element " << i;
  // The thread count must not change a single bit.
  std::vector<Tensor> two = t.run("ref", 2);
  ASSERT_EQ(0, std::memcmp(one[0].data(), two[0].data(), one[0].nbytes()));
}

TEST(Conv, MatchesDirectLoopsOnAwkwardAttributes) {
  ConvCase c;
  check_conv(c, "plain 3x3");
  c.pad_begin = {0, 0, 1};
  c.pad_end = {0, 2, 0};
  c.stride = {1, 2, 3};
  check_conv(c, "asymmetric pads, uneven strides");
  c.dilation = {1, 2, 1};
  check_conv(c, "dilation");
  c.group = 2;
  check_conv(c, "two groups");
  c.bias = false;
  check_conv(c, "no bias");
  c = ConvCase();
  c.c = 6;
  c.m = 12;
  c.group = 6;
  check_conv(c, "depthwise with multiplier 2");
  c.auto_pad = "SAME_LOWER";
  c.stride = {1, 2, 2};
  c.kernel = {1, 4, 2};
  check_conv(c, "SAME_LOWER with even kernel");
  c.auto_pad = "SAME_UPPER";
  check_conv(c, "SAME_UPPER with even kernel");
  c.auto_pad = "VALID";
  check_conv(c, "VALID");
}

TEST(Conv, OneAndThreeSpatialDims) {
  ConvCase c;
  c.rank = 1;
  c.in = {1, 1, 17};
  c.kernel = {1, 1, 5};
  c.stride = {1, 1, 2};
  c.dilation = {1, 1, 2};
  c.pad_begin = {0, 0, 3};
  c.pad_end = {0, 0, 1};
  check_conv(c, "1-D");
  c = ConvCase();
  c.rank = 3;
  c.n = 2;
  c.in = {5, 6, 7};
  c.kernel = {2, 3, 3};
  c.stride = {2, 1, 2};
  c.pad_begin = {1, 1, 0};
  c.pad_end = {0, 1, 1};
  c.group = 2;
  check_conv(c, "3-D, batch 2, groups");
}

TEST(Conv, LargeShapesThatTileTheIm2colBuffer) {
  ConvCase c;
  c.c = 64;
  c.m = 40;
  c.in = {1, 45, 47};  // 64*9 rows x 2115 columns: several tiles and a ragged last one
  c.pad_begin = {0, 1, 1};
  c.pad_end = {0, 1, 1};
  check_conv(c, "3x3 over 64 channels");
  c.kernel = {1, 1, 1};
  c.pad_begin = c.pad_end = {0, 0, 0};
  check_conv(c, "pointwise (read in place)");
  c.m = 64;
  c.group = 64;
  c.kernel = {1, 3, 3};
  c.n = 3;
  check_conv(c, "depthwise: many small tasks");
}

TEST(Conv, Float64) {
  ConvCase c;
  c.dtype = DType::f64;
  c.stride = {1, 2, 2};
  c.pad_begin = {0, 1, 1};
  check_conv(c, "f64");
}

TEST(Conv, KernelShapeAttributeMustMatchTheWeight) {
  Tensor x = random_tensor(DType::f32, {1, 2, 5, 5}, 1);
  Tensor w = random_tensor(DType::f32, {3, 2, 3, 3}, 2);
  auto ok = OpTest("Conv")
                .attr("kernel_shape", std::vector<int64_t>{3, 3})
                .input("x", x)
                .const_input("w", w)
                .output("y")
                .run();
  EXPECT_EQ(ok[0].shape(), (Shape{1, 3, 3, 3}));
  EXPECT_THROW(OpTest("Conv")
                   .attr("kernel_shape", std::vector<int64_t>{2, 2})
                   .input("x", x)
                   .const_input("w", w)
                   .output("y")
                   .run(),
               Error);
}

TEST(Conv, RejectsInconsistentInputs) {
  Tensor x = random_tensor(DType::f32, {1, 4, 5, 5}, 1);
  auto conv = [&](const Tensor& w, int64_t group, std::vector<int64_t> pads) {
    return OpTest("Conv")
        .attr("group", group)
        .attr("pads", pads)
        .input("x", x)
        .const_input("w", w)
        .output("y")
        .run();
  };
  const std::vector<int64_t> no_pads{0, 0, 0, 0};
  // W channels do not match X.
  EXPECT_THROW(conv(random_tensor(DType::f32, {2, 3, 3, 3}, 2), 1, no_pads), Error);
  // Groups do not divide the output channels.
  EXPECT_THROW(conv(random_tensor(DType::f32, {3, 2, 3, 3}, 2), 2, no_pads), Error);
  // W rank differs from X rank.
  EXPECT_THROW(conv(random_tensor(DType::f32, {2, 4, 3}, 2), 1, no_pads), Error);
  // A kernel larger than the padded input.
  EXPECT_THROW(conv(random_tensor(DType::f32, {2, 4, 7, 7}, 2), 1, no_pads), Error);
  // Negative pads.
  EXPECT_THROW(conv(random_tensor(DType::f32, {2, 4, 3, 3}, 2), 1, {-1, 0, 0, 0}), Error);
  // Wrong number of pads.
  EXPECT_THROW(conv(random_tensor(DType::f32, {2, 4, 3, 3}, 2), 1, {1, 1}), Error);
  // Integer input.
  Tensor xi(DType::s32, {1, 4, 5, 5});
  Tensor wi(DType::s32, {2, 4, 3, 3});
  EXPECT_THROW(OpTest("Conv").input("x", xi).const_input("w", wi).output("y").run(), Error);
  // A bias of the wrong length.
  EXPECT_THROW(OpTest("Conv")
                   .input("x", x)
                   .const_input("w", random_tensor(DType::f32, {2, 4, 3, 3}, 2))
                   .const_input("b", random_tensor(DType::f32, {3}, 3))
                   .output("y")
                   .run(),
               Error);
}

// ---- ConvTranspose ------------------------------------------------------------------------

struct TransposeCase {
  int rank = 2;
  int64_t n = 1, c = 4, m = 6, group = 1;
  std::vector<int64_t> in{1, 4, 5}, kernel{1, 3, 3}, stride{1, 1, 1}, dilation{1, 1, 1};
  std::vector<int64_t> pad_begin{0, 0, 0}, pad_end{0, 0, 0}, output_padding{0, 0, 0};
  std::vector<int64_t> output_shape;  // spatial, when given
  std::string auto_pad = "NOTSET";
  bool bias = true;
};

// Scatter form of the definition: every input element adds weight * x at each tap.
std::vector<double> conv_transpose_reference(const TransposeCase& c, const Tensor& x,
                                             const Tensor& w, const Tensor* b,
                                             std::vector<int64_t>* out_dims) {
  std::vector<int64_t> out(3, 1), pb(3, 0);
  for (int a = 3 - c.rank; a < 3; ++a) {
    const int64_t full =
        c.stride[a] * (c.in[a] - 1) + c.output_padding[a] + (c.kernel[a] - 1) * c.dilation[a] + 1;
    if (!c.output_shape.empty() || c.auto_pad != "NOTSET") {
      out[a] = !c.output_shape.empty() ? c.output_shape[a - (3 - c.rank)] : c.in[a] * c.stride[a];
      const int64_t total = std::max<int64_t>(0, full - out[a]);
      pb[a] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      pb[a] = c.pad_begin[a];
      out[a] = full - c.pad_begin[a] - c.pad_end[a];
    }
  }
  *out_dims = out;
  const int64_t cg = c.c / c.group, mg = c.m / c.group;
  const int64_t os = out[0] * out[1] * out[2];
  std::vector<double> y(static_cast<size_t>(c.n * c.m * os), 0.0);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t o = 0; o < os; ++o) y[(n * c.m + m) * os + o] = b ? at(*b, m) : 0.0;
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t ci = 0; ci < c.c; ++ci)
      for (int64_t id = 0; id < c.in[0]; ++id)
        for (int64_t ih = 0; ih < c.in[1]; ++ih)
          for (int64_t iw = 0; iw < c.in[2]; ++iw) {
            const double xv =
                at(x, (((n * c.c + ci) * c.in[0] + id) * c.in[1] + ih) * c.in[2] + iw);
            const int64_t g = ci / cg;
            for (int64_t mm = 0; mm < mg; ++mm)
              for (int64_t kd = 0; kd < c.kernel[0]; ++kd)
                for (int64_t kh = 0; kh < c.kernel[1]; ++kh)
                  for (int64_t kw = 0; kw < c.kernel[2]; ++kw) {
                    const int64_t od = id * c.stride[0] - pb[0] + kd * c.dilation[0];
                    const int64_t oh = ih * c.stride[1] - pb[1] + kh * c.dilation[1];
                    const int64_t ow = iw * c.stride[2] - pb[2] + kw * c.dilation[2];
                    if (od < 0 || od >= out[0] || oh < 0 || oh >= out[1] || ow < 0 || ow >= out[2])
                      continue;
                    const int64_t wi =
                        ((ci * mg + mm) * c.kernel[0] + kd) * c.kernel[1] * c.kernel[2] +
                        kh * c.kernel[2] + kw;
                    const int64_t m = g * mg + mm;
                    y[(n * c.m + m) * os + (od * out[1] + oh) * out[2] + ow] += xv * at(w, wi);
                  }
          }
  return y;
}

void check_conv_transpose(const TransposeCase& c, const std::string& what) {
  SCOPED_TRACE(what);
  Shape xs{c.n, c.c};
  for (int64_t d : last(c.in, c.rank)) xs.push_back(d);
  Shape ws{c.c, c.m / c.group};
  for (int64_t k : last(c.kernel, c.rank)) ws.push_back(k);
  Tensor x = random_tensor(DType::f32, xs, 4);
  Tensor w = random_tensor(DType::f32, ws, 5);
  Tensor b = random_tensor(DType::f32, {c.m}, 6);
  std::vector<int64_t> out;
  std::vector<double> expected = conv_transpose_reference(c, x, w, c.bias ? &b : nullptr, &out);

  OpTest t("ConvTranspose", 17);
  t.attr("group", c.group)
      .attr("strides", last(c.stride, c.rank))
      .attr("dilations", last(c.dilation, c.rank))
      .attr("output_padding", last(c.output_padding, c.rank));
  if (!c.output_shape.empty()) t.attr("output_shape", c.output_shape);
  if (c.auto_pad != "NOTSET") {
    t.attr("auto_pad", c.auto_pad);
  } else if (c.output_shape.empty()) {
    std::vector<int64_t> pads = last(c.pad_begin, c.rank);
    for (int64_t p : last(c.pad_end, c.rank)) pads.push_back(p);
    t.attr("pads", pads);
  }
  t.input("x", x).const_input("w", w);
  if (c.bias) t.const_input("b", b);
  t.output("y");
  std::vector<Tensor> one = t.run("ref", 1);
  Shape ys{c.n, c.m};
  for (int64_t d : last(out, c.rank)) ys.push_back(d);
  ASSERT_EQ(one[0].shape(), ys);
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_NEAR(at(one[0], i), expected[i], 1e-4 * (1 + std::abs(expected[i]))) << "element " << i;
  std::vector<Tensor> two = t.run("ref", 2);
  ASSERT_EQ(0, std::memcmp(one[0].data(), two[0].data(), one[0].nbytes()));
}

TEST(ConvTranspose, MatchesTheScatterDefinition) {
  TransposeCase c;
  check_conv_transpose(c, "plain");
  c.stride = {1, 2, 3};
  c.pad_begin = {0, 1, 0};
  c.pad_end = {0, 0, 2};
  check_conv_transpose(c, "strides and asymmetric pads");
  c.dilation = {1, 2, 2};
  c.output_padding = {0, 1, 2};
  check_conv_transpose(c, "dilations and output_padding");
  c.group = 2;
  c.bias = false;
  check_conv_transpose(c, "groups, no bias");
  c = TransposeCase();
  c.stride = {1, 2, 2};
  c.output_shape = {10, 12};  // larger than the full output: extra bias-only rows and columns
  check_conv_transpose(c, "output_shape beyond the full extent");
  c.output_shape = {8, 9};  // smaller: pads derived, the larger half first
  check_conv_transpose(c, "output_shape with derived pads");
  c.output_shape.clear();
  c.auto_pad = "SAME_UPPER";
  c.kernel = {1, 4, 4};
  check_conv_transpose(c, "SAME_UPPER");
  c.auto_pad = "SAME_LOWER";
  check_conv_transpose(c, "SAME_LOWER");
}

TEST(ConvTranspose, OneAndThreeSpatialDims) {
  TransposeCase c;
  c.rank = 1;
  c.in = {1, 1, 9};
  c.kernel = {1, 1, 4};
  c.stride = {1, 1, 3};
  c.pad_begin = {0, 0, 2};
  check_conv_transpose(c, "1-D");
  c = TransposeCase();
  c.rank = 3;
  c.n = 2;
  c.in = {3, 4, 3};
  c.kernel = {2, 2, 3};
  c.stride = {2, 1, 2};
  c.group = 2;
  check_conv_transpose(c, "3-D");
}

TEST(ConvTranspose, RejectsInconsistentInputs) {
  Tensor x = random_tensor(DType::f32, {1, 4, 5, 5}, 1);
  // W's first dim must be X's channels.
  EXPECT_THROW(OpTest("ConvTranspose")
                   .input("x", x)
                   .const_input("w", random_tensor(DType::f32, {3, 2, 3, 3}, 2))
                   .output("y")
                   .run(),
               Error);
  // Pads larger than the full output.
  EXPECT_THROW(OpTest("ConvTranspose")
                   .attr("pads", std::vector<int64_t>{4, 4, 4, 4})
                   .input("x", x)
                   .const_input("w", random_tensor(DType::f32, {4, 2, 3, 3}, 2))
                   .output("y")
                   .run(),
               Error);
}

}  // namespace
}  // namespace octet
