// NonMaxSuppression (opset 10, 11): per batch and class, the boxes by descending score (ties:
// lower box index first), each kept unless its IoU with a box already kept for that class
// exceeds iou_threshold, at most max_output_boxes_per_class of them; boxes scoring not above
// score_threshold (when given) are never candidates. Output: [num_selected, 3] int64 rows
// (batch, class, box), batch-major then class then selection order, as the ONNX reference.
//
// The row count depends on the data and octet plans every shape at compile time, so the
// inputs must be constants (like Unique) unless the count is known without them (no boxes, or
// max_output_boxes_per_class absent or <= 0: no rows); the kernel recomputes the count and
// throws when the inputs it gets at run time do not give the compiled one.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "ops/detection/detection.h"
#include "ops/elementwise/elementwise_util.h"

namespace octet::detail {
namespace {

struct NmsLayout {
  int64_t batches = 0, classes = 0, boxes = 0;
  bool center_point_box = false;  // [x_center, y_center, width, height] instead of corners
};

struct NmsThresholds {
  int64_t max_per_class = 0;  // absent: 0, no output (the spec's default)
  float iou = 0.0f;
  bool has_score = false;
  float score = 0.0f;
};

// Optional inputs are scalars or 1-element tensors; an empty tensor counts as absent.
const Tensor* optional_scalar(const Tensor* t, const char* what) {
  if (t == nullptr || t->numel() == 0) return nullptr;
  if (t->numel() != 1)
    throw Error(std::string("NonMaxSuppression: ") + what + " must hold one value, got shape " + shape_str(t->shape()));
  return t;
}

NmsThresholds nms_thresholds(const Tensor* max_out, const Tensor* iou, const Tensor* score) {
  NmsThresholds th;
  if (const Tensor* t = optional_scalar(max_out, "max_output_boxes_per_class"))
    th.max_per_class = std::max<int64_t>(t->data_as<int64_t>()[0], 0);
  if (const Tensor* t = optional_scalar(iou, "iou_threshold")) th.iou = t->data_as<float>()[0];
  if (const Tensor* t = optional_scalar(score, "score_threshold")) {
    th.has_score = true;
    th.score = t->data_as<float>()[0];
  }
  return th;
}

// A box as its extent on each axis (min <= max), from either format. Corner boxes may give
// their corners in any order (flipped coordinates).
struct Extent {
  float y_min, y_max, x_min, x_max;
};

Extent box_extent(const float* b, bool center_point_box) {
  if (center_point_box) {
    const float half_w = b[2] / 2, half_h = b[3] / 2;
    return {b[1] - half_h, b[1] + half_h, b[0] - half_w, b[0] + half_w};
  }
  return {std::min(b[0], b[2]), std::max(b[0], b[2]), std::min(b[1], b[3]), std::max(b[1], b[3])};
}

// Whether IoU(a, b) > threshold, in float and with the reference's early outs (no overlap, or a
// box without area, never suppresses).
bool suppresses(const Extent& a, const Extent& b, float iou_threshold) {
  const float ix_min = std::max(a.x_min, b.x_min), ix_max = std::min(a.x_max, b.x_max);
  if (!(ix_max > ix_min)) return false;
  const float iy_min = std::max(a.y_min, b.y_min), iy_max = std::min(a.y_max, b.y_max);
  if (!(iy_max > iy_min)) return false;
  const float inter = (ix_max - ix_min) * (iy_max - iy_min);
  if (!(inter > 0)) return false;
  const float area_a = (a.x_max - a.x_min) * (a.y_max - a.y_min);
  const float area_b = (b.x_max - b.x_min) * (b.y_max - b.y_min);
  const float uni = area_a + area_b - inter;
  if (!(area_a > 0) || !(area_b > 0) || !(uni > 0)) return false;
  return inter / uni > iou_threshold;
}

// The selected (batch, class, box) rows. boxes: [batches, boxes, 4]; scores: [batches, classes,
// boxes]. Memory is bounded by the input sizes whatever max_per_class says.
std::vector<std::array<int64_t, 3>> select_boxes(const NmsLayout& l, const NmsThresholds& th, const float* boxes,
                                                 const float* scores) {
  std::vector<std::array<int64_t, 3>> rows;
  if (th.max_per_class == 0) return rows;
  std::vector<Extent> extents(static_cast<size_t>(l.boxes));
  std::vector<int64_t> candidates, kept;
  candidates.reserve(static_cast<size_t>(l.boxes));
  for (int64_t b = 0; b < l.batches; ++b) {
    for (int64_t i = 0; i < l.boxes; ++i) extents[i] = box_extent(boxes + (b * l.boxes + i) * 4, l.center_point_box);
    for (int64_t c = 0; c < l.classes; ++c) {
      const float* s = scores + (b * l.classes + c) * l.boxes;
      candidates.clear();
      for (int64_t i = 0; i < l.boxes; ++i)
        if (!th.has_score || s[i] > th.score) candidates.push_back(i);
      // Descending score, NaN last; stable, so equal scores keep the lower index first.
      std::stable_sort(candidates.begin(), candidates.end(), [&](int64_t i, int64_t j) {
        return s[i] > s[j] || (!std::isnan(s[i]) && std::isnan(s[j]));
      });
      kept.clear();
      for (int64_t i : candidates) {
        if (static_cast<int64_t>(kept.size()) >= th.max_per_class) break;
        const bool selected = std::none_of(kept.begin(), kept.end(), [&](int64_t k) {
          return suppresses(extents[i], extents[k], th.iou);
        });
        if (!selected) continue;
        kept.push_back(i);
        rows.push_back({b, c, i});
      }
    }
  }
  return rows;
}

NmsLayout nms_layout(const NodeContext& c) {
  const Shape& boxes = c.input_shape(0);
  const Shape& scores = c.input_shape(1);
  c.check(boxes.size() == 3 && boxes[2] == 4,
          "boxes (input 0) must be [num_batches, spatial_dimension, 4], got " + shape_str(boxes));
  c.check(scores.size() == 3 && scores[0] == boxes[0] && scores[2] == boxes[1],
          "scores (input 1) must be [num_batches, num_classes, spatial_dimension] = [" + std::to_string(boxes[0]) +
              ", C, " + std::to_string(boxes[1]) + "], got " + shape_str(scores));
  const int64_t center = c.node().attr_i("center_point_box", 0);
  c.check(center == 0 || center == 1, "center_point_box must be 0 or 1, got " + std::to_string(center));
  NmsLayout l;
  l.batches = boxes[0];
  l.classes = scores[1];
  l.boxes = boxes[1];
  l.center_point_box = center == 1;
  return l;
}

class NonMaxSuppressionKernel final : public OpKernel {
 public:
  explicit NonMaxSuppressionKernel(NmsLayout l) : l_(l) {}
  void run(KernelContext& ctx) const override {
    auto opt = [&](size_t i) { return ctx.has_input(i) ? &ctx.input(i) : nullptr; };
    const NmsThresholds th = nms_thresholds(opt(2), opt(3), opt(4));
    const auto rows = select_boxes(l_, th, ctx.input(0).data_as<float>(), ctx.input(1).data_as<float>());
    Tensor& y = ctx.output(0);
    if (static_cast<int64_t>(rows.size()) != y.shape()[0])
      throw Error("NonMaxSuppression: the inputs select " + std::to_string(rows.size()) +
                  " boxes but the compiled output is " + shape_str(y.shape()) +
                  " (the selection count must be known at compile time: constant inputs)");
    int64_t* out = y.data_as<int64_t>();
    for (const auto& r : rows) out = std::copy(r.begin(), r.end(), out);
  }

