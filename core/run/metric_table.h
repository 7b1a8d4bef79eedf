// Every metric a run reports, described once: its key (the JSON key and the session's
// run_metrics name), how people read it (label, CLI column, unit, scale, decimals), which way
// is better, how it aggregates over steps and layers, and what one layer's value is. The CLI's
// tables and JSON, the session store, the views and the reports all read this table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/run/statistics.h"

namespace moescope {

struct LayerRecord;

enum class Better { kHigher, kLower, kNeither };

// What the spread of a figure is, and so how it is shown.
enum class Spread {
  kExact,         // a function of the routing and the policy: no spread to show
  kInterval,      // timed: a 95% interval over the repeats comes with it
  kMedianRepeat,  // timed: taken from each layer's median repeat, without an interval of its own
  kOnce,          // timed once per layer (the router, the policy): a single measurement
};

enum class Aggregation {
  kMeanAndMax,          // the mean and the maximum over every (step, layer) of the run
  kRatioOfMeanLatency,  // baseline mean layer latency / this run's (the speedup)
};

struct MetricInfo {
  std::string_view key;
  std::string_view label;   // "Layer latency"
  std::string_view column;  // the CLI table's header: "latency(us)"
  std::string_view unit;    // of the shown value: "µs", "%", "×", or empty
  double scale = 1;         // shown value = stored value × scale
  int decimals = 2;         // of the shown value
  Better better = Better::kNeither;
  Aggregation aggregation = Aggregation::kMeanAndMax;
  Spread spread = Spread::kExact;
  bool headline = false;         // in the Overview, Compare and reports
  std::string_view description;  // one sentence for tooltips and the glossary
  // One layer's value; NaN when the run does not have the metric (a run without a cost model
  // has no modeled latency). Null for kRatioOfMeanLatency.
  double (*of_layer)(const LayerRecord&) = nullptr;
};

// In the order the views show them.
const std::vector<MetricInfo>& metric_table();
// Throws Error naming the key when there is no such metric.
const MetricInfo& metric_info(std::string_view key);
// The headline metrics, in table order.
std::vector<MetricInfo> headline_metrics();

// A stored value as people read it: scaled, with the metric's decimals ("12.3").
std::string format_metric(const MetricInfo& metric, double stored_value);
// With its spread when it has one: "12.3±0.4" (the interval's half-width, scaled alike).
std::string format_metric(const MetricInfo& metric, double stored_value,
                          const std::optional<Interval>& interval);
// A speedup as it should be read: "1.38x±0.03"; "1.01x n.s." when its interval holds 1 (no
// significant change); "1.00x same work" when the policy kept the baseline's pairs.
std::string format_speedup(double speedup, const std::optional<Interval>& interval, bool same_work);
// "Layer latency (µs)"
std::string metric_heading(const MetricInfo& metric);
// Why a figure shows no interval, for tooltips and reports ("exact: a function of the routing").
std::string_view spread_note(Spread spread);

}  // namespace moescope
