// The compiled-model file (CompiledModel::save / load): a program with its packed weights,
// laid out so that a load maps the file read-only and uses the weights in place. Several
// processes loading one file share its pages through the page cache.
//
// Layout (little endian):
//   [0, 64)   header: magic "OCTETCMF", format version, file size, manifest offset and size,
//             data offset, and an XXH64 checksum of the whole file (that field read as 0)
//   manifest: ISA level and the CPU features it needs, the graph (values, nodes, attributes),
//             the kernel chosen per node, the memory plan, the packed-weight records and the
//             quantization report; constants and packed buffers are (offset, size) references
//   data:     constants and packed buffers, each 64-byte aligned
// A load refuses (octet::Error) a wrong magic or version, a size or checksum mismatch, a level
// this CPU lacks (or above OCTET_MAX_ISA), a manifest that does not parse, references outside
// the data, and a graph, kernel choice or memory plan that differs from what this build derives
// from the same graph.
#pragma once

#include <memory>
#include <string>

#include "runtime/program.h"

namespace octet::detail {


void save_compiled(const Program& program, const std::string& path);
// threads: intra-op threads of the sessions (0 = one per core).
std::shared_ptr<Program> load_compiled(const std::string& path, int threads);
// The same from bytes in memory (copied; for tests and the fuzz target).
std::shared_ptr<Program> load_compiled_from_buffer(const void* data, size_t size, int threads);

}  // namespace octet::detail
