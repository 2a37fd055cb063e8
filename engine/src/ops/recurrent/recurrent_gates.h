// The activations of the packed recurrent kernel applied to whole arrays, so that the
// compiler vectorises the common ones (sigmoid, tanh: through an exp that needs no libm call)
// on the baseline instruction set. Within a few float ulps of RecurrentActivation.
#pragma once

#include <cstdint>
#include <cstring>

#include "ops/recurrent/recurrent_desc.h"

namespace octet::detail {

namespace gate_detail {

// e^x for x in [-87, 87] (the caller clamps), relative error ~2e-7: 2^n * p(r) with
// n = round(x / ln 2), r = x - n ln 2 in two parts (Cody-Waite), p of degree 6. The rounding
// adds and subtracts 1.5 * 2^23 (round to nearest in float arithmetic), which vectorises where
// floor would not.
inline float exp_approx(float x) {
  constexpr float kRound = 12582912.0f;
  const float n = (x * 1.44269504f + kRound) - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// p[i] = min(max(p[i], lo), hi): a loop of its own, as a clamp inside the exp loop stops GCC
// from vectorising it.
inline void clamp(float* p, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] < lo ? lo : (p[i] > hi ? hi : p[i]);
}

}  // namespace gate_detail

// p[i] = clip(p[i]) for i < n when the node has a clip.
inline void clip_gates(const RecurrentDesc& d, float* p, int64_t n) {
  if (!d.has_clip) return;
  gate_detail::clamp(p, n, -d.clip, d.clip);
}

// p[i] = act(p[i]) for i < n.
inline void activate(const RecurrentActivation& act, float* p, int64_t n) {
  using Kind = RecurrentActivation::Kind;
  switch (act.kind) {
    case Kind::sigmoid:
      gate_detail::clamp(p, n, -87.0f, 87.0f);  // sigmoid is 0 or 1 in float beyond
      for (int64_t i = 0; i < n; ++i) p[i] = 1.0f / (1.0f + gate_detail::exp_approx(-p[i]));
      return;
    case Kind::tanh:
      // 1 - 2 / (e^2x + 1); tanh is +-1 in float beyond +-10.
      gate_detail::clamp(p, n, -10.0f, 10.0f);
      for (int64_t i = 0; i < n; ++i) p[i] = 1.0f - 2.0f / (gate_detail::exp_approx(2.0f * p[i]) + 1.0f);
      return;
    case Kind::relu:
      for (int64_t i = 0; i < n; ++i) p[i] = p[i] > 0.0f ? p[i] : 0.0f;
      return;
    default:
      for (int64_t i = 0; i < n; ++i) p[i] = act(p[i]);
      return;
  }
}

}  // namespace octet::detail
