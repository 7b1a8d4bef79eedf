// GPU activity records (what CUPTI reports for each kernel and copy) and their attribution to
// the (step, layer, device, expert, phase) they were launched for. Plain data and plain code:
// the CUPTI collector fills these from its buffers, and tests build them in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "profiler/event.h"

namespace moescope::profiler {

enum class ActivityKind : std::uint8_t { kKernel, kMemcpy, kMemset };

struct ActivityRecord {
  ActivityKind kind = ActivityKind::kKernel;
  std::uint32_t device = 0;  // the CUDA device
  std::uint32_t stream = 0;
  std::uint64_t start_ns = 0;  // GPU timestamps; 0 means the GPU gave none
  std::uint64_t end_ns = 0;
  std::uint32_t correlation_id = 0;  // ties the record to its launch on the host
  std::string name;                  // the kernel's name, or "memcpy HtoD", "memset"
};

// CUPTI's link from a launch (correlation id) to the external id pushed around it.
struct ExternalCorrelation {
  std::uint32_t correlation_id = 0;
  std::uint64_t external_id = 0;
};

struct ActivityCounts {
  std::int64_t kernels = 0;
  std::int64_t copies = 0;  // memcpy and memset
  std::int64_t attributed = 0;
  std::int64_t unattributed = 0;  // launched outside any tagged range (e.g. weight uploads)
  std::int64_t invalid = 0;       // tagged, but with missing or reversed timestamps
  std::int64_t dropped = 0;       // records CUPTI could not store (buffers full)
};

struct AttributedActivity {
  std::vector<Event> events;       // in record order; device is the run's (virtual) device
  std::vector<std::string> names;  // the kernel name of each event
  ActivityCounts counts;
};

// Attributes each record through its correlation id to the tag packed in the external id
// (profiler/event_tag.h). Records with no external id are counted, not returned.
AttributedActivity attribute_activity(const std::vector<ActivityRecord>& records,
                                      const std::vector<ExternalCorrelation>& correlations);

// The GPU time of one layer, summed from its events: kernels of an expert add up even when
// other work ran between them.
struct LayerGpuTimes {
  std::vector<std::int64_t> expert_ns;  // [E]
  std::int64_t all_experts_ns = 0;      // expert-phase kernels of no single expert (grouped)
  std::int64_t dispatch_ns = 0;
  std::int64_t shared_ns = 0;
  std::int64_t combine_ns = 0;
};

// Sums the events of (step, layer); throws std::invalid_argument on an expert outside -1..E-1.
LayerGpuTimes sum_layer_times(const std::vector<Event>& events, int step, int layer, int experts);

}  // namespace moescope::profiler
