// Runs one ONNX node through the public API (compile + session), for operator unit tests.
//
//   OpTest t("Conv", 17);
//   t.attr("pads", std::vector<int64_t>{1, 1, 1, 1}).input("x", X).const_input("w", W).output("y");
//   std::vector<Tensor> outs = t.run();          // fp32, isa "ref" by default
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "octet/octet.h"

namespace octet::testing {

class OpTest {
 public:
  explicit OpTest(std::string op_type, int64_t opset = 17, std::string domain = "") {
    graph_ = std::make_shared<detail::Graph>();
    graph_->opsets[""] = opset;
    if (!domain.empty()) graph_->opsets[domain] = 1;
    node_.name = op_type + "_under_test";
    node_.op_type = std::move(op_type);
    node_.domain = std::move(domain);
  }

  OpTest& attr(const std::string& name, int64_t v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::int_;
    a.i = v;
    node_.attrs[name] = a;
    return *this;
  }
  OpTest& attr(const std::string& name, int v) { return attr(name, static_cast<int64_t>(v)); }
  OpTest& attr(const std::string& name, float v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::float_;
    a.f = v;
    node_.attrs[name] = a;
    return *this;
  }
  OpTest& attr(const std::string& name, const std::string& v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::string_;
    a.s = v;
    node_.attrs[name] = a;
    return *this;
  }
  OpTest& attr(const std::string& name, const char* v) { return attr(name, std::string(v)); }
  OpTest& attr(const std::string& name, const std::vector<int64_t>& v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::ints;
    a.ints = v;
    node_.attrs[name] = a;
    return *this;
  }
  OpTest& attr(const std::string& name, const std::vector<float>& v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::floats;
    a.floats = v;
    node_.attrs[name] = a;
    return *this;
  }
  OpTest& attr(const std::string& name, const std::vector<std::string>& v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::strings;
    a.strings = v;
    node_.attrs[name] = a;
    return *this;
  }
  OpTest& attr(const std::string& name, const Tensor& v) {
    detail::Attribute a;
    a.kind = detail::Attribute::Kind::tensor;
    a.t = v;
    node_.attrs[name] = a;
    return *this;
  }

  // A runtime graph input.
  OpTest& input(const std::string& name, const Tensor& t) {
    int id = graph_->add_value(name);
    detail::Value& v = graph_->values[id];
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.shape_known = true;
    graph_->inputs.push_back(id);
    node_.inputs.push_back(id);
    feeds_[name] = t;
    return *this;
  }
  // A constant (initializer) input.
  OpTest& const_input(const std::string& name, const Tensor& t) {
    node_.inputs.push_back(graph_->add_const(name, t));
    return *this;
  }
  // An omitted optional input.
  OpTest& no_input() {
    node_.inputs.push_back(-1);
    return *this;
  }
  OpTest& output(const std::string& name) {
    int id = graph_->add_value(name);
    node_.outputs.push_back(id);
    graph_->outputs.push_back(id);
    output_names_.push_back(name);
    return *this;
  }

  std::vector<Tensor> run(const std::string& isa = "ref", int threads = 1) {
    if (!added_) {
      graph_->nodes.push_back(node_);
      graph_->toposort();
      added_ = true;
    }
    CompileOptions opt;
    opt.isa = isa;
    opt.threads = threads;
    CompiledModel cm = CompiledModel::compile(Model(graph_), opt);
    Session s = cm.create_session();
    std::map<std::string, Tensor> outs = s.run(feeds_);
    std::vector<Tensor> result;
    for (const std::string& n : output_names_) result.push_back(outs.at(n));
    return result;
  }

 private:
  std::shared_ptr<detail::Graph> graph_;
  detail::Node node_;
  std::map<std::string, Tensor> feeds_;
  std::vector<std::string> output_names_;
  bool added_ = false;
};

// A tensor from values: make_tensor<float>({2, 2}, {1, 2, 3, 4}).
template <class T>
Tensor make_tensor(DType dtype, Shape shape, const std::vector<T>& values) {
  Tensor t(dtype, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel()) throw Error("make_tensor: value count mismatch");
  T* p = t.data_as<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

// A reproducible f32 tensor, uniform in [lo, hi).
inline Tensor random_f32(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::f32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  return t;
}

}  // namespace octet::testing
