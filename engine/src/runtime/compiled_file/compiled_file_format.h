// Constants and the small shared pieces of the compiled-model file's writer and reader
// (compiled_file.h describes the layout).
#pragma once

#include <cstdint>

namespace octet::detail {

constexpr char kCompiledMagic[8] = {'O', 'C', 'T', 'E', 'T', 'C', 'M', 'F'};
constexpr uint32_t kCompiledFileVersion = 1;  // bump on any change of the layout or of its meaning
constexpr uint64_t kCompiledHeaderBytes = 64;
constexpr uint64_t kCompiledAlign = 64;

// Header fields (byte offsets).
constexpr size_t kHdrVersion = 8, kHdrFileBytes = 16, kHdrManifestOffset = 24, kHdrManifestBytes = 32,
                 kHdrDataOffset = 40, kHdrChecksum = 48;

// A value's flags in the manifest.
constexpr uint8_t kValueShapeKnown = 1, kValueConst = 2, kValueConstPacked = 4;

inline uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace octet::detail
