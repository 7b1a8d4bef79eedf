// One stored run as the views and reports use it: its row, summary metrics and per-layer
// statistics, read once from the session (expert loads and events are loaded by the views
// that need them: they are the large part).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/session/session_store.h"

namespace moescope::viewdata {

struct RunData {
  std::string session_path;
  StoredRun run;
  std::vector<MetricRow> metrics;
  std::vector<LayerStatRow> layers;  // step-major, as stored

  // The mean of a summary metric (core/run/metric_table.h), when the run has it.
  std::optional<double> metric(std::string_view name) const;
  const MetricRow* metric_row(std::string_view name) const;  // nullptr when absent
  // Whether the run kept its baseline's pairs in every layer (its times are the baseline's).
  bool same_work() const;
  // How often its layers were timed (1 for runs stored before repeats).
  int repeats() const;
  // "name (#id)": how charts and tables name a run.
  std::string display_name() const;
  // The request's capacity scope: "global", "source" or "device" (global when it says none).
  std::string capacity_scope() const;
};

RunData load_run_data(SessionStore& store, std::int64_t id);

// Mean layer latency (ns) of each layer over the steps, in layer order.
struct LayerLatency {
  int layer = 0;
  double latency_ns = 0;
};
std::vector<LayerLatency> latency_per_layer(const RunData& run);

// A stored request (the experiment's JSON) indented for people, short arrays on one line; text that
// is not JSON comes back as it is, and bytes that are not UTF-8 are replaced rather than thrown on.
std::string pretty_request_json(const std::string& request_json);

// Where two stored requests differ, one line per changed leaf by its dotted path, in key
// order: "policies.gamma: [1.25] → [1.5]", "seed: 1 → (absent)". Arrays of numbers or strings
// compare whole; text that is not JSON compares as one value. Empty when they agree.
std::vector<std::string> request_differences(const std::string& a_json, const std::string& b_json);

}  // namespace moescope::viewdata
