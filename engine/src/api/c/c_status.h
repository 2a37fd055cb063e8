// The C API's error boundary: octet_status objects, the exception that carries a C status
// code out of the checks, and c_guard(), which every entry point runs its body in so that no
// C++ exception crosses into C.
#pragma once

#include <new>
#include <stdexcept>
#include <string>

#include "octet/octet.h"
#include "octet/octet_c.h"

struct octet_status {
  octet_code code;
  std::string message;
};

namespace octet::capi {

// A failure the C layer detected itself, with the code it maps to.
class CApiError : public std::runtime_error {
 public:
  CApiError(octet_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  octet_code code() const { return code_; }

 private:
  octet_code code_;
};

[[noreturn]] inline void invalid_argument(const std::string& message) {
  throw CApiError(OCTET_INVALID_ARGUMENT, message);
}

// "<entry>: <detail>" as a new status; when that allocation fails, a preallocated
// out-of-memory status (which octet_status_free knows not to delete). Never throws.
octet_status* make_status(octet_code code, const char* entry, const char* detail) noexcept;
bool is_static_status(const octet_status* status) noexcept;

// Runs body(); NULL when it returns, a status naming `entry` when it throws anything.
template <class Body>
octet_status* c_guard(const char* entry, Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (const CApiError& e) {
    return make_status(e.code(), entry, e.what());
  } catch (const Error& e) {
    return make_status(OCTET_ENGINE_ERROR, entry, e.what());
  } catch (const std::bad_alloc&) {
    return make_status(OCTET_OUT_OF_MEMORY, entry, "out of memory");
  } catch (const std::exception& e) {
    return make_status(OCTET_INTERNAL_ERROR, entry, e.what());
  } catch (...) {
    return make_status(OCTET_INTERNAL_ERROR, entry, "unknown exception");
  }
}

}  // namespace octet::capi
