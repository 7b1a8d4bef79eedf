// The CPU collector: a monotonic clock in integer nanoseconds.
#pragma once

#include <cstdint>

namespace moescope::profiler {

std::int64_t now_ns();

// Measures one span: construct, do the work, read elapsed_ns().
class CpuTimer {
 public:
  CpuTimer() : start_ns_(now_ns()) {}
  std::int64_t elapsed_ns() const { return now_ns() - start_ns_; }

 private:
  std::int64_t start_ns_;
};

}  // namespace moescope::profiler
