// The per-device timeline of one layer, composed from durations measured one expert at a time
// (virtual devices). The expert-parallel layer runs in three phases separated by all-to-all
// barriers: dispatch, experts, combine. Every device starts a phase when the slowest one has
// finished the previous phase, so the layer waits for its straggler.
#pragma once

#include <cstdint>
#include <vector>

#include "core/exec/backend.h"
#include "core/moe/placement.h"
#include "profiler/event.h"

namespace moescope {

struct LayerTimeline {
  std::vector<profiler::Event> events;       // composed spans, ns from the layer's start
  std::vector<std::int64_t> device_busy_ns;  // [D] sum of the expert times of each device
  std::int64_t dispatch_ns = 0;              // the dispatch phase (slowest device)
  std::int64_t expert_phase_ns = 0;          // the expert phase (slowest device)
  std::int64_t combine_ns = 0;               // the combine phase (slowest device)
  std::int64_t latency_ns = 0;               // dispatch + expert phase + combine
  std::int64_t straggler_margin_ns = 0;      // max_d busy - mean_d busy
  int straggler_device = 0;                  // the device that finishes the expert phase last
  int straggler_expert = -1;                 // the slowest expert on that device
};

// `kept_pairs_per_device` splits the measured dispatch time among devices by the rows each
// receives; the combine and shared-expert times split by the tokens each device sources.
LayerTimeline compose_layer_timeline(const LayerExecution& execution, const Placement& placement,
                                     const std::vector<std::int64_t>& kept_pairs_per_device,
                                     std::int64_t tokens, int step, int layer);

// The timeline ranks measured (LayerExecution::measured_spans, device = rank): the phases end
// where the slowest rank's last dispatch, expert and combine spans end, and the straggler is the
// rank whose experts finish last.
LayerTimeline measured_layer_timeline(const std::vector<profiler::Event>& spans, int devices);

}  // namespace moescope
