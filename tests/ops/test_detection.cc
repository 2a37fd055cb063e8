// Detection family: NonMaxSuppression (score threshold, several classes and batches, the
// per-class limit, ties, both box formats, flipped corners, the compile-time count and its
// run-time check) and RoiAlign against a direct double loop over every sampling point (both
// coordinate modes, avg and max, adaptive and fixed sampling, rois partly or wholly outside the
// image, threads), and the error paths of both.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "ops/op_util.h"
#include "ops/op_test_util.h"

namespace octet {
namespace {

using testing::make_tensor;
using testing::OpTest;

Tensor f32(Shape shape, const std::vector<float>& v) { return make_tensor<float>(DType::f32, std::move(shape), v); }
Tensor s64(Shape shape, const std::vector<int64_t>& v) { return make_tensor<int64_t>(DType::s64, std::move(shape), v); }

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data_as<T>(), t.data_as<T>() + t.numel());
}

void expect_error(OpTest t, const std::string& needle) {
  try {
    t.run();
    ADD_FAILURE() << "no error; expected one containing \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---- NonMaxSuppression --------------------------------------------------------------------

// Constant inputs (the count is resolved at compile time); thresholds omitted when negative
// max_out / NaN thresholds are passed as "absent".
OpTest nms(const Tensor& boxes, const Tensor& scores, int64_t max_out, float iou, float score = NAN,
           int64_t center_point_box = 0) {
  OpTest t("NonMaxSuppression", 11);
  t.attr("center_point_box", center_point_box).const_input("boxes", boxes).const_input("scores", scores);
  t.const_input("max", s64({1}, {max_out})).const_input("iou", f32({1}, {iou}));
  if (!std::isnan(score)) t.const_input("score", f32({}, {score}));
  t.output("selected");
  return t;
}

// Six boxes [y1, x1, y2, x2] in two clusters: 0, 1, 2 overlap (IoU(0,1) = 0.9/1.1, IoU(0,2) =
// 0.5/1.5), 3, 4, 5 are apart.
Tensor six_boxes(int batches = 1) {
  std::vector<float> one = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 0.5f, 1, 1.5f, 0, 10, 1, 11, 0, 20, 1, 21, 0, 30, 1, 31};
  std::vector<float> all;
  for (int b = 0; b < batches; ++b) all.insert(all.end(), one.begin(), one.end());
  return f32({batches, 6, 4}, all);
}

TEST(NonMaxSuppression, SuppressesByIouInScoreOrder) {
  const Tensor scores = f32({1, 1, 6}, {0.9f, 0.95f, 0.8f, 0.3f, 0.6f, 0.1f});
  // 1 first (top score) suppresses 0 (IoU 0.82); 2 has IoU 0.6/1.4 = 0.43 with 1: kept at 0.5.
  auto y = nms(six_boxes(), scores, 10, 0.5f).run()[0];
  EXPECT_EQ(y.shape(), (Shape{5, 3}));
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 0, 1, 0, 0, 2, 0, 0, 4, 0, 0, 3, 0, 0, 5}));
  // iou_threshold 0.4: 2 is suppressed too.
  auto tight = nms(six_boxes(), scores, 10, 0.4f).run()[0];
  EXPECT_EQ(values<int64_t>(tight), (std::vector<int64_t>{0, 0, 1, 0, 0, 4, 0, 0, 3, 0, 0, 5}));
  // IoU exactly at the threshold (1 / 2) does not suppress: the test is IoU > threshold.
  const Tensor halves = f32({1, 2, 4}, {0, 0, 1, 2, 0, 0, 1, 1});
  const Tensor two = f32({1, 1, 2}, {0.9f, 0.8f});
  EXPECT_EQ(nms(halves, two, 5, 0.5f).run()[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(nms(halves, two, 5, 0.49f).run()[0].shape(), (Shape{1, 3}));
}

TEST(NonMaxSuppression, ScoreThresholdIsStrict) {
  const Tensor scores = f32({1, 1, 6}, {0.9f, 0.95f, 0.8f, 0.3f, 0.6f, 0.1f});
  // score > 0.6 only: box 4 (exactly 0.6) is not a candidate.
  auto y = nms(six_boxes(), scores, 10, 0.5f, 0.6f).run()[0];
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 0, 1, 0, 0, 2}));
  auto none = nms(six_boxes(), scores, 10, 0.5f, 0.99f).run()[0];
  EXPECT_EQ(none.shape(), (Shape{0, 3}));
}

