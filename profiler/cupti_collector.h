// The CUPTI collector: traces every kernel and copy with GPU timestamps and attributes each
// to the tag (step, layer, device, expert, phase) pushed around its launch. CUPTI's activity
// buffers belong to the process, so one collector runs at a time.
#pragma once

#include <memory>
#include <string>

#include "profiler/activity.h"
#include "profiler/event_tag.h"

namespace moescope::profiler {

class CuptiCollector {
 public:
  // Starts tracing. Throws std::runtime_error saying why CUPTI cannot be used (another
  // profiler attached, no permission for GPU counters, a collector already running).
  static std::unique_ptr<CuptiCollector> start();
  ~CuptiCollector();  // flushes and stops tracing
  CuptiCollector(const CuptiCollector&) = delete;
  CuptiCollector& operator=(const CuptiCollector&) = delete;

  // Kernels launched between push and pop carry `tag`.
  void push(const EventTag& tag);
  void pop();

  // Everything recorded since the last flush. Call once the GPU work is finished (after a
  // stream or device synchronise); counts.dropped says how many records CUPTI lost and
  // counts.invalid how many came without timestamps.
  AttributedActivity flush();

 private:
  CuptiCollector() = default;
};

}  // namespace moescope::profiler
