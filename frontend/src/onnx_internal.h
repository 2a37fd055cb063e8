// Internal pieces of the ONNX frontend shared by its translation units.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "octet/graph/graph.h"
#include "octet/octet.h"

namespace octet::frontend {

// Where a tensor's bytes may come from, and how to name it in errors.
struct TensorSource {
  std::string display;   // "model.onnx" or "<buffer>": the prefix of every error message
  std::string base_dir;  // folder for external data files; "" = external data refused
};

// ONNX TensorProto.DataType -> DType. Throws for string, complex and unknown codes; `what`
// names the tensor or value in the message.
DType dtype_from_onnx(int32_t data_type, const std::string& what, const std::string& display);
// Same, but maps string to DType::string instead of throwing (for declarations, which only
// become an error when a string tensor is actually used).
DType declared_dtype_from_onnx(int32_t data_type, const std::string& what, const std::string& display);

// Decodes an initializer / attribute tensor / test tensor. Checks dims and the bytes actually
// present before allocating anything.
Tensor tensor_from_proto(const onnx::TensorProto& tp, const TensorSource& src, const std::string& what);
// Encodes a tensor as raw_data (little-endian, the host order on x86).
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp);

// Reads the bytes of an external-data tensor into a new tensor of dtype/shape; `bytes` is the
// size the shape needs. Resolves the file only inside src.base_dir (no absolute paths, no
// "..", no symlink leading outside) and checks offset/length against the file.
Tensor read_external_data(const onnx::TensorProto& tp, DType dtype, const Shape& shape, size_t bytes,
                          const TensorSource& src, const std::string& what);

// Parses a protobuf message from memory with an explicit total-bytes limit (messages up to
// 2 GB - 1). Returns false on malformed or truncated input.
bool parse_message(const void* data, size_t size, google::protobuf::MessageLite* msg);
// Reads a whole file; throws Error naming the file when it cannot be read or is over max_bytes.
std::string read_file_bytes(const std::string& path, uint64_t max_bytes, const std::string& what);
// The folder part of a path ("." for a bare file name).
std::string parent_dir(const std::string& path);

// Rewrites nodes written for older opsets of the default domain into the newest form of
// their op (opset_upgrade.cc documents each rewrite). Constants it needs are added with
// Graph::add_const; new nodes are appended (toposort orders them afterwards).
void upgrade_to_newest_forms(detail::Graph& g, const std::string& display);
// The op type a node becomes after upgrade_to_newest_forms (Upsample -> Resize, ...), so the
// unsupported-op check can run before the rewrites.
std::string upgraded_op_type(const std::string& domain, const std::string& op_type, int64_t opset);

// IEEE half and bfloat16 from float, round to nearest even.
uint16_t float_to_half(float f);
uint16_t float_to_bfloat16(float f);

}  // namespace octet::frontend