TEST(NonMaxSuppression, ClassesBatchesAndLimit) {
  // Batch 0 / batch 1 have different scores; class 1 prefers the far boxes.
  const Tensor scores = f32({2, 2, 6}, {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f,   // b0 c0
                                        0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f,   // b0 c1
                                        0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f,   // b1 c0
                                        0.9f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f});  // b1 c1
  auto y = nms(six_boxes(2), scores, 2, 0.5f).run()[0];
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 0, 0, 0, 0, 2,  // 1 suppressed by 0
                                                       0, 1, 5, 0, 1, 4,  //
                                                       1, 0, 5, 1, 0, 4,  //
                                                       1, 1, 0, 1, 1, 2}));  // 1 suppressed by 0, 2 kept
  // A huge limit is bounded by the boxes: never an allocation of its size.
  auto all = nms(six_boxes(2), scores, std::numeric_limits<int64_t>::max(), 1.0f).run()[0];
  EXPECT_EQ(all.shape(), (Shape{24, 3}));
  // Zero or negative: nothing selected.
  EXPECT_EQ(nms(six_boxes(2), scores, 0, 0.5f).run()[0].shape(), (Shape{0, 3}));
  EXPECT_EQ(nms(six_boxes(2), scores, -5, 0.5f).run()[0].shape(), (Shape{0, 3}));
}

TEST(NonMaxSuppression, TiesKeepTheLowerIndexFirst) {
  const Tensor scores = f32({1, 1, 6}, {0.5f, 0.5f, 0.5f, 0.7f, 0.5f, 0.7f});
  auto y = nms(six_boxes(), scores, 10, 0.5f).run()[0];
  // 3 and 5 tie at 0.7 (3 first); then 0 suppresses 1, not 2 (IoU 1/3); then 4.
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 0, 3, 0, 0, 5, 0, 0, 0, 0, 0, 2, 0, 0, 4}));
}

TEST(NonMaxSuppression, CenterPointAndFlippedBoxes) {
  // The same three boxes as centers [x, y, w, h] and as corners with flipped pairs.
  const Tensor centers = f32({1, 3, 4}, {0.5f, 0.5f, 1, 1, 0.6f, 0.5f, 1, 1, 5, 5, 1, 1});
  const Tensor flipped = f32({1, 3, 4}, {1, 1, 0, 0, 0, 1.1f, 1, 0.1f, 5.5f, 4.5f, 4.5f, 5.5f});
  const Tensor scores = f32({1, 1, 3}, {0.7f, 0.9f, 0.8f});
  const std::vector<int64_t> expected = {0, 0, 1, 0, 0, 2};
  EXPECT_EQ(values<int64_t>(nms(centers, scores, 5, 0.5f, NAN, 1).run()[0]), expected);
  EXPECT_EQ(values<int64_t>(nms(flipped, scores, 5, 0.5f).run()[0]), expected);
  // Boxes without area never suppress.
  const Tensor flat = f32({1, 2, 4}, {0, 0, 0, 1, 0, 0, 0, 1});
  EXPECT_EQ(nms(flat, f32({1, 1, 2}, {0.9f, 0.8f}), 5, 0.0f).run()[0].shape(), (Shape{2, 3}));
}

