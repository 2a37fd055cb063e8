// Finds the initializers' raw_data in a serialized onnx.ModelProto without parsing it with
// protobuf, so that the weights are never copied into protobuf strings: the loader parses
// only the pruned bytes (the model without those payloads) and takes each initializer's bytes
// from the file (or buffer) at the recorded offset.
//
// The scanner walks the wire format of ModelProto.graph (field 7) -> GraphProto.initializer
// (field 5) -> TensorProto.raw_data (field 9) and copies everything else verbatim. It is a
// parser of untrusted input: every varint, tag and length is checked against the bytes that
// enclose it, and malformed input is an octet::Error, never a read out of bounds. Groups
// (wire types 3 and 4, deprecated, never written by ONNX tools) are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace octet::frontend {

// Where one initializer's raw_data lies in the scanned bytes.
struct RawDataSpan {
  bool present = false;  // the TensorProto has raw_data (if repeated, the last one, as protobuf)
  uint64_t offset = 0;
  uint64_t size = 0;
};

struct ScannedModel {
  // The model with every initializer's raw_data field removed (enclosing lengths rewritten).
  std::string pruned;
  // One entry per GraphProto.initializer in order, i.e. graph().initializer(i) of the pruned
  // model (several graph fields merge as protobuf merges them: initializers appended).
  std::vector<RawDataSpan> raw_data;
};

// Throws Error("<display>: not a valid ONNX model (...)") on malformed wire data.
ScannedModel scan_initializers(const uint8_t* data, size_t size, const std::string& display);

}  // namespace octet::frontend
