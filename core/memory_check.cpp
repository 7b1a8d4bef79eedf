#include "core/memory_check.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace moescope {

std::uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

std::string format_bytes(std::uint64_t bytes) {
  char text[32];
  const double gib = static_cast<double>(bytes) / (1ull << 30);
  if (gib >= 1.0) {
    std::snprintf(text, sizeof text, "%.1f GiB", gib);
  } else {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  }
  return text;
}

void require_memory(std::uint64_t needed, const std::string& what, const std::string& hint) {
  const std::uint64_t available = available_memory_bytes();
  if (available == 0) return;
  if (static_cast<double>(needed) > 0.9 * static_cast<double>(available)) {
    throw Error(what + " needs about " + format_bytes(needed) + " of memory but only " +
                format_bytes(available) + " is available; " + hint);
  }
}

}  // namespace moescope
