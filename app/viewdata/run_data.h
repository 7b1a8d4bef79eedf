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
  std::vector<RunMetricRow> metrics;
  std::vector<LayerStatRow> layers;  // step-major, as stored

  // The mean of a summary metric (see run_report.h: named_stats), when the run has it.
  std::optional<double> metric(std::string_view name) const;
  // "name (#id)": how charts and tables name a run.
  std::string display_name() const;
};

RunData load_run_data(SessionStore& store, std::int64_t id);

// Mean layer latency (ns) of each layer over the steps, in layer order.
struct LayerLatency {
  int layer = 0;
  double latency_ns = 0;
};
std::vector<LayerLatency> latency_per_layer(const RunData& run);

// A stored request (spec JSON) indented for people, short arrays on one line; text that is not
// JSON comes back as it is, and bytes that are not UTF-8 are replaced rather than thrown on.
std::string pretty_spec_json(const std::string& spec_json);

// The headline metrics every overview, comparison and report shows, in this order.
struct HeadlineMetric {
  std::string_view key;    // run_metrics name; "speedup" included
  std::string_view label;  // for people
  double scale = 1;        // multiply the stored value by it to show it in `unit`
  std::string_view unit;
};
const std::vector<HeadlineMetric>& headline_metrics();

}  // namespace moescope::viewdata
