// The C API's handles. A handle is not the address of its object: it is a token (a serial
// number never reused, tagged with the handle's kind) looked up in a mutex-protected table of
// shared_ptrs. So a freed, forged or wrong-kind handle is found missing and reported instead
// of dereferenced, and a call that looked its object up holds a reference that a concurrent
// free cannot pull away.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace octet::capi {

enum class HandleKind : uint64_t { model = 1, compile_options, compiled_model, session, tensor };
const char* handle_kind_name(HandleKind kind);

class HandleRegistry {
 public:
  // The process-wide table (never destroyed, so handles stay checkable during exit).
  static HandleRegistry& instance();

  // A new token for `object`; never 0.
  uint64_t add(HandleKind kind, std::shared_ptr<void> object);
  // The object of a live token of this kind; throws CApiError(OCTET_INVALID_HANDLE) naming
  // what went wrong (freed / never issued, or another kind) otherwise. `role` names the
  // argument in the message.
  std::shared_ptr<void> find(uint64_t token, HandleKind kind, const char* role) const;
  // Drops the table's reference; throws like find() for a token that is not live.
  void remove(uint64_t token, HandleKind kind, const char* role);

 private:
  struct Entry {
    HandleKind kind;
    std::shared_ptr<void> object;
  };
  const Entry& live_entry(uint64_t token, HandleKind kind, const char* role) const;  // caller holds mutex_

  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t next_serial_ = 1;
};

}  // namespace octet::capi