TEST(NonMaxSuppression, CountWithoutConstantData) {
  // max_output_boxes_per_class absent: no rows whatever the boxes, so runtime boxes compile.
  auto y = OpTest("NonMaxSuppression", 10)
               .input("boxes", six_boxes())
               .input("scores", f32({1, 1, 6}, {1, 1, 1, 1, 1, 1}))
               .output("selected")
               .run()[0];
  EXPECT_EQ(y.shape(), (Shape{0, 3}));
  // A positive limit with runtime boxes: the count is data-dependent, refused at compile time.
  OpTest runtime("NonMaxSuppression", 11);
  runtime.input("boxes", six_boxes()).input("scores", f32({1, 1, 6}, {1, 1, 1, 1, 1, 1}));
  runtime.const_input("max", s64({}, {3})).output("selected");
  expect_error(runtime, "must be a constant");
}

TEST(NonMaxSuppression, KernelChecksTheCompiledCount) {
  // The kernel compiled for one set of constants, run on other inputs, refuses to write a count
  // that differs from the planned output.
  detail::Graph g;
  g.opsets[""] = 11;
  const Tensor boxes = six_boxes(), max_out = s64({1}, {10});
  const Tensor scores = f32({1, 1, 6}, {0.9f, 0.95f, 0.8f, 0.3f, 0.6f, 0.1f});
  detail::Node n;
  n.op_type = "NonMaxSuppression";
  n.name = "nms";
  n.inputs = {g.add_const("boxes", boxes), g.add_const("scores", scores), g.add_const("max", max_out)};
  n.outputs = {g.add_value("selected")};
  g.nodes.push_back(n);
  const detail::OpDef* def = detail::OpRegistry::instance().find("", "NonMaxSuppression");
  ASSERT_NE(def, nullptr);
  detail::NodeContext ctx(g, 0);
  def->infer(ctx);
  auto kernel = def->create(ctx);
  Tensor out(DType::s64, g.values[n.outputs[0]].shape);
  ASSERT_EQ(out.shape(), (Shape{4, 3}));  // iou_threshold 0: 1 keeps 4, 3, 5
  detail::KernelContext kc;
  kc.outputs = {&out};
  kc.inputs = {&boxes, &scores, &max_out};
  kernel->run(kc);  // the compiled inputs: fine
  const Tensor fewer = s64({1}, {2});
  kc.inputs = {&boxes, &scores, &fewer};
  EXPECT_THROW(kernel->run(kc), Error);
}

TEST(NonMaxSuppression, Errors) {
  const Tensor scores = f32({1, 1, 6}, {1, 1, 1, 1, 1, 1});
  expect_error(nms(f32({1, 6, 3}, std::vector<float>(18, 0.0f)), scores, 1, 0.5f), "boxes (input 0)");
  expect_error(nms(f32({6, 4}, std::vector<float>(24, 0.0f)), scores, 1, 0.5f), "boxes (input 0)");
  expect_error(nms(six_boxes(), f32({1, 1, 5}, {1, 1, 1, 1, 1}), 1, 0.5f), "scores (input 1)");
  expect_error(nms(six_boxes(2), scores, 1, 0.5f), "scores (input 1)");
  expect_error(nms(six_boxes(), scores, 1, 0.5f, NAN, 2), "center_point_box");
  OpTest two_limits("NonMaxSuppression", 11);
  two_limits.const_input("b", six_boxes()).const_input("s", scores).const_input("m", s64({2}, {1, 2}));
  expect_error(two_limits.output("y"), "max_output_boxes_per_class");
  OpTest int_iou("NonMaxSuppression", 11);
  int_iou.const_input("b", six_boxes()).const_input("s", scores).const_input("m", s64({1}, {1}));
  int_iou.const_input("iou", s64({1}, {0}));
  expect_error(int_iou.output("y"), "iou_threshold");
  OpTest f64_boxes("NonMaxSuppression", 11);
  f64_boxes.const_input("b", make_tensor<double>(DType::f64, {1, 1, 4}, {0, 0, 1, 1}));
  f64_boxes.const_input("s", f32({1, 1, 1}, {1}));
  expect_error(f64_boxes.output("y"), "unsupported dtype");
}

