// Summaries of a run over its steps and layers: per metric, per layer and per device. What the
// CLI prints, the session stores and the JSON output holds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/run/runner.h"
#include "core/run/statistics.h"

namespace moescope {

struct Stat {
  double mean = 0;
  double max = 0;
  // For a timed figure (Spread::kInterval): the 95% interval of the mean, from the repeats.
  std::optional<Interval> interval;
};

// One run (a policy) summarised over its steps and layers: every metric of metric_table(),
// aggregated as the table says.
struct RunSummary {
  std::string label;
  std::map<std::string, Stat, std::less<>> stats;  // by metric key; the speedup's mean = max

  // Whether the run has the metric (a modeled latency needs a cost model).
  bool has(std::string_view key) const;
  // Throws Error naming the key when the summary lacks it.
  const Stat& stat(std::string_view key) const;
  double mean(std::string_view key) const { return stat(key).mean; }
};

// One layer, averaged over the steps.
struct LayerSummary {
  int layer = 0;
  double latency_ns = 0;
  double composed_latency_ns = 0;
  std::optional<double> modeled_latency_ns;  // with a cost model
  double imbalance_routed = 0;
  double imbalance_kept = 0;
  double drop_rate = 0;
  double lost_pairs = 0;
  double output_error = 0;
  double straggler_margin_ns = 0;
  std::vector<double> routed_load;  // [E]
  std::vector<double> kept_load;    // [E]
};

// Where one (virtual) device's time went, averaged over steps and layers.
struct DeviceSummary {
  struct ExpertShare {
    int expert = 0;
    double rows = 0;
    double ns = 0;
  };
  int device = 0;
  double busy_ns = 0;
  double straggler_share = 0;  // fraction of layers in which this device was the straggler
  std::vector<ExpertShare> experts;
};

// `baseline` is the run the speedup is measured against (the baseline of the same routing).
// Timed figures get their interval from the repeats (a seeded bootstrap: the same runs give
// the same intervals).
RunSummary summarize(const PolicyRun& run, const PolicyRun& baseline);

// Whether a speedup's interval leaves out 1: anything else is "no significant change".
bool significant(const Stat& speedup);
// Whether the policy kept the baseline's pairs in every layer: the same work, speedup 1.
bool same_work_as_baseline(const PolicyRun& run);
std::vector<LayerSummary> summarize_layers(const PolicyRun& run);
std::vector<DeviceSummary> summarize_devices(const PolicyRun& run, const Placement& placement);

}  // namespace moescope
