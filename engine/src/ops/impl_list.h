// An op's implementations as an ordered list, tried in order at kernel creation: each says
// why it declines a node (conditions(), empty when it accepts), the first that accepts makes
// the kernel, and the list ends in the reference kernel (or, for octet's internal ops that
// exist only where a fast kernel runs them, in an Error naming every reason). The reasons of
// those that declined stay on the NodeContext; OCTET_VERBOSE=1 prints them beside the chosen
// kernel (runtime/compiler.cc). oneDNN's primitive lists and ONEDNN_VERBOSE are the model.
#pragma once

#include <memory>
#include <string>

#include "ops/op_registry.h"

namespace octet::detail {

template <class Desc>
struct OpImpl {
  const char* name;
  std::string (*conditions)(const Desc& d);  // why it declines d; empty when it accepts
  std::unique_ptr<OpKernel> (*create)(const Desc& d, const NodeContext& ctx);
};

// The reason every fast implementation gives on the ref level, which runs the reference
// kernels; empty on the SIMD levels.
inline std::string declined_on_ref_level(const NodeContext& ctx) {
  return ctx.isa().isa == kernels::Isa::ref ? "the ref level runs the reference kernel" : std::string();
}

// The conditions of an implementation that runs every node (the reference at a list's end).
template <class Desc>
std::string accepts_every_node(const Desc&) {
  return {};
}

// The first implementation whose conditions() accept d, or null; with `declined`, the
// reasons of those before it are noted on ctx.
template <class Desc, size_t N>
const OpImpl<Desc>* first_accepting(const OpImpl<Desc> (&impls)[N], const Desc& d, const NodeContext* declined) {
  for (const OpImpl<Desc>& impl : impls) {
    const std::string why = impl.conditions(d);
    if (why.empty()) return &impl;
    if (declined) declined->note_declined(impl.name, why);
  }
  return nullptr;
}

// Creates the kernel of the first implementation that accepts d; an Error listing every
// reason when none does.
template <class Desc, size_t N>
std::unique_ptr<OpKernel> create_first_accepting(const OpImpl<Desc> (&impls)[N], const Desc& d,
                                                 const NodeContext& ctx) {
  if (const OpImpl<Desc>* impl = first_accepting(impls, d, &ctx)) return impl->create(d, ctx);
  std::string reasons;
  for (const auto& [name, why] : ctx.declined()) reasons += std::string(reasons.empty() ? "" : "; ") + name + ": " + why;
  ctx.fail("no implementation accepts this node (" + reasons + ")");
}

}  // namespace octet::detail