// ---- RoiAlign -----------------------------------------------------------------------------

struct RoiCase {
  int64_t out_h = 2, out_w = 3, sampling_ratio = 0;
  float spatial_scale = 1.0f;
  std::string mode = "avg", coord = "half_pixel";
};

// Every sampling point of every bin, as the ONNX reference describes it, in double.
std::vector<double> roi_align_direct(const Tensor& x, const Tensor& rois, const Tensor& batch, const RoiCase& k) {
  const int64_t c = x.shape()[1], h = x.shape()[2], w = x.shape()[3], n = rois.shape()[0];
  std::vector<double> out;
  const bool half = k.coord == "half_pixel";
  for (int64_t r = 0; r < n; ++r) {
    const float* roi = rois.data_as<float>() + r * 4;
    const double off = half ? 0.5 : 0.0, s = k.spatial_scale;
    const double x0 = roi[0] * s - off, y0 = roi[1] * s - off;
    double rw = roi[2] * s - off - x0, rh = roi[3] * s - off - y0;
    if (!half) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
    const double bh = rh / k.out_h, bw = rw / k.out_w;
    const int64_t gh = k.sampling_ratio > 0 ? k.sampling_ratio : int64_t(std::ceil(rh / k.out_h));
    const int64_t gw = k.sampling_ratio > 0 ? k.sampling_ratio : int64_t(std::ceil(rw / k.out_w));
    const double count = std::max<double>(double(gh) * double(gw), 1.0);
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* p = x.data_as<float>() + (batch.data_as<int64_t>()[r] * c + ch) * h * w;
      for (int64_t ph = 0; ph < k.out_h; ++ph)
        for (int64_t pw = 0; pw < k.out_w; ++pw) {
          double sum = 0, best = 0;
          bool first = true;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              double yy = y0 + ph * bh + (iy + 0.5) * bh / gh, xx = x0 + pw * bw + (ix + 0.5) * bw / gw;
              double terms[4] = {0, 0, 0, 0};
              if (!(yy < -1.0 || yy > h || xx < -1.0 || xx > w)) {
                yy = std::max(yy, 0.0);
                xx = std::max(xx, 0.0);
                int64_t yl = int64_t(yy), xl = int64_t(xx), yh = yl + 1, xh = xl + 1;
                if (yl >= h - 1) yl = yh = h - 1, yy = double(yl);
                if (xl >= w - 1) xl = xh = w - 1, xx = double(xl);
                const double ly = yy - yl, lx = xx - xl, hy = 1 - ly, hx = 1 - lx;
                terms[0] = hy * hx * p[yl * w + xl];
                terms[1] = hy * lx * p[yl * w + xh];
                terms[2] = ly * hx * p[yh * w + xl];
                terms[3] = ly * lx * p[yh * w + xh];
              }
              sum += terms[0] + terms[1] + terms[2] + terms[3];
              const double m = std::max({terms[0], terms[1], terms[2], terms[3]});
              best = first ? m : std::max(best, m);
              first = false;
            }
          out.push_back(k.mode == "avg" ? sum / count : best);
        }
    }
  }
  return out;
}

OpTest roi_align(const Tensor& x, const Tensor& rois, const Tensor& batch, const RoiCase& k, int64_t opset = 16) {
  OpTest t("RoiAlign", opset);
  t.attr("output_height", k.out_h).attr("output_width", k.out_w).attr("sampling_ratio", k.sampling_ratio);
  t.attr("spatial_scale", k.spatial_scale).attr("mode", k.mode);
  if (opset >= 16) t.attr("coordinate_transformation_mode", k.coord);
  t.input("x", x).input("rois", rois).input("batch", batch).output("y");
  return t;
}

