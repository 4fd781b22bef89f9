#pragma once
// Host memory probes: current and peak resident set of this process (Linux /proc), and returning freed
// heap to the OS between loader attempts.
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace curebench {

struct HostMemory {
  std::int64_t rss_bytes = 0;       // VmRSS
  std::int64_t peak_rss_bytes = 0;  // VmHWM (high-water mark since start or last reset)
};

inline HostMemory host_memory() {
  HostMemory m;
  std::ifstream in("/proc/self/status");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (in >> key) {
    if (key == "VmRSS:" && in >> kb >> unit) m.rss_bytes = kb * 1024;
    else if (key == "VmHWM:" && in >> kb >> unit) m.peak_rss_bytes = kb * 1024;
    else in.ignore(1 << 12, '\n');
  }
  return m;
}

// Resets VmHWM so a later host_memory().peak_rss_bytes is the peak of one phase (Linux >= 4.0).
inline bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  return static_cast<bool>(out);
}

inline void release_free_heap() { ::malloc_trim(0); }

// Installed RAM (0 where sysconf cannot say): the host limit when the user gives no --cpu-budget.
inline std::int64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::int64_t>(pages) * page : 0;
}

}  // namespace curebench
