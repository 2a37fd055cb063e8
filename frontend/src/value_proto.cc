// ONNX test data of sequence and optional graph inputs / outputs: onnx.SequenceProto (of
// tensors) and onnx.OptionalProto (of a tensor, of a sequence of tensors, or empty) as
// octet::Values. Elements decode as load_tensor_pb's tensors do; maps, sparse tensors and
// nested sequences are refused.
#include <climits>

#include "onnx_internal.h"

namespace octet::frontend {

Value value_from_sequence_proto(const onnx::SequenceProto& sp, const TensorSource& src, const std::string& what) {
  if (sp.elem_type() != onnx::SequenceProto::TENSOR && sp.elem_type() != onnx::SequenceProto::UNDEFINED)
    throw Error(src.display + ": " + what + ": only sequences of tensors are supported (elem_type " +
                std::to_string(sp.elem_type()) + ")");
  if (sp.sequence_values_size() || sp.map_values_size() || sp.optional_values_size() ||
      sp.sparse_tensor_values_size())
    throw Error(src.display + ": " + what + ": holds values other than tensors");
  std::vector<Tensor> elements;
  for (int i = 0; i < sp.tensor_values_size(); ++i) {
    elements.push_back(tensor_from_proto(sp.tensor_values(i), src, what + " element " + std::to_string(i)));
    if (i > 0 && elements[i].dtype() != elements[0].dtype())
      throw Error(src.display + ": " + what + ": element " + std::to_string(i) + " is " +
                  dtype_name(elements[i].dtype()) + " but element 0 is " + dtype_name(elements[0].dtype()));
  }
  return Value::sequence(std::move(elements));
}

Value value_from_optional_proto(const onnx::OptionalProto& op, const TensorSource& src, const std::string& what) {
  switch (op.elem_type()) {
    case onnx::OptionalProto::UNDEFINED:
      if (op.has_tensor_value() || op.has_sequence_value())
        throw Error(src.display + ": " + what + ": has no elem_type but holds a value");
      return Value::none();
    case onnx::OptionalProto::TENSOR:
      if (!op.has_tensor_value()) throw Error(src.display + ": " + what + ": elem_type TENSOR without a tensor_value");
      return Value(tensor_from_proto(op.tensor_value(), src, what));
    case onnx::OptionalProto::SEQUENCE:
      if (!op.has_sequence_value())
        throw Error(src.display + ": " + what + ": elem_type SEQUENCE without a sequence_value");
      return value_from_sequence_proto(op.sequence_value(), src, what);
    default:
      throw Error(src.display + ": " + what + ": only optionals of a tensor or a sequence of tensors are supported "
                  "(elem_type " + std::to_string(op.elem_type()) + ")");
  }
}

}  // namespace octet::frontend

namespace octet {
namespace {

template <class Proto, class Decode>
Value load_value_pb(const std::string& path, std::string* name, const char* type, Decode decode) {
  const std::string bytes = frontend::read_file_bytes(path, INT_MAX, std::string(type) + " file");
  Proto p;
  if (!frontend::parse_message(bytes.data(), bytes.size(), &p))
    throw Error(path + ": not a valid onnx." + type + " (truncated or corrupt)");
  frontend::TensorSource src;
  src.display = path;
  src.base_dir = frontend::parent_dir(path);
  Value v = decode(p, src, std::string(type) + " '" + p.name() + "'");
  if (name) *name = p.name();
  return v;
}

}  // namespace

Value load_sequence_pb(const std::string& path, std::string* name) {
  return load_value_pb<onnx::SequenceProto>(path, name, "SequenceProto", frontend::value_from_sequence_proto);
}

Value load_optional_pb(const std::string& path, std::string* name) {
  return load_value_pb<onnx::OptionalProto>(path, name, "OptionalProto", frontend::value_from_optional_proto);
}

}  // namespace octet
