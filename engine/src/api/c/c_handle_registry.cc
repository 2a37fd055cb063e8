#include "api/c/c_handle_registry.h"

#include <string>

#include "api/c/c_status.h"

namespace octet::capi {
namespace {

// The kind in the low bits keeps tokens of different kinds distinct even in a dump.
constexpr int kKindBits = 3;
static_assert(sizeof(void*) == sizeof(uint64_t), "handles are 64-bit tokens cast to pointers");

}  // namespace

const char* handle_kind_name(HandleKind kind) {
  switch (kind) {
    case HandleKind::model: return "model";
    case HandleKind::compile_options: return "compile options";
    case HandleKind::compiled_model: return "compiled model";
    case HandleKind::session: return "session";
    case HandleKind::tensor: return "tensor";
  }
  return "unknown";
}

HandleRegistry& HandleRegistry::instance() {
  static HandleRegistry* const registry = new HandleRegistry;
  return *registry;
}

uint64_t HandleRegistry::add(HandleKind kind, std::shared_ptr<void> object) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t token = (next_serial_ << kKindBits) | uint64_t(kind);
  entries_.emplace(token, Entry{kind, std::move(object)});
  ++next_serial_;  // only once the entry is in: a failed add consumes no serial
  return token;
}

const HandleRegistry::Entry& HandleRegistry::live_entry(uint64_t token, HandleKind kind, const char* role) const {
  const auto it = entries_.find(token);
  const std::string expected = handle_kind_name(kind);
  if (it == entries_.end())
    throw CApiError(OCTET_INVALID_HANDLE, std::string(role) + " is not a live " + expected +
                                              " handle (already freed, or never created by octet)");
  if (it->second.kind != kind)
    throw CApiError(OCTET_INVALID_HANDLE, std::string(role) + " is a " + handle_kind_name(it->second.kind) +
                                              " handle, not a " + expected + " handle");
  return it->second;
}

std::shared_ptr<void> HandleRegistry::find(uint64_t token, HandleKind kind, const char* role) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_entry(token, kind, role).object;
}

void HandleRegistry::remove(uint64_t token, HandleKind kind, const char* role) {
  std::shared_ptr<void> last_reference;  // released after the lock: destructors may be slow
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live_entry(token, kind, role);
    auto it = entries_.find(token);
    last_reference = std::move(it->second.object);
    entries_.erase(it);
  }
}

}  // namespace octet::capi
