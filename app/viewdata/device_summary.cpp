#include "app/viewdata/device_summary.h"

#include <algorithm>
#include <map>

namespace moescope::viewdata {

std::vector<DeviceSummaryRow> summarize_devices(const TimelineData& timeline) {
  std::vector<DeviceSummaryRow> out(static_cast<std::size_t>(timeline.devices()));
  const auto& layers = timeline.layers();
  if (layers.empty()) return out;
  const double n = static_cast<double>(layers.size());
  std::int64_t phase_ns = 0;  // every layer's expert phase, summed
  for (const auto& l : layers)
    phase_ns += l.expert_phase_end_ns - l.expert_phase_start_ns;
  for (int d = 0; d < timeline.devices(); ++d) {
    DeviceSummaryRow& row = out[static_cast<std::size_t>(d)];
    row.device = d;
    std::map<int, double> by_expert;
    for (const TimelineSpan& s :
         timeline.lanes()[static_cast<std::size_t>(timeline.device_lane(d))].spans) {
      if (s.phase != profiler::Phase::kExpert && s.phase != profiler::Phase::kSharedExpert)
        continue;
      row.busy_ns += static_cast<double>(s.duration_ns()) / n;
      if (s.phase == profiler::Phase::kExpert && s.expert >= 0) {
        by_expert[s.expert] += static_cast<double>(s.duration_ns()) / n;
      }
    }
    std::int64_t idle = 0;  // one pass over the device's idle blocks, not one per layer
    for (const IdleBlock& block : timeline.idle(d))
      idle += block.end_ns - block.start_ns;
    for (std::size_t slot = 0; slot < layers.size(); ++slot) {
      if (layers[slot].straggler_device != d) continue;
      row.straggler_share += 1.0 / n;
      if (row.first_straggler_slot < 0) row.first_straggler_slot = static_cast<int>(slot);
    }
    row.idle_share = phase_ns > 0 ? static_cast<double>(idle) / static_cast<double>(phase_ns) : 0;
    for (const auto& [expert, ns] : by_expert)
      row.busiest.push_back({expert, ns});
    // By time, ties to the lower expert (the map's order, kept by the stable sort).
    std::stable_sort(row.busiest.begin(), row.busiest.end(),
                     [](const auto& a, const auto& b) { return a.ns > b.ns; });
    if (row.busiest.size() > static_cast<std::size_t>(kBusiest)) row.busiest.resize(kBusiest);
  }
  return out;
}

}  // namespace moescope::viewdata
