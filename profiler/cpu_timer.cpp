#include "profiler/cpu_timer.h"

#include <chrono>

namespace moescope::profiler {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace moescope::profiler
