// The process's resident memory as Linux reports it in /proc/self/status: VmHWM (peak RSS
// since the process started) and VmRSS (now). Both count file-backed pages the process has
// mapped and touched, not only its heap.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace octet::tools {

struct ProcessMemory {
  bool known = false;  // false where /proc/self/status is missing or has no such lines
  uint64_t peak_bytes = 0;
  uint64_t current_bytes = 0;
};

inline ProcessMemory read_process_memory() {
  ProcessMemory m;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return m;
  char line[256];
  bool hwm = false, rss = false;
  while (std::fgets(line, sizeof(line), f)) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "VmHWM: %llu kB", &kb) == 1) {
      m.peak_bytes = kb * 1024;
      hwm = true;
    } else if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
      m.current_bytes = kb * 1024;
      rss = true;
    }
  }
  std::fclose(f);
  m.known = hwm && rss;
  return m;
}

}  // namespace octet::tools
