#include "octet/kernels/isa.h"

#include <cpuinfo_x86.h>

#include <cstdlib>
#include <cstring>

#include "octet/error.h"

namespace octet::kernels {
namespace {

struct Detected {
  Isa max = Isa::ref;
  std::string brand;
};

const Detected& detected() {
  static const Detected d = [] {
    Detected r;
    const cpu_features::X86Info info = cpu_features::GetX86Info();
    const auto& f = info.features;
    r.brand = info.brand_string;
    if (f.avx2 && f.fma3) r.max = Isa::avx2;
    if (r.max == Isa::avx2 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) r.max = Isa::avx512;
    if (r.max == Isa::avx512 && f.avx512vnni) r.max = Isa::vnni;
    return r;
  }();
  return d;
}

}  // namespace

std::vector<std::string> isa_cpu_features(Isa isa) {
  // The features detected() checks for each level, in its order.
  std::vector<std::string> f;
  if (isa >= Isa::avx2) f.insert(f.end(), {"avx2", "fma3"});
  if (isa >= Isa::avx512) f.insert(f.end(), {"avx512f", "avx512bw", "avx512dq", "avx512vl"});
  if (isa >= Isa::vnni) f.push_back("avx512vnni");
  return f;
}

namespace {

bool parse_level(const std::string& s, Isa* isa, bool* fast) {
  *fast = false;
  if (s == "ref") *isa = Isa::ref;
  else if (s == "avx2") *isa = Isa::avx2;
  else if (s == "avx2_fast") { *isa = Isa::avx2; *fast = true; }
  else if (s == "avx512") *isa = Isa::avx512;
  else if (s == "avx512_fast") { *isa = Isa::avx512; *fast = true; }
  else if (s == "vnni") *isa = Isa::vnni;
  else return false;
  return true;
}

}  // namespace

std::string IsaChoice::name() const {
  std::string n = isa_name(isa);
  if (fast && (isa == Isa::avx2 || isa == Isa::avx512)) n += "_fast";
  return n;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::ref: return "ref";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::vnni: return "vnni";
  }
  return "?";
}

Isa cpu_max_isa() { return detected().max; }
bool cpu_supports(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(cpu_max_isa()); }

Isa env_max_isa() {
  const char* env = std::getenv("OCTET_MAX_ISA");
  if (!env || !*env || std::strcmp(env, "auto") == 0) return cpu_max_isa();
  Isa isa;
  bool fast;
  if (!parse_level(env, &isa, &fast))
    throw Error(std::string("OCTET_MAX_ISA='") + env +
                "' is not an ISA level (expected ref, avx2, avx512, vnni or auto)");
  if (!cpu_supports(isa))
    throw Error(std::string("OCTET_MAX_ISA=") + env + " but this CPU supports at most " +
                isa_name(cpu_max_isa()));
  return isa;
}

IsaChoice resolve_isa(const std::string& requested) {
  IsaChoice c;
  if (requested.empty() || requested == "auto") {
    c.isa = env_max_isa();
    return c;
  }
  if (!parse_level(requested, &c.isa, &c.fast))
    throw Error("unknown ISA '" + requested +
                "' (expected auto, ref, avx2, avx2_fast, avx512, avx512_fast or vnni)");
  if (!cpu_supports(c.isa))
    throw Error("ISA '" + requested + "' requested but this CPU (" + cpu_description() +
                ") supports at most " + isa_name(cpu_max_isa()));
  Isa cap = env_max_isa();
  if (static_cast<int>(c.isa) > static_cast<int>(cap))
    throw Error("ISA '" + requested + "' requested but OCTET_MAX_ISA caps it at " + isa_name(cap));
  return c;
}

std::vector<IsaChoice> available_isas() {
  std::vector<IsaChoice> out;
  Isa cap = env_max_isa();
  for (int l = static_cast<int>(cap); l >= 0; --l) {
    Isa isa = static_cast<Isa>(l);
    out.push_back({isa, false});
    if (isa == Isa::avx2 || isa == Isa::avx512) out.push_back({isa, true});
  }
  return out;
}

bool verbose() {
  static const bool v = [] {
    const char* e = std::getenv("OCTET_VERBOSE");
    return e && *e && std::strcmp(e, "0") != 0;
  }();
  return v;
}

std::string cpu_description() {
  std::string s = detected().brand;
  while (!s.empty() && s.back() == ' ') s.pop_back();
  s += " (max ISA ";
  s += isa_name(cpu_max_isa());
  s += ")";
  return s;
}

}  // namespace octet::kernels
