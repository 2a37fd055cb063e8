// Shared helpers of the quantization tests: synthetic FP32 models covering every quantizable
// op, random samples, ISA lists and output comparison.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "frontend/model_builder.h"
#include "test_support.h"
#include "octet/kernels/isa.h"
#include "octet/octet.h"

namespace octet::testing {

using Sample = std::map<std::string, Tensor>;

inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1, float hi = 1) {
  Tensor t(DType::f32, shape);
  std::vector<float> v = random_floats(static_cast<size_t>(t.numel()), rng, lo, hi);
  std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
  return t;
}

// A raw-data initializer of any element type.
template <class T>
TP tensor_of(const std::string& name, int type, const std::vector<int64_t>& dims, const std::vector<T>& v) {
  TP t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(v.data(), v.size() * sizeof(T));
  return t;
}

// Uniformly random u8 (or s8) values.
inline Tensor random_q8(const std::vector<int64_t>& shape, bool s8, std::mt19937& rng) {
  Tensor t(s8 ? DType::s8 : DType::u8, shape);
  std::uniform_int_distribution<int> d(0, 255);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
  return t;
}

inline std::vector<Sample> random_samples(const std::string& input, const Shape& shape, int count, uint32_t seed,
                                          float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::vector<Sample> out;
  for (int i = 0; i < count; ++i) out.push_back({{input, random_tensor(shape, rng, lo, hi)}});
  return out;
}

// A conv net with every quantizable CNN op: Conv (+bias, +Add(per-channel) bias), Relu and
// Clip(0, 6) to fold, depthwise and grouped Conv, strided / padded windows, a residual Add
// with Relu, Concat of two branches, MaxPool, AveragePool, Resize (nearest), GlobalAveragePool,
// Flatten, Gemm (transB, alpha) and a Softmax that stays FP32.
// Input "x" [1, 3, 16, 16]; outputs "logits" [1, 10] and "probs" [1, 10].
inline ModelBuilder conv_net(uint32_t seed = 7, float weight_range = 0.5f) {
  std::mt19937 rng(seed);
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {1, 3, 16, 16});
  b.output("logits", TP::FLOAT, {1, 10});
  b.output("probs", TP::FLOAT, {1, 10});
  auto weight = [&](const std::string& name, const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    b.initializer(tensor_f32(name, dims, random_floats(static_cast<size_t>(n), rng, -weight_range, weight_range)));
  };
  auto conv = [&](const std::string& name, const std::string& x, const std::string& y, int64_t cin, int64_t cout,
                  int64_t k, int64_t stride, int64_t pad, int64_t group, bool bias) {
    weight(name + "_w", {cout, cin / group, k, k});
    std::vector<std::string> in = {x, name + "_w"};
    if (bias) {
      weight(name + "_b", {cout});
      in.push_back(name + "_b");
    }
    auto* n = b.node("Conv", in, {y}, name);
    attr_ints(n, "kernel_shape", {k, k});
    attr_ints(n, "strides", {stride, stride});
    attr_ints(n, "pads", {pad, pad, pad, pad});
    attr_i(n, "group", group);
  };
  conv("c1", "x", "c1", 3, 8, 3, 1, 1, 1, true);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  conv("dw", "r1", "dw", 8, 8, 3, 2, 1, 8, true);  // depthwise, stride 2: [1,8,8,8]
  b.initializer(tensor_f32("clip_lo", {}, {0.0f}));
  b.initializer(tensor_f32("clip_hi", {}, {6.0f}));
  b.node("Clip", {"dw", "clip_lo", "clip_hi"}, {"r2"}, "relu6");
  conv("g", "r2", "g", 8, 16, 3, 1, 1, 2, false);  // grouped, bias from the Add below
  weight("g_add", {16, 1, 1});
  b.node("Add", {"g", "g_add"}, {"g_b"}, "g_bias");
  b.node("Relu", {"g_b"}, {"r3"}, "relu3");
  conv("res", "r3", "res", 16, 16, 3, 1, 1, 1, true);
  b.node("Add", {"res", "r3"}, {"sum"}, "residual");
  b.node("Relu", {"sum"}, {"r4"}, "relu4");
  conv("ba", "r4", "ba", 16, 8, 1, 1, 0, 1, true);
  b.node("Relu", {"ba"}, {"ra"}, "relua");
  conv("bb", "r4", "bb", 16, 8, 3, 1, 1, 1, true);
  b.node("Relu", {"bb"}, {"rb"}, "relub");
  auto* cat = b.node("Concat", {"ra", "rb"}, {"cat"}, "concat");
  attr_i(cat, "axis", 1);
  auto* mp = b.node("MaxPool", {"cat"}, {"mp"}, "maxpool");  // [1,16,4,4]
  attr_ints(mp, "kernel_shape", {2, 2});
  attr_ints(mp, "strides", {2, 2});
  b.initializer(tensor_f32("resize_scales", {4}, {1, 1, 2, 2}));
  auto* rs = b.node("Resize", {"mp", "", "resize_scales"}, {"up"}, "resize");  // [1,16,8,8]
  attr_s(rs, "mode", "nearest");
  conv("c5", "up", "c5", 16, 16, 3, 1, 1, 1, true);
  auto* ap = b.node("AveragePool", {"c5"}, {"ap"}, "avgpool");  // [1,16,4,4]
  attr_ints(ap, "kernel_shape", {3, 3});
  attr_ints(ap, "strides", {2, 2});
  attr_ints(ap, "pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {"ap"}, {"gap"}, "gap");
  b.node("Flatten", {"gap"}, {"flat"}, "flatten");
  weight("fc_w", {10, 16});
  weight("fc_b", {10});
  auto* fc = b.node("Gemm", {"flat", "fc_w", "fc_b"}, {"logits"}, "fc");
  attr_i(fc, "transB", 1);
  attr_f(fc, "alpha", 0.5f);
  b.node("Softmax", {"logits"}, {"probs"}, "softmax");
  return b;
}

