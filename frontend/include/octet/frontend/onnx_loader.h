// ONNX frontend: a serialized onnx.ModelProto -> octet's graph IR (detail::Graph).
//
// Loading parses, checks and converts the model: initializers in every encoding (raw_data,
// typed fields, external data resolved only inside the model's folder), Constant nodes
// folded into constants, declared types and shapes copied onto values, old-opset nodes
// rewritten to the newest form of their op (see opset_upgrade.cc), and every op the engine
// lacks reported at once. Errors are octet::Error and start with the file (or display name).
// Which ops exist is the engine's knowledge, not the frontend's: the caller passes it in
// (OpSupported; the engine's Model::load passes its op registry).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "octet/octet.h"

namespace octet {
namespace detail {
struct Graph;
}

namespace frontend {

// Whether the caller can run an op: domain ("" for the default ONNX domain; "ai.onnx" is
// normalised to "") and op type after the opset upgrade (see opset_upgrade.cc). Every node
// whose op this rejects is reported in one UnsupportedOpsError. Must not be empty.
using OpSupported = std::function<bool(const std::string& domain, const std::string& op_type)>;

// Parses, checks and converts the model in a file. External data files are looked up in the
// file's folder.
std::shared_ptr<detail::Graph> load_onnx_file(const std::string& path, const OpSupported& op_supported);

// The same for a model already in memory. base_dir is where external data files are looked
// up ("" = external data is refused). display_name is used in error messages.
std::shared_ptr<detail::Graph> load_onnx_buffer(const void* data, size_t size, const std::string& base_dir,
                                                const OpSupported& op_supported,
                                                const std::string& display_name = "<buffer>");

// Thrown when the model uses ops octet does not implement. what() lists them all, e.g.
// "model.onnx: 2 unsupported op types: Loop (1), NonMaxSuppression (3)"; op_counts holds the
// same list ("domain.Op" for ops outside the default domain). Callers that only want to know
// "unsupported vs. broken" (the conformance runner) catch this type before octet::Error.
class UnsupportedOpsError : public Error {
 public:
  UnsupportedOpsError(const std::string& message, std::map<std::string, int> op_counts);
  ~UnsupportedOpsError() override;
  const std::map<std::string, int>& op_counts() const { return op_counts_; }

 private:
  std::map<std::string, int> op_counts_;
};

// The opsets of the default ONNX domain the frontend accepts. 7..18 is the supported range;
// 1..6 is accepted for the legacy forms opset_upgrade.cc knows how to rewrite (the ONNX
// backend test data still has such models).
constexpr int64_t kMinOpset = 1;
constexpr int64_t kMaxOpset = 18;

}  // namespace frontend
}  // namespace octet
