#include "quant/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "runtime/session_state.h"

namespace octet::detail {

void Histogram::grow_to(float magnitude) {
  if (limit_ == 0) {
    // First data: a power-of-two limit just above the magnitude keeps later doublings exact.
    limit_ = std::exp2(std::ceil(std::log2(std::max(magnitude, 1e-8f))));
    if (limit_ < magnitude) limit_ *= 2;
    bins_.assign(2 * kHalfBins, 0.0);
    return;
  }
  while (limit_ < magnitude) {
    // Double the range: bin pairs merge toward the centre, the outer halves become empty.
    std::vector<double> merged(2 * kHalfBins, 0.0);
    for (int i = 0; i < 2 * kHalfBins; ++i) merged[kHalfBins / 2 + i / 2] += bins_[i];
    bins_.swap(merged);
    limit_ *= 2;
  }
}

void Histogram::add(const float* x, int64_t n) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  int64_t finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    ++finite;
  }
  if (finite == 0) return;
  if (count_ == 0) {
    min_ = lo;
    max_ = hi;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
  }
  grow_to(std::max(std::fabs(lo), std::fabs(hi)));
  const float inv_w = kHalfBins / limit_;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    if (x[i] == 0.0f) {
      bins_[kHalfBins] += 1;
      zeros_ += 1;
      continue;
    }
    int b = static_cast<int>(std::floor((x[i] + limit_) * inv_w));
    b = std::min(std::max(b, 0), 2 * kHalfBins - 1);
    bins_[b] += 1;
  }
  count_ += static_cast<double>(finite);
}

Range range_minmax(const Histogram& h) { return {std::min(h.min(), 0.0f), std::max(h.max(), 0.0f)}; }

Range range_percentile(const Histogram& h, double percentile) {
  if (h.empty()) return {0, 0};
  double tail = h.count() * (1.0 - percentile / 100.0);
  const auto& bins = h.bins();
  const float w = h.bin_width();
  Range r = range_minmax(h);
  // Upper: walk down from the top until `tail` samples are excluded.
  double acc = 0;
  for (int i = static_cast<int>(bins.size()) - 1; i >= 0; --i) {
    acc += bins[i];
    if (acc > tail) {
      r.hi = std::min(r.hi, -h.limit() + (i + 1) * w);
      break;
    }
  }
  acc = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    acc += bins[i];
    if (acc > tail) {
      r.lo = std::max(r.lo, -h.limit() + static_cast<float>(i) * w);
      break;
    }
  }
  r.lo = std::min(r.lo, 0.0f);
  r.hi = std::max(r.hi, 0.0f);
  return r;
}

