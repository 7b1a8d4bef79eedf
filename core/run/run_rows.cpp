#include "core/run/run_rows.h"

#include <algorithm>

#include "core/run/metric_table.h"
#include "core/run/statistics.h"
#include "core/run/summary.h"

namespace moescope {

namespace {

LayerStatRow layer_row(const LayerRecord& r) {
  const auto& tl = r.timeline;
  const auto& m = r.load;
  LayerStatRow row;
  row.step = r.step;
  row.layer = r.layer;
  row.latency_ns = tl.latency_ns;
  row.latency_low_ns = row.latency_high_ns = tl.latency_ns;
  row.composed_latency_ns = r.composed_latency_ns;
  row.modeled_latency_ns = r.modeled_latency_ns;
  row.repeats = static_cast<int>(std::max<std::size_t>(r.repeat_latency_ns.size(), 1));
  if (!r.repeat_latency_ns.empty() && !r.modeled) {
    const Interval interval = median_interval(
        std::vector<double>(r.repeat_latency_ns.begin(), r.repeat_latency_ns.end()));
    row.latency_low_ns = static_cast<std::int64_t>(interval.low);
    row.latency_high_ns = static_cast<std::int64_t>(interval.high);
  }
  row.same_work_as_baseline = r.same_work_as_baseline;
  row.lost_pairs = m.lost_pairs;
  row.dispatch_ns = tl.dispatch_ns;
  row.expert_phase_ns = tl.expert_phase_ns;
  row.combine_ns = tl.combine_ns;
  row.straggler_margin_ns = tl.straggler_margin_ns;
  row.straggler_device = tl.straggler_device;
  row.straggler_expert = tl.straggler_expert;
  row.imbalance_routed = m.imbalance_routed;
  row.imbalance_kept = m.imbalance_kept;
  row.balancedness_routed = m.balancedness_routed;
  row.balancedness_kept = m.balancedness_kept;
  row.drop_rate = m.drop_rate;
  row.tokens_fully_dropped = m.tokens_fully_dropped;
  row.added_pairs = m.added_pairs;
  row.gate_mass_kept = m.gate_mass_kept;
  row.output_error = r.output_error;
  row.gating_ns = r.gating_ns;
  row.policy_ns = r.policy_ns;
  row.capacity = r.capacity;
  return row;
}

}  // namespace

RunRows tabulate_run(const RunResult& result, std::size_t policy_index) {
  const PolicyRun& run = result.runs.at(policy_index);
  RunRows rows;
  rows.backend_detail = result.backend_detail;
  rows.layers.reserve(run.records.size());
  // Layers run one after another: each layer's timeline starts where the last ended.
  std::int64_t clock_ns = 0;
  for (const auto& r : run.records) {
    rows.layers.push_back(layer_row(r));
    const auto& m = r.load;
    // A replicated expert is listed on the device of its first slot.
    std::vector<int> device_of_expert = result.placement.device_of_expert;
    std::vector<char> listed(device_of_expert.size(), 0);
    const auto slots = r.slot_expert.size();
    const std::size_t slots_per_device =
        slots / static_cast<std::size_t>(std::max(1, result.placement.devices));
    for (std::size_t s = 0; s < slots; ++s) {
      const int expert = r.slot_expert[s];
      const int device = static_cast<int>(s / slots_per_device);
      if (!listed[static_cast<std::size_t>(expert)]) {
        listed[static_cast<std::size_t>(expert)] = 1;
        device_of_expert[static_cast<std::size_t>(expert)] = device;
      }
      rows.replica_slots.push_back(
          {r.step, r.layer, static_cast<int>(s), expert, device, r.slot_rows[s], r.slot_ns[s]});
    }
    for (std::size_t e = 0; e < m.routed_load.size(); ++e) {
      rows.loads.push_back({r.step, r.layer, static_cast<int>(e), device_of_expert[e],
                            m.routed_load[e], m.kept_load[e], m.dropped_load[e], m.added_load[e],
                            r.expert_ns[e]});
    }
    for (profiler::Event e : r.timeline.events) {
      e.start_ns += clock_ns;
      e.end_ns += clock_ns;
      rows.spans.push_back(e);
    }
    clock_ns += r.timeline.latency_ns;
    for (std::size_t i = 0; i < r.repeat_latency_ns.size(); ++i) {
      rows.repeats.push_back({r.step, r.layer, static_cast<int>(i), r.repeat_latency_ns[i],
                              r.repeat_margin_ns.at(i), r.repeat_compute_ns.at(i)});
    }
    for (std::size_t k = 0; k < r.gpu_kernels.size(); ++k) {
      const profiler::Event& g = r.gpu_kernels[k];
      rows.gpu_kernels.push_back({g.step, g.layer, g.device, g.stream, g.expert, g.phase,
                                  g.start_ns, g.end_ns, r.gpu_kernel_names.at(k)});
    }
  }
  const RunSummary summary = summarize(run, result.runs.front());
  for (const MetricInfo& m : metric_table()) {
    if (!summary.has(m.key)) continue;
    const Stat& stat = summary.stat(m.key);
    MetricRow row{std::string(m.key), stat.mean, stat.max, std::nullopt, std::nullopt};
    if (stat.interval) row.low = stat.interval->low, row.high = stat.interval->high;
    rows.metrics.push_back(std::move(row));
  }
  return rows;
}

}  // namespace moescope
