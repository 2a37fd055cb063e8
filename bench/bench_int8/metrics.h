// Accuracy metrics. A Metric consumes one sample's model outputs and its annotation at a time;
// classification (top-1 / top-5) is the one implemented, and detection (mAP), segmentation
// (mIoU, Dice) and QA (F1) plug in through the same interface with a richer Annotation.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "octet/octet.h"

namespace octet::bench {

// The ground truth of one sample. Classification uses class_id; other tasks add fields.
struct Annotation {
  int64_t class_id = -1;
};

struct MetricValue {
  std::string name;  // "top-1", "top-5", "mAP", ...
  double percent = 0;
};

class Metric {
 public:
  virtual ~Metric() = default;
  // The headline figure's name, as table 1 prints it ("top-1", "accuracy", "mAP").
  virtual std::string name() const = 0;
  virtual void add(const std::map<std::string, Tensor>& outputs, const Annotation& truth) = 0;
  virtual int64_t count() const = 0;
  // Headline first; empty before any sample.
  virtual std::vector<MetricValue> values() const = 0;
};

// The k largest scores' indices, largest first; equal scores rank the lower index first (so
// top-1 is the arg-max with ties to the lowest index). NaN ranks below every number.
std::vector<int64_t> top_k(const float* scores, int64_t n, int k);

// Scores of the first output as one vector per batch item ([1,C], [1,C,1,1] -> C scores).
const float* class_scores(const std::map<std::string, Tensor>& outputs, int64_t* classes);
int64_t top1_class(const std::map<std::string, Tensor>& outputs);

// Top-1 (and top-5 when there are more than 5 classes). label_offset: output index = label +
// offset (1 for the 1001-output MobileNets).
class ClassificationAccuracy : public Metric {
 public:
  explicit ClassificationAccuracy(int64_t label_offset = 0) : label_offset_(label_offset) {}
  std::string name() const override;
  void add(const std::map<std::string, Tensor>& outputs, const Annotation& truth) override;
  int64_t count() const override { return count_; }
  std::vector<MetricValue> values() const override;
  std::optional<double> top1() const;
  std::optional<double> top5() const;  // absent when classes <= 5
  int64_t classes() const { return classes_; }

 private:
  int64_t label_offset_;
  int64_t count_ = 0, top1_hits_ = 0, top5_hits_ = 0, classes_ = 0;
};

// The percentage of samples whose top-1 class is the same in both runs.
std::optional<double> top1_agreement(const std::vector<int64_t>& reference, const std::vector<int64_t>& other);

// The metric a manifest entry asks for (classification only, today).
std::unique_ptr<Metric> make_metric(int64_t label_offset);

}  // namespace octet::bench
