// octet::Error, the one exception type of the API (and of the kernels, which throw it for
// bad arguments and unsupported ISAs). Its own header so kernels/ needs nothing from the
// engine; octet/octet.h includes it.
#pragma once

#include <stdexcept>
#include <string>

namespace octet {

// The one exception type of the API. what() carries the context (file, node, op, shapes).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace octet