void expect_matches_direct(const Tensor& x, const Tensor& rois, const Tensor& batch, const RoiCase& k,
                           int threads = 1) {
  const Tensor y = roi_align(x, rois, batch, k).run("ref", threads)[0];
  ASSERT_EQ(y.shape(), (Shape{rois.shape()[0], x.shape()[1], k.out_h, k.out_w}));
  const std::vector<double> want = roi_align_direct(x, rois, batch, k);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(y.data_as<float>()[i], want[i], 1e-5) << "element " << i << " mode " << k.mode << " " << k.coord
                                                     << " sampling_ratio " << k.sampling_ratio;
}

// Two images, two channels, 6 x 7; rois inside, partly outside, wholly outside, degenerate
// (x2 < x1) and larger than the image.
struct RoiData {
  Tensor x = testing::random_f32({2, 2, 6, 7}, 7, -1.0f, 2.0f);
  Tensor rois = f32({6, 4}, {0.5f, 1, 4, 5,  -3, -2, 3, 2,  5, 4, 12, 9,  20, 20, 30, 25,  4, 3, 2, 1,  -10, -10, 30, 40});
  Tensor batch = s64({6}, {0, 1, 1, 0, 0, 1});
};

TEST(RoiAlign, MatchesDirectLoopEveryMode) {
  const RoiData d;
  // All-negative data too: there a max over a bin with points outside the image is their 0.
  const Tensor negative = testing::random_f32({2, 2, 6, 7}, 11, -2.0f, -0.5f);
  for (const Tensor* x : {&d.x, &negative})
    for (const char* mode : {"avg", "max"})
      for (const char* coord : {"half_pixel", "output_half_pixel"})
        for (int64_t sr : {0, 1, 3}) {
          RoiCase k;
          k.mode = mode;
          k.coord = coord;
          k.sampling_ratio = sr;
          expect_matches_direct(*x, d.rois, d.batch, k);
        }
}

TEST(RoiAlign, ScaleShapesAndThreads) {
  const RoiData d;
  RoiCase k;
  k.spatial_scale = 0.5f;
  k.out_h = 4;
  k.out_w = 1;
  expect_matches_direct(d.x, d.rois, d.batch, k);
  k.mode = "max";
  k.sampling_ratio = 2;
  expect_matches_direct(d.x, d.rois, d.batch, k, 2);
  // Many rois over two threads give the one-thread result.
  const Tensor rois = testing::random_f32({40, 4}, 3, -2.0f, 9.0f);
  std::vector<int64_t> b(40);
  for (size_t i = 0; i < b.size(); ++i) b[i] = int64_t(i % 2);
  RoiCase avg;
  expect_matches_direct(d.x, rois, s64({40}, b), avg, 2);
}

TEST(RoiAlign, HugeRoiSamplesOnlyNearTheImage) {
  // An adaptive grid of 2000 x 1500 points per bin: the windowed sampling must agree with every
  // point visited...
  const RoiData d;
  RoiCase k;
  k.out_h = k.out_w = 2;
  const Tensor big = f32({1, 4}, {-1000, -2000, 2000, 2000});
  const Tensor b0 = s64({1}, {1});
  expect_matches_direct(d.x, big, b0, k);
  k.mode = "max";
  expect_matches_direct(d.x, big, b0, k);
  // ... and a roi of 1e12 pixels finishes (its grid is 5e11 points per axis): nearly every
  // point lies outside, so the average is tiny and the max is at least 0.
  const Tensor huge = f32({1, 4}, {-1e12f, -1e12f, 1e12f, 1e12f});
  k.mode = "avg";
  const Tensor ya = roi_align(d.x, huge, b0, k).run()[0];
  for (float v : values<float>(ya)) EXPECT_LT(std::fabs(v), 1e-6f);
  k.mode = "max";
  const Tensor ym = roi_align(d.x, huge, b0, k).run()[0];
  for (float v : values<float>(ym)) EXPECT_GE(v, 0.0f);
}

