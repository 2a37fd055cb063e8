#include "bench_int8/metrics.h"

#include <algorithm>
#include <cmath>

namespace octet::bench {

std::vector<int64_t> top_k(const float* scores, int64_t n, int k) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  auto better = [&](int64_t a, int64_t b) {
    const float x = scores[a], y = scores[b];
    const bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn != yn) return yn;  // a number beats NaN
    if (!xn && x != y) return x > y;
    return a < b;
  };
  const int64_t keep = std::min<int64_t>(k, n);
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), better);
  order.resize(static_cast<size_t>(keep));
  return order;
}

const float* class_scores(const std::map<std::string, Tensor>& outputs, int64_t* classes) {
  if (outputs.empty()) throw Error("classification metric: the model returned no output");
  // Graph outputs come back by name; a classifier has one (the first in name order otherwise).
  const Tensor& t = outputs.begin()->second;
  if (t.dtype() != DType::f32) throw Error(std::string("classification metric: output is ") + dtype_name(t.dtype()) + ", expected f32");
  if (t.numel() <= 0 || t.shape().empty()) throw Error("classification metric: empty output " + shape_str(t.shape()));
  const int64_t batch = t.shape()[0] > 0 ? t.shape()[0] : 1;
  *classes = t.numel() / batch;
  return t.data_as<float>();
}

int64_t top1_class(const std::map<std::string, Tensor>& outputs) {
  int64_t classes = 0;
  const float* s = class_scores(outputs, &classes);
  return top_k(s, classes, 1).front();
}

std::string ClassificationAccuracy::name() const { return classes_ > 0 && classes_ <= 2 ? "accuracy" : "top-1"; }

void ClassificationAccuracy::add(const std::map<std::string, Tensor>& outputs, const Annotation& truth) {
  int64_t classes = 0;
  const float* s = class_scores(outputs, &classes);
  if (classes_ != 0 && classes != classes_)
    throw Error("classification metric: " + std::to_string(classes) + " scores after " + std::to_string(classes_));
  classes_ = classes;
  const int64_t target = truth.class_id + label_offset_;
  const std::vector<int64_t> best = top_k(s, classes, 5);
  ++count_;
  if (!best.empty() && best[0] == target) ++top1_hits_;
  if (std::find(best.begin(), best.end(), target) != best.end()) ++top5_hits_;
}

std::optional<double> ClassificationAccuracy::top1() const {
  if (count_ == 0) return std::nullopt;
  return 100.0 * double(top1_hits_) / double(count_);
}

std::optional<double> ClassificationAccuracy::top5() const {
  if (count_ == 0 || classes_ <= 5) return std::nullopt;
  return 100.0 * double(top5_hits_) / double(count_);
}

std::vector<MetricValue> ClassificationAccuracy::values() const {
  std::vector<MetricValue> v;
  if (auto t1 = top1()) v.push_back({name(), *t1});
  if (auto t5 = top5()) v.push_back({"top-5", *t5});
  return v;
}

std::optional<double> top1_agreement(const std::vector<int64_t>& reference, const std::vector<int64_t>& other) {
  if (reference.empty() || reference.size() != other.size()) return std::nullopt;
  int64_t same = 0;
  for (size_t i = 0; i < reference.size(); ++i) same += reference[i] == other[i];
  return 100.0 * double(same) / double(reference.size());
}

std::unique_ptr<Metric> make_metric(int64_t label_offset) {
  // Every zoo model today is a classifier; detection and segmentation entries will choose
  // their metric here from the manifest's "metric" object.
  return std::make_unique<ClassificationAccuracy>(label_offset);
}

}  // namespace octet::bench
