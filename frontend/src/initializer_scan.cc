// The wire-format scanner of initializer_scan.h: ModelProto.graph -> GraphProto.initializer ->
// TensorProto.raw_data located, everything else copied. Positions are size_t indices into the
// input, and every length is compared with the bytes left in its enclosing message before it
// is used, so no input can make it read outside [data, data + size).
#include "octet/frontend/initializer_scan.h"

#include "octet/error.h"

namespace octet::frontend {
namespace {

// Field numbers of onnx.proto this scanner looks into.
constexpr uint32_t kModelGraph = 7;        // ModelProto.graph
constexpr uint32_t kGraphInitializer = 5;  // GraphProto.initializer
constexpr uint32_t kTensorRawData = 9;     // TensorProto.raw_data
constexpr int kLengthDelimited = 2;

struct Field {
  uint32_t number = 0;
  int wire_type = 0;
  uint64_t tag = 0;
  size_t start = 0;    // first byte of the tag
  size_t payload = 0;  // first byte of a length-delimited payload
  size_t end = 0;      // one past the field
};

class Scanner {
 public:
  Scanner(const uint8_t* data, size_t size, const std::string& display) : d_(data), size_(size), display_(display) {}

  ScannedModel run() {
    ScannedModel out;
    size_t pos = 0;
    while (pos < size_) {
      const Field f = next(pos, size_);
      if (f.number == kModelGraph && f.wire_type == kLengthDelimited)
        put_message(out.pruned, f.tag, prune_graph(f.payload, f.end, out.raw_data));
      else
        out.pruned.append(reinterpret_cast<const char*>(d_ + f.start), f.end - f.start);
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(display_ + ": not a valid ONNX model (" + why + ")");
  }

  uint64_t varint(size_t& pos, size_t end) const {
    uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos >= end) fail("truncated varint");
      const uint8_t b = d_[pos++];
      v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }

  // Reads one field starting at pos (which must be < end) and moves pos past it.
  Field next(size_t& pos, size_t end) const {
    Field f;
    f.start = pos;
    f.tag = varint(pos, end);
    if (f.tag > 0xFFFFFFFFu) fail("field tag over 32 bits");
    f.number = static_cast<uint32_t>(f.tag >> 3);
    f.wire_type = static_cast<int>(f.tag & 7);
    if (f.number == 0) fail("field number 0");
    switch (f.wire_type) {
      case 0:
        varint(pos, end);
        break;
      case 1:
        if (end - pos < 8) fail("truncated fixed64 field");
        pos += 8;
        break;
      case kLengthDelimited: {
        const uint64_t len = varint(pos, end);
        if (len > end - pos) fail("field " + std::to_string(f.number) + " claims " + std::to_string(len) +
                                  " bytes but its message has " + std::to_string(end - pos) + " left");
        f.payload = pos;
        pos += static_cast<size_t>(len);
        break;
      }
      case 5:
        if (end - pos < 4) fail("truncated fixed32 field");
        pos += 4;
        break;
      case 3:
      case 4:
        fail("protobuf groups are not supported");
      default:
        fail("invalid wire type " + std::to_string(f.wire_type));
    }
    f.end = pos;
    return f;
  }

  static void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }

  static void put_message(std::string& out, uint64_t tag, const std::string& body) {
    put_varint(out, tag);
    put_varint(out, body.size());
    out += body;
  }

  std::string prune_graph(size_t pos, size_t end, std::vector<RawDataSpan>& spans) const {
    std::string out;
    while (pos < end) {
      const Field f = next(pos, end);
      if (f.number == kGraphInitializer && f.wire_type == kLengthDelimited) {
        RawDataSpan span;
        put_message(out, f.tag, prune_tensor(f.payload, f.end, span));
        spans.push_back(span);
      } else {
        out.append(reinterpret_cast<const char*>(d_ + f.start), f.end - f.start);
      }
    }
    return out;
  }

  std::string prune_tensor(size_t pos, size_t end, RawDataSpan& span) const {
    std::string out;
    while (pos < end) {
      const Field f = next(pos, end);
      if (f.number == kTensorRawData && f.wire_type == kLengthDelimited) {
        span.present = true;  // a repeated raw_data replaces the earlier one, as in protobuf
        span.offset = f.payload;
        span.size = f.end - f.payload;
      } else {
        out.append(reinterpret_cast<const char*>(d_ + f.start), f.end - f.start);
      }
    }
    return out;
  }

  const uint8_t* d_;
  size_t size_;
  const std::string& display_;
};

}  // namespace

ScannedModel scan_initializers(const uint8_t* data, size_t size, const std::string& display) {
  if (!data && size) throw Error(display + ": null model buffer");
  return Scanner(data, size, display).run();
}

}  // namespace octet::frontend
