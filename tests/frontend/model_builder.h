// Builds small ONNX models in C++ with the onnx protobuf API, for the frontend tests.
#pragma once

#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "octet/frontend/onnx_loader.h"
#include "octet/graph/graph.h"
#include "octet/octet.h"
#include "ops/op_registry.h"

namespace octet::testing {

using TP = onnx::TensorProto;

// A dimension for value declarations: a number, or a symbolic name.
struct Dim {
  Dim(int v) : value(v) {}      // NOLINT: implicit so {1, 3, "batch"} reads naturally
  Dim(int64_t v) : value(v) {}  // NOLINT
  Dim(const char* p) : param(p) {}  // NOLINT
  int64_t value = -1;
  std::string param;
};

inline void set_type(onnx::ValueInfoProto* vi, int elem_type, const std::vector<Dim>& dims, bool with_shape = true) {
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  if (!with_shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : dims) {
    auto* dim = shape->add_dim();
    if (!d.param.empty())
      dim->set_dim_param(d.param);
    else if (d.value >= 0)
      dim->set_dim_value(d.value);
  }
}

// n floats uniform in [-scale, scale], the same for a seed on every machine (weights of test models).
inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline TP tensor_f32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v,
                     bool raw = true) {
  TP t;
  t.set_name(name);
  t.set_data_type(TP::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  if (raw)
    t.set_raw_data(v.data(), v.size() * sizeof(float));
  else
    for (float x : v) t.add_float_data(x);
  return t;
}

// A tensor whose data lives in another file (data_location EXTERNAL). offset and length are
// written as given, so tests can write malformed ones; empty: left out.
inline TP tensor_external(const std::string& name, int elem_type, const std::vector<int64_t>& dims,
                          const std::string& location, const std::string& offset = "",
                          const std::string& length = "") {
  TP t;
  t.set_name(name);
  t.set_data_type(elem_type);
  for (int64_t d : dims) t.add_dims(d);
  t.set_data_location(TP::EXTERNAL);
  auto add = [&](const std::string& k, const std::string& v) {
    auto* e = t.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  if (!offset.empty()) add("offset", offset);
  if (!length.empty()) add("length", length);
  return t;
}

inline TP tensor_i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v,
                     bool raw = true) {
  TP t;
  t.set_name(name);
  t.set_data_type(TP::INT64);
  for (int64_t d : dims) t.add_dims(d);
  if (raw)
    t.set_raw_data(v.data(), v.size() * sizeof(int64_t));
  else
    for (int64_t x : v) t.add_int64_data(x);
  return t;
}

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 13, int64_t ir_version = 8) {
    model_.set_ir_version(ir_version);
    model_.set_producer_name("octet-tests");
    if (opset > 0) {
      auto* os = model_.add_opset_import();
      os->set_domain("");
      os->set_version(opset);
    }
    model_.mutable_graph()->set_name("test");
  }

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto* graph() { return model_.mutable_graph(); }

  onnx::ValueInfoProto* input(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
    auto* vi = graph()->add_input();
    vi->set_name(name);
    set_type(vi, elem_type, dims);
    return vi;
  }
  onnx::ValueInfoProto* output(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
    auto* vi = graph()->add_output();
    vi->set_name(name);
    set_type(vi, elem_type, dims);
    return vi;
  }
  // An output declared by name only (no type): shape inference decides.
  onnx::ValueInfoProto* output_untyped(const std::string& name) {
    auto* vi = graph()->add_output();
    vi->set_name(name);
    return vi;
  }
  onnx::ValueInfoProto* value_info(const std::string& name, int elem_type, const std::vector<Dim>& dims) {
    auto* vi = graph()->add_value_info();
    vi->set_name(name);
    set_type(vi, elem_type, dims);
    return vi;
  }
  TP* initializer(const TP& t) {
    auto* p = graph()->add_initializer();
    *p = t;
    return p;
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "",
                        const std::string& domain = "") {
    auto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    if (!domain.empty()) n->set_domain(domain);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }

  std::string bytes() const {
    std::string s;
    model_.SerializeToString(&s);
    return s;
  }
  void save(const std::string& path) const {
    std::ofstream f(path, std::ios::binary);
    const std::string s = bytes();
    f.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  std::shared_ptr<detail::Graph> load(const std::string& base_dir = "") const {
    const std::string s = bytes();
    return frontend::load_onnx_buffer(s.data(), s.size(), base_dir, detail::registry_has_op, "test.onnx");
  }

 private:
  onnx::ModelProto model_;
};

// Attribute helpers.
inline onnx::AttributeProto* add_attr(onnx::NodeProto* n, const std::string& name, onnx::AttributeProto::AttributeType t) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(t);
  return a;
}
inline void attr_i(onnx::NodeProto* n, const std::string& k, int64_t v) { add_attr(n, k, onnx::AttributeProto::INT)->set_i(v); }
inline void attr_f(onnx::NodeProto* n, const std::string& k, float v) { add_attr(n, k, onnx::AttributeProto::FLOAT)->set_f(v); }
inline void attr_s(onnx::NodeProto* n, const std::string& k, const std::string& v) {
  add_attr(n, k, onnx::AttributeProto::STRING)->set_s(v);
}
inline void attr_ints(onnx::NodeProto* n, const std::string& k, const std::vector<int64_t>& v) {
  auto* a = add_attr(n, k, onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
inline void attr_floats(onnx::NodeProto* n, const std::string& k, const std::vector<float>& v) {
  auto* a = add_attr(n, k, onnx::AttributeProto::FLOATS);
  for (float x : v) a->add_floats(x);
}
inline void attr_t(onnx::NodeProto* n, const std::string& k, const TP& t) {
  *add_attr(n, k, onnx::AttributeProto::TENSOR)->mutable_t() = t;
}

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/octet_frontend_XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const void* data, size_t size) const {
    std::ofstream f(file(name), std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  }

 private:
  std::string path_;
};

// The value with this name in a loaded graph (fails the test when absent).
inline const detail::Value& value_named(const detail::Graph& g, const std::string& name) {
  int id = g.find_value(name);
  if (id < 0) throw std::runtime_error("no value named " + name);
  return g.values[id];
}

// The single node of this op type in a graph.
inline const detail::Node& only_node(const detail::Graph& g, const std::string& op_type) {
  const detail::Node* found = nullptr;
  for (const auto& n : g.nodes)
    if (n.op_type == op_type) {
      if (found) throw std::runtime_error("more than one " + op_type + " node");
      found = &n;
    }
  if (!found) throw std::runtime_error("no " + op_type + " node");
  return *found;
}

template <class T>
std::vector<T> const_values(const detail::Graph& g, int id) {
  const detail::Value& v = g.values.at(id);
  if (!v.is_const) throw std::runtime_error("value " + v.name + " is not a constant");
  const Tensor t = detail::constant_data(v);  // initializers may still be in their file
  const T* p = t.data_as<T>();
  return std::vector<T>(p, p + t.numel());
}

}  // namespace octet::testing

// EXPECT that `stmt` throws octet::Error whose message contains `substr`.
#define EXPECT_OCTET_ERROR(stmt, substr)                                                          \
  do {                                                                                            \
    try {                                                                                         \
      stmt;                                                                                       \
      ADD_FAILURE() << "expected octet::Error containing \"" << (substr) << "\"";                 \
    } catch (const octet::Error& e) {                                                             \
      EXPECT_NE(std::string(e.what()).find(substr), std::string::npos)                            \
          << "message: " << e.what() << "\nexpected to contain: " << (substr);                    \
    }                                                                                             \
  } while (0)
