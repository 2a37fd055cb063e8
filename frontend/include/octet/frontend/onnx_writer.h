// octet graph IR -> ONNX ModelProto: used to save INT8 models as QDQ ONNX files.
#pragma once

#include <string>

namespace octet {
namespace detail {
struct Graph;
}
namespace frontend {

// Serialises the graph (constants become raw_data initializers; every value with a known
// shape gets a value_info) and returns the ModelProto bytes. producer names the writer.
std::string serialize_onnx(const detail::Graph& g, const std::string& producer = "octet");
// serialize_onnx to a file; throws Error when the file cannot be written.
void save_onnx(const detail::Graph& g, const std::string& path);

}  // namespace frontend
}  // namespace octet
