// What counts as a finding when one fuzz input goes through octet. The harnesses
// (harness_*.h) catch octet::Error only: any other exception escapes to the caller, which in
// a libFuzzer binary terminates the process (a recorded crash) and in the regression replay
// (tests/reliability/test_fuzz_regressions.cc) fails the test.
#pragma once

#include <cctype>
#include <cstring>
#include <stdexcept>
#include <string>

#include "octet/octet.h"

namespace octet::fuzz {

// A failure that is octet's fault rather than the input's.
class Finding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// An octet::Error is the correct answer to a bad input, except when it is a standard
// exception that the API boundary converted: api_guard (engine/src/api/api_guard.h) writes
// "<entry>: internal error: <what>" for std::out_of_range and friends and "<entry>: out of
// memory" for std::bad_alloc. Only that fixed shape is matched, at the start of the message
// (an entry point name, then the text): names taken from the input appear in ordinary
// messages too, and the fuzzer will happily name a node "internal error". (An allocation
// sized from unchecked input is caught before any bad_alloc by the fuzzers' -malloc_limit_mb.)
inline bool is_internal_failure(const std::string& what) {
  const size_t colon = what.find(": ");
  bool entry = colon != std::string::npos && colon > 0;
  for (size_t i = 0; entry && i < colon; ++i)
    entry = std::isalnum(static_cast<unsigned char>(what[i])) || what[i] == '_' || what[i] == ':';
  if (!entry) return false;
  const std::string rest = what.substr(colon);
  return rest.rfind(": internal error: ", 0) == 0 || rest == ": out of memory";
}

inline void check_clean_error(const Error& e) {
  if (is_internal_failure(e.what()))
    throw Finding(std::string("an internal failure crossed the API as octet::Error: ") + e.what());
}

inline void require(bool cond, const std::string& message) {
  if (!cond) throw Finding(message);
}

}  // namespace octet::fuzz