namespace {

// KL divergence between the reference distribution p (clipped at `edge` bins, outliers
// folded into the last bin) and its quantization to `levels` levels (TensorRT's method).
double kl_for_edge(const std::vector<double>& hist, int edge, int levels) {
  std::vector<double> p(hist.begin(), hist.begin() + edge);
  double outliers = 0;
  for (size_t i = edge; i < hist.size(); ++i) outliers += hist[i];
  p[edge - 1] += outliers;
  // Quantized distribution: merge into `levels` groups, spread each group's mass over its
  // non-empty bins.
  std::vector<double> q(edge, 0.0);
  double per = static_cast<double>(edge) / levels;
  for (int l = 0; l < levels; ++l) {
    int b0 = static_cast<int>(std::floor(l * per));
    int b1 = std::min(edge, static_cast<int>(std::floor((l + 1) * per)));
    if (l == levels - 1) b1 = edge;
    double mass = 0;
    int nonzero = 0;
    for (int b = b0; b < b1; ++b) {
      mass += hist[b];
      if (hist[b] > 0) ++nonzero;
    }
    if (nonzero == 0) continue;
    for (int b = b0; b < b1; ++b)
      if (hist[b] > 0) q[b] = mass / nonzero;
  }
  double ps = 0, qs = 0;
  for (int b = 0; b < edge; ++b) {
    ps += p[b];
    qs += q[b];
  }
  if (ps <= 0 || qs <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (int b = 0; b < edge; ++b) {
    if (p[b] <= 0) continue;
    double pp = p[b] / ps;
    double qq = q[b] > 0 ? q[b] / qs : 1e-12;
    kl += pp * std::log(pp / qq);
  }
  return kl;
}

// The threshold on one side's histogram (bins ordered from 0 outward) minimising KL.
float kl_threshold(const std::vector<double>& side, float bin_width, int levels) {
  int last = 0;
  for (size_t i = 0; i < side.size(); ++i)
    if (side[i] > 0) last = static_cast<int>(i) + 1;
  if (last <= levels) return last * bin_width;
  double best = std::numeric_limits<double>::infinity();
  int best_edge = last;
  for (int edge = levels; edge <= last; edge += std::max(1, (last - levels) / 256)) {
    double kl = kl_for_edge(side, edge, levels);
    if (kl < best) {
      best = kl;
      best_edge = edge;
    }
  }
  return best_edge * bin_width;
}

}  // namespace

Range range_entropy(const Histogram& h) {
  if (h.empty()) return {0, 0};
  const auto& bins = h.bins();
  const int half = Histogram::kHalfBins;
  std::vector<double> pos(bins.begin() + half, bins.end());
  pos[0] -= h.zeros();  // exact zeros are exact on the grid: they do not weigh on the choice
  std::vector<double> neg(half);
  for (int i = 0; i < half; ++i) neg[i] = bins[half - 1 - i];
  Range r = range_minmax(h);
  bool has_neg = h.min() < 0, has_pos = h.max() > 0;
  // A one-signed tensor gets all 256 levels on its side; a two-signed one about half each.
  int levels = has_neg && has_pos ? 128 : 256;
  if (has_pos) r.hi = std::min(r.hi, kl_threshold(pos, h.bin_width(), levels));
  if (has_neg) r.lo = std::max(r.lo, -kl_threshold(neg, h.bin_width(), levels));
  return r;
}

Range range_mse(const Histogram& h) {
  if (h.empty()) return {0, 0};
  Range full = range_minmax(h);
  const auto& bins = h.bins();
  const float w = h.bin_width();
  double best = std::numeric_limits<double>::infinity();
  Range best_r = full;
  // Shrink the min-max range by a common factor; score = clipping error + rounding noise.
  for (int step = 100; step >= 10; --step) {
    double a = step / 100.0;
    Range r{static_cast<float>(full.lo * a), static_cast<float>(full.hi * a)};
    double delta = (static_cast<double>(r.hi) - r.lo) / 255.0;
    if (delta <= 0) break;
    double err = 0;
    for (size_t i = 0; i < bins.size(); ++i) {
      const double mass = static_cast<int>(i) == h.zero_bin() ? bins[i] - h.zeros() : bins[i];
      if (mass <= 0) continue;
      double x = -h.limit() + (i + 0.5) * w;
      if (x > r.hi) err += mass * (x - r.hi) * (x - r.hi);
      else if (x < r.lo) err += mass * (r.lo - x) * (r.lo - x);
      else err += mass * delta * delta / 12.0;
    }
    if (err < best) {
      best = err;
      best_r = r;
    }
  }
  return best_r;
}

Range choose_range(const Histogram& h, CalibrationMethod method, double percentile) {
  switch (method) {
    case CalibrationMethod::minmax: return range_minmax(h);
    case CalibrationMethod::percentile: return range_percentile(h, percentile);
    case CalibrationMethod::entropy: return range_entropy(h);
    case CalibrationMethod::mse: return range_mse(h);
  }
  return range_minmax(h);
}

void u8_params(const Range& r, float* scale, int32_t* zero_point) {
  float lo = std::min(r.lo, 0.0f), hi = std::max(r.hi, 0.0f);
  float s = (hi - lo) / 255.0f;
  if (!(s > 0) || !std::isfinite(s)) s = 1.0f;  // an all-zero tensor: any scale represents it
  *scale = s;
  float zp = std::nearbyint(-lo / s);
  *zero_point = static_cast<int32_t>(std::min(255.0f, std::max(0.0f, zp)));
}

std::map<std::string, Histogram> collect_histograms(const std::shared_ptr<const Program>& fp32,
                                                    const std::vector<std::map<std::string, Tensor>>& samples,
                                                    const std::vector<std::string>& wanted) {
  const Graph& g = fp32->graph;
  std::vector<Histogram*> slot(g.values.size(), nullptr);
  std::map<std::string, Histogram> hists;
  std::set<std::string> names(wanted.begin(), wanted.end());
  for (size_t v = 0; v < g.values.size(); ++v)
    if (names.count(g.values[v].name) && g.values[v].dtype == DType::f32) slot[v] = &hists[g.values[v].name];
  SessionState session(fp32);
  session.observer = [&](int id, const Tensor& t) {
    if (slot[id]) slot[id]->add(t.data_as<float>(), t.numel());
  };
  for (const auto& sample : samples) {
    session.run(sample);
    // Graph inputs are not written by any step: observe them from the sample.
    for (int id : g.inputs)
      if (slot[id]) {
        const Tensor& t = sample.at(g.values[id].name);
        slot[id]->add(t.data_as<float>(), t.numel());
      }
  }
  return hists;
}

}  // namespace octet::detail
