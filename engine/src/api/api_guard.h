// Every public entry point reports failure as octet::Error: a standard exception escaping
// from deep inside (std::bad_alloc, std::length_error, ...) is converted at the API boundary.
#pragma once

#include <new>
#include <string>
#include <utility>

#include "octet/octet.h"

namespace octet::detail {

template <class Fn>
auto api_guard(const char* entry, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(std::string(entry) + ": out of memory");
  } catch (const std::exception& e) {
    throw Error(std::string(entry) + ": internal error: " + e.what());
  }
}

}  // namespace octet::detail