// A transformer-like block on [1, 4, 8]: MatMul + Add(bias) (becomes Gemm), Relu, MatMul
// without bias (QLinearMatMul), a residual Add and an activation x activation MatMul that
// stays FP32. Input "x", output "y" [1, 4, 8].
inline ModelBuilder matmul_net(uint32_t seed = 11) {
  std::mt19937 rng(seed);
  ModelBuilder b(13);
  b.input("x", TP::FLOAT, {1, 4, 8});
  b.output("y", TP::FLOAT, {1, 4, 8});
  b.initializer(tensor_f32("w1", {8, 16}, random_floats(128, rng, -0.5f, 0.5f)));
  b.initializer(tensor_f32("b1", {16}, random_floats(16, rng, -0.5f, 0.5f)));
  b.initializer(tensor_f32("w2", {16, 8}, random_floats(128, rng, -0.5f, 0.5f)));
  b.node("MatMul", {"x", "w1"}, {"h"}, "fc1");
  b.node("Add", {"h", "b1"}, {"hb"}, "fc1_bias");
  b.node("Relu", {"hb"}, {"hr"}, "fc1_relu");
  b.node("MatMul", {"hr", "w2"}, {"o"}, "fc2");
  b.node("Add", {"o", "x"}, {"res"}, "residual");
  auto* t = b.node("Transpose", {"res"}, {"rt"}, "transpose");
  attr_ints(t, "perm", {0, 2, 1});
  b.node("MatMul", {"rt", "res"}, {"gram"}, "gram");  // [1,8,8]
  b.node("MatMul", {"res", "gram"}, {"y"}, "mix");    // [1,4,8]
  return b;
}

inline Model load_model(const ModelBuilder& b) {
  const std::string bytes = b.bytes();
  return Model::load_from_buffer(bytes.data(), bytes.size());
}

// Every ISA the machine has, exact variants only (fast ones when `with_fast`).
inline std::vector<std::string> isas(bool with_fast = false) {
  std::vector<std::string> out;
  for (const auto& c : kernels::available_isas())
    if (with_fast || !c.fast) out.push_back(c.name());
  return out;
}

inline bool bit_identical(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& kv : a) {
    auto it = b.find(kv.first);
    if (it == b.end() || it->second.dtype() != kv.second.dtype() || it->second.shape() != kv.second.shape())
      return false;
    if (std::memcmp(kv.second.data(), it->second.data(), kv.second.nbytes()) != 0) return false;
  }
  return true;
}

inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data_as<float>()[i] - b.data_as<float>()[i]));
  return m;
}

inline CompiledModel compile_int8(const Model& m, const std::vector<Sample>& calibration, const std::string& isa,
                                  CalibrationMethod method = CalibrationMethod::minmax, int weight_bits = 8) {
  CompileOptions o;
  o.weight_bits = weight_bits;
  o.precision = Precision::int8;
  o.isa = isa;
  o.calibration_data = calibration;
  o.calibration_method = method;
  return CompiledModel::compile(m, o);
}

}  // namespace octet::testing
