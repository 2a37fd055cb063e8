#include "ops/op_registry.h"

namespace octet::detail {

int64_t NodeContext::opset() const {
  auto it = g_.opsets.find(node_.domain);
  if (it != g_.opsets.end()) return it->second;
  return node_.domain.empty() ? g_.opset() : 1;
}

const Value& NodeContext::input(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
  return g_.values[node_.inputs[i]];
}

const Shape& NodeContext::input_shape(size_t i) const {
  const Value& v = input(i);
  if (!v.shape_known) fail("the shape of input " + std::to_string(i) + " ('" + v.name + "') is unknown");
  return v.shape;
}

const Tensor* NodeContext::input_const(size_t i) const {
  if (!has_input(i)) return nullptr;
  const Value& v = g_.values[node_.inputs[i]];
  return v.is_const ? &v.data : nullptr;
}

const Value& NodeContext::output(size_t i) const {
  if (!has_output(i)) fail("output " + std::to_string(i) + " is missing");
  return g_.values[node_.outputs[i]];
}

void NodeContext::set_output(size_t i, DType dtype, Shape shape) {
  if (!has_output(i)) return;  // omitted optional output
  for (int64_t d : shape)
    if (d < 0) fail("inferred a negative dimension for output " + std::to_string(i) + ": " + shape_str(shape));
  shape_numel(shape);  // overflow check
  Value& v = g_.values[node_.outputs[i]];
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.shape_known = true;
  // A tensor, whatever the model declared (set_sequence_output / set_none_output mark the others).
  v.is_sequence = false;
  v.is_none = false;
}

void NodeContext::set_output_const(size_t i, Tensor value) {
  if (!has_output(i)) return;
  Value& v = g_.values[node_.outputs[i]];
  v.dtype = value.dtype();
  v.shape = value.shape();
  v.shape_known = true;
  v.is_sequence = false;
  v.is_none = false;
  v.is_const = true;
  v.data = std::move(value);
}

void NodeContext::fail(const std::string& message) const {
  std::string msg = g_.where() + node_.label() + " inputs (";
  for (size_t i = 0; i < node_.inputs.size(); ++i) {
    if (i) msg += ", ";
    int id = node_.inputs[i];
    if (id < 0) {
      msg += "-";
      continue;
    }
    const Value& v = g_.values[id];
    msg += std::string(dtype_name(v.dtype)) + " " + (v.shape_known ? shape_str(v.shape) : "[?]");
  }
  throw Error(msg + "): " + message);
}

void OpRegistry::add(OpDef def) {
  std::pair<std::string, std::string> key{def.domain, def.op_type};
  ops_[key] = std::move(def);
}

const OpDef* OpRegistry::find(const std::string& domain, const std::string& op_type) const {
  std::string d = domain == "ai.onnx" ? "" : domain;
  auto it = ops_.find({d, op_type});
  return it == ops_.end() ? nullptr : &it->second;
}

bool registry_has_op(const std::string& domain, const std::string& op_type) {
  return OpRegistry::instance().find(domain, op_type) != nullptr;
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& kv : ops_) out.push_back(kv.first.first.empty() ? kv.first.second
                                                                   : kv.first.first + "." + kv.first.second);
  return out;
}

}  // namespace octet::detail
