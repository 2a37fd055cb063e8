// What one RNN / GRU / LSTM node computes, read once from its attributes and input shapes and
// shared by the reference kernel and the packed FP32 kernel: the cell, the sizes, the
// directions, the layout and the per-direction activations with their alpha / beta.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_registry.h"

namespace octet::detail {

enum class RecurrentCell { rnn, gru, lstm };

// One activation of the ONNX recurrent ops' list, with its alpha and beta resolved.
struct RecurrentActivation {
  enum class Kind { relu, tanh, sigmoid, affine, leaky_relu, thresholded_relu, scaled_tanh, hard_sigmoid, elu,
                    softsign, softplus };
  Kind kind = Kind::tanh;
  float alpha = 0, beta = 0;

  template <class T>
  T operator()(T x) const {
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    switch (kind) {
      case Kind::relu: return x > T(0) ? x : T(0);
      case Kind::tanh: return std::tanh(x);
      case Kind::sigmoid: return T(1) / (T(1) + std::exp(-x));
      case Kind::affine: return a * x + b;
      case Kind::leaky_relu: return x < T(0) ? a * x : x;
      case Kind::thresholded_relu: return x > a ? x : T(0);
      case Kind::scaled_tanh: return a * std::tanh(b * x);
      case Kind::hard_sigmoid: return std::max(T(0), std::min(T(1), a * x + b));
      case Kind::elu: return x < T(0) ? a * (std::exp(x) - T(1)) : x;
      case Kind::softsign: return x / (T(1) + std::fabs(x));
      case Kind::softplus: return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    }
    return x;
  }
};

struct RecurrentDesc {
  RecurrentCell cell = RecurrentCell::rnn;
  int64_t gates = 1;  // weight blocks per direction: RNN 1, GRU 3 (z, r, h), LSTM 4 (i, o, f, c)
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  bool reverse = false;  // direction "reverse" (one direction run backwards)
  bool batch_major = false;  // layout 1: X [batch, seq, input], Y [batch, seq, dirs, hidden]
  bool has_clip = false;
  float clip = 0;
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;         // LSTM
  int64_t acts_per_dir = 1;          // RNN 1 (f), GRU 2 (f, g), LSTM 3 (f, g, h)
  std::vector<RecurrentActivation> acts;  // dirs * acts_per_dir

  const RecurrentActivation& act(int64_t dir, int64_t which) const { return acts[dir * acts_per_dir + which]; }
  // Offsets (in elements) of one row of X, Y and of initial_h / Y_h (initial_c / Y_c).
  int64_t x_row(int64_t t, int64_t b) const { return (batch_major ? b * seq + t : t * batch + b) * input; }
  int64_t y_row(int64_t t, int64_t d, int64_t b) const {
    return (batch_major ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
  }
  int64_t state_row(int64_t d, int64_t b) const { return (batch_major ? b * dirs + d : d * batch + b) * hidden; }
  // The pre-activation clip ("applied to the input of activations"), when the node has one.
  template <class T>
  T clipped(T x) const {
    return has_clip ? std::max(T(-clip), std::min(T(clip), x)) : x;
  }
};

// Input indices: X, W, R, B, sequence_lens, initial_h, and for LSTM initial_c, P.
enum RecurrentInput { kX = 0, kW = 1, kR = 2, kB = 3, kSeqLens = 4, kInitialH = 5, kInitialC = 6, kPeephole = 7 };

// Reads and checks the node; fails through c with a clear message on any inconsistency.
RecurrentDesc recurrent_desc(const NodeContext& c, RecurrentCell cell);

// The sequence_lens of a run (or seq for every batch entry when absent); throws Error when a
// length is outside [0, seq].
std::vector<int64_t> recurrent_lengths(const RecurrentDesc& d, const Tensor* sequence_lens);

}  // namespace octet::detail
