// Helpers shared by the reliability suite: build a model with the frontend tests'
// ModelBuilder, then go through the public API only (Model::load_from_buffer, compile, run).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "frontend/model_builder.h"
#include "fuzz/fuzz_common.h"
#include "octet/octet.h"

namespace octet::testing {

constexpr uint64_t kMiB = uint64_t(1) << 20;

inline Model load_public(const ModelBuilder& b) {
  const std::string bytes = b.bytes();
  return Model::load_from_buffer(bytes.data(), bytes.size());
}

inline CompileOptions ref_options(uint64_t max_memory_bytes = 256 * kMiB) {
  CompileOptions o;
  o.isa = "ref";
  o.threads = 1;
  o.max_memory_bytes = max_memory_bytes;
  return o;
}

// Loads and compiles b; returns the octet::Error message, or "" (with a test failure) when it
// compiles. A standard exception converted at the API boundary is a failure too.
inline std::string compile_error(const ModelBuilder& b, uint64_t max_memory_bytes = 256 * kMiB) {
  try {
    CompiledModel c = CompiledModel::compile(load_public(b), ref_options(max_memory_bytes));
    ADD_FAILURE() << "compiled (arena " << c.arena_bytes() << " bytes, weights " << c.weights_bytes()
                  << " bytes) but an octet::Error was expected";
    return "";
  } catch (const Error& e) {
    try {
      fuzz::check_clean_error(e);
    } catch (const fuzz::Finding& f) {
      ADD_FAILURE() << f.what();
    }
    return e.what();
  }
}

// Iteration counts of the stress tests: OCTET_RELIABILITY_SCALE (a divisor, default 1) scales
// them down for slow configurations (the ThreadSanitizer stage of tools/run_tests.sh).
inline int scaled(int n) {
  const char* env = std::getenv("OCTET_RELIABILITY_SCALE");
  const int div = env && std::atoi(env) > 0 ? std::atoi(env) : 1;
  return n / div > 0 ? n / div : 1;
}

}  // namespace octet::testing

// EXPECT that `text` contains `substr`.
#define EXPECT_CONTAINS(text, substr) \
  EXPECT_NE(std::string(text).find(substr), std::string::npos) << "message: " << (text) << "\nexpected: " << (substr)