 private:
  NmsLayout l_;
};

void check_scalar_input(const NodeContext& c, size_t i, DType dtype, const char* what) {
  if (!c.has_input(i)) return;
  c.check(c.input_dtype(i) == dtype, std::string(what) + " (input " + std::to_string(i) + ") must be " +
                                         dtype_name(dtype) + ", got " + dtype_name(c.input_dtype(i)));
  const Shape& s = c.input_shape(i);
  c.check(shape_numel(s) <= 1, std::string(what) + " (input " + std::to_string(i) +
                                   ") must be a scalar or a 1-element tensor, got " + shape_str(s));
}

void infer_non_max_suppression(NodeContext& c) {
  for (size_t i : {0, 1})
    c.check(c.input_dtype(i) == DType::f32, std::string("unsupported dtype ") + dtype_name(c.input_dtype(i)) +
                                                " for input " + std::to_string(i) + " (boxes and scores: f32)");
  const NmsLayout l = nms_layout(c);
  check_scalar_input(c, 2, DType::s64, "max_output_boxes_per_class");
  check_scalar_input(c, 3, DType::f32, "iou_threshold");
  check_scalar_input(c, 4, DType::f32, "score_threshold");
  auto known = [&](size_t i) { return !c.has_input(i) || c.input_const(i) != nullptr; };
  auto value = [&](size_t i) { return c.has_input(i) ? c.input_const(i) : nullptr; };
  int64_t count = 0;
  const bool no_rows = l.batches * l.classes * l.boxes == 0 ||
                       (known(2) && nms_thresholds(value(2), nullptr, nullptr).max_per_class == 0);
  if (!no_rows) {
    for (size_t i = 0; i < 5; ++i)
      c.check(known(i), "input " + std::to_string(i) +
                            " must be a constant: the number of boxes NonMaxSuppression selects decides its output "
                            "shape (data-dependent shapes are not supported)");
    const NmsThresholds th = nms_thresholds(value(2), value(3), value(4));
    count = static_cast<int64_t>(
        select_boxes(l, th, c.input_const(0)->data_as<float>(), c.input_const(1)->data_as<float>()).size());
  }
  c.set_output(0, DType::s64, Shape{count, 3});
}

std::unique_ptr<OpKernel> create_non_max_suppression(const NodeContext& c) {
  return std::make_unique<NonMaxSuppressionKernel>(nms_layout(c));
}

}  // namespace

void register_non_max_suppression_ops(OpRegistry& r) {
  r.add(OpDef{"", "NonMaxSuppression", infer_non_max_suppression, create_non_max_suppression});
}

}  // namespace octet::detail