TEST(RoiAlign, Opset10IsOutputHalfPixelAndOtherFloatTypes) {
  const RoiData d;
  RoiCase k;
  k.coord = "output_half_pixel";
  const Tensor y10 = roi_align(d.x, d.rois, d.batch, k, 10).run()[0];
  const std::vector<double> want = roi_align_direct(d.x, d.rois, d.batch, k);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(y10.data_as<float>()[i], want[i], 1e-5);
  // f64 data and rois
  Tensor x64(DType::f64, d.x.shape()), r64(DType::f64, d.rois.shape());
  for (int64_t i = 0; i < x64.numel(); ++i) x64.data_as<double>()[i] = d.x.data_as<float>()[i];
  for (int64_t i = 0; i < r64.numel(); ++i) r64.data_as<double>()[i] = d.rois.data_as<float>()[i];
  const Tensor y64 = roi_align(x64, r64, d.batch, k).run()[0];
  ASSERT_EQ(y64.dtype(), DType::f64);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(y64.data_as<double>()[i], want[i], 1e-9);
  // f16 data and rois (computed in f32; the rois here are exact in f16)
  Tensor x16(DType::f16, d.x.shape()), r16(DType::f16, d.rois.shape());
  for (int64_t i = 0; i < x16.numel(); ++i) x16.data_as<uint16_t>()[i] = detail::float_to_half(d.x.data_as<float>()[i]);
  for (int64_t i = 0; i < r16.numel(); ++i) r16.data_as<uint16_t>()[i] = detail::float_to_half(d.rois.data_as<float>()[i]);
  const Tensor y16 = roi_align(x16, r16, d.batch, k).run()[0];
  ASSERT_EQ(y16.dtype(), DType::f16);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(detail::half_to_float(y16.data_as<uint16_t>()[i]), want[i], 1e-2);
}

TEST(RoiAlign, Errors) {
  const RoiData d;
  RoiCase k;
  // batch index out of range: only the run time can tell
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), s64({1}, {2}), k), "batch_indices[0] = 2");
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), s64({1}, {-1}), k), "batch_indices[0] = -1");
  expect_error(roi_align(d.x, f32({1, 4}, {0, NAN, 1, 1}), s64({1}, {0}), k), "not finite");
  expect_error(roi_align(d.x, f32({1, 4}, {-1e30f, 0, 1e30f, 1}), s64({1}, {0}), k), "too large");
  expect_error(roi_align(d.x, f32({1, 3}, {0, 0, 1}), s64({1}, {0}), k), "rois (input 1)");
  expect_error(roi_align(d.x, f32({2, 4}, std::vector<float>(8, 0.0f)), s64({1}, {0}), k), "batch_indices (input 2)");
  expect_error(roi_align(f32({2, 6, 7}, std::vector<float>(84, 0.0f)), f32({1, 4}, {0, 0, 1, 1}), s64({1}, {0}), k),
               "X (input 0)");
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), make_tensor<int32_t>(DType::s32, {1}, {0}), k), "int64");
  RoiCase neg;
  neg.sampling_ratio = -1;
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), s64({1}, {0}), neg), "sampling_ratio");
  RoiCase dense;
  dense.sampling_ratio = 1 << 20;  // 2^40 points per bin
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), s64({1}, {0}), dense), "sampling_ratio");
  RoiCase zero_h;
  zero_h.out_h = 0;
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), s64({1}, {0}), zero_h), "output_height");
  RoiCase bad_mode;
  bad_mode.mode = "median";
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), s64({1}, {0}), bad_mode), "mode");
  RoiCase bad_coord;
  bad_coord.coord = "align_corners";
  expect_error(roi_align(d.x, f32({1, 4}, {0, 0, 1, 1}), s64({1}, {0}), bad_coord), "coordinate_transformation_mode");
}

}  // namespace
}  // namespace octet
