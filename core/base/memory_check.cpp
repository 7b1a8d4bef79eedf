#include "core/base/memory_check.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/base/error.h"

namespace moescope {

namespace {

// What the cgroup (a container's limit) still allows, or 0 when there is no limit.
std::uint64_t cgroup_headroom_bytes() {
  std::ifstream max_in("/sys/fs/cgroup/memory.max");
  std::ifstream current_in("/sys/fs/cgroup/memory.current");
  std::string max_text;
  std::uint64_t current = 0;
  if (!(max_in >> max_text) || max_text == "max" || !(current_in >> current)) return 0;
  const std::uint64_t limit = std::stoull(max_text);
  return limit > current ? limit - current : 1;
}

}  // namespace

std::uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  std::uint64_t available = 0;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") {
      available = kib * 1024;
      break;
    }
  }
  const std::uint64_t headroom = cgroup_headroom_bytes();
  if (headroom != 0 && (available == 0 || headroom < available)) return headroom;
  return available;
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
