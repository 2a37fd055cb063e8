// ISA levels, CPU detection (once, with cpu_features) and capping (OCTET_MAX_ISA, --isa).
#pragma once

#include <string>
#include <vector>

namespace octet::kernels {

// Ordered: each level implies the ones below it.
enum class Isa : int { ref = 0, avx2 = 1, avx512 = 2, vnni = 3 };

// A resolved choice: the level, plus whether INT8 may use the saturating vpmaddubsw
// ("fast") path on avx2/avx512. fast is meaningless on ref and vnni.
struct IsaChoice {
  Isa isa = Isa::ref;
  bool fast = false;
  std::string name() const;  // "avx2", "avx2_fast", "vnni", ...
};

const char* isa_name(Isa isa);
// The CPU features (cpu_features names) a level's kernels execute, as detection checks them.
std::vector<std::string> isa_cpu_features(Isa isa);
// Best level this CPU supports (detected once).
Isa cpu_max_isa();
bool cpu_supports(Isa isa);
// The level OCTET_MAX_ISA allows (cpu_max_isa() when unset). Throws octet::Error on a bad
// value or on a level the CPU lacks.
Isa env_max_isa();
// "auto" | "ref" | "avx2" | "avx2_fast" | "avx512" | "avx512_fast" | "vnni".
// "auto" = env_max_isa(). An explicit level above env_max_isa() or above the CPU is an Error.
IsaChoice resolve_isa(const std::string& requested);
// Every level the CPU has (capped by OCTET_MAX_ISA), including _fast variants, best first.
std::vector<IsaChoice> available_isas();
// OCTET_VERBOSE=1: kernels and the engine print the kernel chosen for each call site.
bool verbose();
// One-line description of the CPU ("AMD EPYC (avx2 avx512 vnni)").
std::string cpu_description();

}  // namespace octet::kernels
