// A finished run as the rows the session stores and gives back: per-layer statistics, per-expert
// loads, the timeline's spans (the layers laid end to end), the GPU's own kernels and the
// summary metrics. Everything is computed here; the store only writes and reads rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/run/runner.h"
#include "profiler/event.h"

namespace moescope {

// One (step, layer) of a run.
struct LayerStatRow {
  int step = 0;
  int layer = 0;
  std::int64_t latency_ns = 0;  // the median repeat's
  // The interval of the latency over the repeats (order statistics; see statistics.h).
  std::int64_t latency_low_ns = 0;
  std::int64_t latency_high_ns = 0;
  int repeats = 1;
  // Both timelines' latencies, when the run has both: the composed (measured, median repeat)
  // and the modeled (the cost model's); latency_ns is the one of the run's timing.
  std::int64_t composed_latency_ns = 0;
  std::optional<std::int64_t> modeled_latency_ns;
  std::int64_t dispatch_ns = 0;
  std::int64_t expert_phase_ns = 0;
  std::int64_t combine_ns = 0;
  std::int64_t straggler_margin_ns = 0;
  int straggler_device = 0;
  int straggler_expert = -1;
  double imbalance_routed = 0;
  double imbalance_kept = 0;
  double balancedness_routed = 0;
  double balancedness_kept = 0;
  double drop_rate = 0;
  std::optional<double> lost_pairs;  // not stored by sessions of schema 4 and older
  double tokens_fully_dropped = 0;
  std::int64_t added_pairs = 0;
  double gate_mass_kept = 0;
  double output_error = 0;
  std::int64_t gating_ns = 0;
  std::int64_t policy_ns = 0;
  std::vector<std::int64_t> capacity;  // one value, or one per source device
  bool same_work_as_baseline = false;  // kept the baseline's pairs: its times are the baseline's

  bool operator==(const LayerStatRow&) const = default;
};

// One expert in one (step, layer).
struct ExpertLoadRow {
  int step = 0;
  int layer = 0;
  int expert = 0;
  int device = 0;
  std::int64_t routed = 0;
  std::int64_t kept = 0;
  std::int64_t dropped = 0;
  std::int64_t added = 0;
  std::int64_t compute_ns = 0;

  bool operator==(const ExpertLoadRow&) const = default;
};

// One GPU kernel or copy as CUPTI recorded it.
struct GpuKernelRow {
  int step = 0;
  int layer = 0;
  int device = 0;
  int stream = 0;
  int expert = -1;
  profiler::Phase phase = profiler::Phase::kExpert;
  std::int64_t start_ns = 0;  // from the first kernel of its layer
  std::int64_t end_ns = 0;
  std::string name;
};

// One repeat of one (step, layer): what its composed timeline took.
struct RepeatRow {
  int step = 0;
  int layer = 0;
  int repeat = 0;
  std::int64_t latency_ns = 0;
  std::int64_t straggler_margin_ns = 0;
  std::int64_t expert_compute_ns = 0;

  bool operator==(const RepeatRow&) const = default;
};

// One summary metric (metric_table()) of a run.
struct MetricRow {
  std::string name;
  double mean = 0;
  double max = 0;
  // The 95% interval of the mean, for the timed figures that have one (Spread::kInterval).
  std::optional<double> low;
  std::optional<double> high;
};

// One physical slot of a replicated run in one step and layer.
struct ReplicaSlotRow {
  int step = 0;
  int layer = 0;
  int slot = 0;
  int expert = 0;  // the logical expert it holds a copy of
  int device = 0;
  std::int64_t rows = 0;
  std::int64_t compute_ns = 0;

  bool operator==(const ReplicaSlotRow&) const = default;
};

struct RunRows {
  std::string backend_detail;                 // the backend's own line (CUPTI drops and all)
  std::vector<LayerStatRow> layers;           // step-major, then layer
  std::vector<RepeatRow> repeats;             // by step, layer, repeat
  std::vector<ExpertLoadRow> loads;           // by step, layer, expert
  std::vector<ReplicaSlotRow> replica_slots;  // by step, layer, slot; replicated runs only
  std::vector<profiler::Event> spans;  // the timeline: each layer starts where the last ended
  std::vector<GpuKernelRow> gpu_kernels;
  std::vector<MetricRow> metrics;  // every metric of metric_table()
};

// The rows of run `policy_index` of `result` (0 is the baseline, which the speedup divides).
RunRows tabulate_run(const RunResult& result, std::size_t policy_index);

}  // namespace moescope
