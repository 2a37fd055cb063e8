#include "api/c/c_status.h"

namespace octet::capi {
namespace {

// Returned when even a status cannot be allocated. Built when the library loads, so that
// reporting out-of-memory never needs memory.
octet_status out_of_memory_status{OCTET_OUT_OF_MEMORY, "octet: out of memory (while reporting an error)"};

}  // namespace

octet_status* make_status(octet_code code, const char* entry, const char* detail) noexcept {
  try {
    return new octet_status{code, std::string(entry) + ": " + detail};
  } catch (...) {
    return &out_of_memory_status;
  }
}

bool is_static_status(const octet_status* status) noexcept { return status == &out_of_memory_status; }

}  // namespace octet::capi
