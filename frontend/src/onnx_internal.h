// Internal pieces of the ONNX frontend shared by its translation units.
#pragma once

#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "octet/frontend/initializer_scan.h"
#include "octet/graph/file_bytes.h"
#include "octet/graph/graph.h"
#include "octet/octet.h"

namespace octet::frontend {

// Where a tensor's bytes may come from, and how to name it in errors.
struct TensorSource {
  TensorSource(std::string display_name = "", std::string external_dir = "")
      : display(std::move(display_name)), base_dir(std::move(external_dir)) {}
  std::string display;   // "model.onnx" or "<buffer>": the prefix of every error message
  std::string base_dir;  // folder for external data files; "" = external data refused
  // The scanned model bytes that RawDataSpan offsets point into (valid during the load)...
  const uint8_t* model_bytes = nullptr;
  // ...and, for a model file, that file: initializers then stay in it (read at compile).
  std::shared_ptr<const detail::FileBytes> model_file;
  // External data files opened so far by this load (one descriptor per file, however many
  // tensors it holds); null = open each time.
  std::map<std::string, std::shared_ptr<const detail::FileBytes>>* external_files = nullptr;
};

// A constant as the loader produced it: its value (data), or, when `file` is set, where its
// bytes are (data empty), for detail::Value::file / file_offset.
struct LoadedConst {
  Tensor data;
  DType dtype = DType::undefined;
  Shape shape;
  std::shared_ptr<const detail::FileBytes> file;
  uint64_t file_offset = 0;
};

// ONNX TensorProto.DataType -> DType (string included). Throws for complex and unknown codes;
// `what` names the tensor or value in the message.
DType declared_dtype_from_onnx(int32_t data_type, const std::string& what, const std::string& display);

// Decodes an initializer / attribute tensor / test tensor. Checks dims and the bytes actually
// present before allocating anything.
Tensor tensor_from_proto(const onnx::TensorProto& tp, const TensorSource& src, const std::string& what);
// An initializer of a scanned model: `raw` is its raw_data as scan_initializers found it (the
// pruned TensorProto has none). Bytes that lie in a file (src.model_file, or external data)
// stay there; the rest are decoded as tensor_from_proto does.
LoadedConst initializer_from_proto(const onnx::TensorProto& tp, const RawDataSpan& raw, const TensorSource& src,
                                   const std::string& what);
// Test data of sequence / optional values (value_proto.cc): elements decode as tensor_from_proto.
Value value_from_sequence_proto(const onnx::SequenceProto& sp, const TensorSource& src, const std::string& what);
Value value_from_optional_proto(const onnx::OptionalProto& op, const TensorSource& src, const std::string& what);
// Encodes a tensor as raw_data (little-endian, the host order on x86).
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp);

// Where the bytes of an external-data tensor are: `bytes` is the size the shape needs (dtype
// and shape only name it in messages). Resolves the file only inside src.base_dir (no
// absolute paths, no "..", no symlink leading outside) and checks offset/length against the
// file. Returns the open file, *offset set.
std::shared_ptr<const detail::FileBytes> locate_external_data(const onnx::TensorProto& tp, DType dtype,
                                                              const Shape& shape, size_t bytes,
                                                              const TensorSource& src, const std::string& what,
                                                              uint64_t* offset);

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
