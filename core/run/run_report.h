// Summaries of a run (over steps and layers) and its JSON form, shared by the CLI's table and
// JSON output and, later, the GUI and the reports.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/run/runner.h"

namespace moescope {

struct Stat {
  double mean = 0;
  double max = 0;
};

struct PolicySummary {
  std::string label;
  Stat latency_ns;
  double speedup = 1;  // total baseline latency / total latency of this policy
  Stat imbalance_routed;
  Stat imbalance_kept;
  Stat balancedness_routed;
  Stat balancedness_kept;
  Stat drop_rate;
  Stat tokens_fully_dropped;
  Stat added_pairs;
  Stat gate_mass_kept;
  Stat output_error;
  Stat straggler_margin_ns;
  Stat expert_compute_ns;  // sum of all experts' measured times in a layer
  Stat gating_ns;
  Stat policy_ns;
};

// One layer, averaged over the steps.
struct LayerSummary {
  int layer = 0;
  double latency_ns = 0;
  double imbalance_routed = 0;
  double imbalance_kept = 0;
  double drop_rate = 0;
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

PolicySummary summarize(const PolicyRun& run, const PolicyRun& baseline);
// Every statistic of a summary under the name the JSON report and the session store use (the
// speedup, a single number, is not among them).
std::vector<std::pair<std::string, Stat>> named_stats(const PolicySummary& summary);
std::vector<LayerSummary> summarize_layers(const PolicyRun& run);
std::vector<DeviceSummary> summarize_devices(const PolicyRun& run, const Placement& placement);

nlohmann::json policy_config_to_json(const PolicyConfig& config);
nlohmann::json run_to_json(const RunResult& result);

}  // namespace moescope
