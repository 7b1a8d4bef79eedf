#include "core/run/metric_table.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/base/error.h"
#include "core/run/runner.h"

namespace moescope {

namespace {

double expert_compute(const LayerRecord& r) {
  return static_cast<double>(std::accumulate(r.expert_ns.begin(), r.expert_ns.end(), 0LL));
}

const std::vector<MetricInfo> kMetrics = {
    {"latency_ns", "Layer latency", "latency(us)", "µs", 1e-3, 1, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kInterval, true,
     "From the start of dispatch to the end of the combine, waiting for the slowest device.",
     [](const LayerRecord& r) { return static_cast<double>(r.timeline.latency_ns); }},
    {"composed_latency_ns", "Layer latency, composed", "composed(us)", "µs", 1e-3, 1,
     Better::kLower, Aggregation::kMeanAndMax, Spread::kInterval, false,
     "The layer latency composed from the durations measured (the median repeat), whatever "
     "the run's timing.",
     [](const LayerRecord& r) { return static_cast<double>(r.composed_latency_ns); }},
    {"modeled_latency_ns", "Layer latency, modeled", "modeled(us)", "µs", 1e-3, 1, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kExact, false,
     "The layer latency the cost model of this machine predicts from the loads alone "
     "(present when the backend has been calibrated here).",
     [](const LayerRecord& r) {
       return r.modeled_latency_ns ? static_cast<double>(*r.modeled_latency_ns)
                                   : std::numeric_limits<double>::quiet_NaN();
     }},
    {"speedup", "Speedup vs baseline", "speedup", "×", 1, 2, Better::kHigher,
     Aggregation::kRatioOfMeanLatency, Spread::kInterval, true,
     "The baseline's mean layer latency over this run's, on the same routing.", nullptr},
    {"imbalance_routed", "Imbalance (routed)", "imb.routed", "max/mean", 1, 2, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kExact, true,
     "The busiest expert's routed load over the mean expert load, before the policy.",
     [](const LayerRecord& r) { return r.load.imbalance_routed; }},
    {"imbalance_kept", "Imbalance (kept)", "imb.kept", "max/mean", 1, 2, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kExact, true,
     "The busiest expert's kept load over the mean expert load, after the policy.",
     [](const LayerRecord& r) { return r.load.imbalance_kept; }},
    {"balancedness_routed", "Balancedness (routed)", "bal.routed", "mean/max", 1, 3,
     Better::kHigher, Aggregation::kMeanAndMax, Spread::kExact, false,
     "The mean device load over the busiest device's, before the policy (1 is perfect).",
     [](const LayerRecord& r) { return r.load.balancedness_routed; }},
    {"balancedness_kept", "Balancedness (kept)", "balanced", "mean/max", 1, 3, Better::kHigher,
     Aggregation::kMeanAndMax, Spread::kExact, true,
     "The mean device load over the busiest device's, after the policy (1 is perfect).",
     [](const LayerRecord& r) { return r.load.balancedness_kept; }},
    {"drop_rate", "Drop rate", "drop%", "%", 100, 1, Better::kLower, Aggregation::kMeanAndMax,
     Spread::kExact, true,
     "Top-k (token, expert) pairs the policy did not keep, over all top-k pairs.",
     [](const LayerRecord& r) { return r.load.drop_rate; }},
    {"lost_pairs", "Lost pairs", "lost%", "%", 100, 1, Better::kLower, Aggregation::kMeanAndMax,
     Spread::kExact, true,
     "The top-k work tokens did not get back: per token, k minus its kept pairs (0 if more), "
     "over all top-k pairs. Under reroute this, not the drop rate, is what the policy loses.",
     [](const LayerRecord& r) { return r.load.lost_pairs; }},
    {"tokens_fully_dropped", "Tokens fully dropped", "tok.drop%", "%", 100, 2, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kExact, true,
     "Tokens left with no expert at all (they pass on the residual and shared experts only).",
     [](const LayerRecord& r) { return r.load.tokens_fully_dropped; }},
    {"added_pairs", "Added pairs", "added", "pairs", 1, 0, Better::kNeither,
     Aggregation::kMeanAndMax, Spread::kExact, false,
     "Pairs kept on an expert outside the token's top-k (rerouted or expanded).",
     [](const LayerRecord& r) { return static_cast<double>(r.load.added_pairs); }},
    {"gate_mass_kept", "Gate mass kept", "gate.kept%", "%", 100, 1, Better::kHigher,
     Aggregation::kMeanAndMax, Spread::kExact, true,
     "The router weight of the kept pairs over that of all top-k pairs (above 100% when "
     "expanded adds pairs).",
     [](const LayerRecord& r) { return r.load.gate_mass_kept; }},
    {"output_error", "Output error", "out.err", "rel. L2", 1, 4, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kExact, true,
     "‖y − y_baseline‖ / ‖y_baseline‖ over the layer's tokens, on the same input.",
     [](const LayerRecord& r) { return r.output_error; }},
    {"straggler_margin_ns", "Straggler margin", "straggler(us)", "µs", 1e-3, 1, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kMedianRepeat, true,
     "The busiest device's expert time minus the mean device's: what the others wait for.",
     [](const LayerRecord& r) { return static_cast<double>(r.timeline.straggler_margin_ns); }},
    {"expert_compute_ns", "Expert compute", "compute(us)", "µs", 1e-3, 1, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kMedianRepeat, false,
     "The sum of every expert's measured time in a layer.", expert_compute},
    {"gating_ns", "Gating time", "gating(us)", "µs", 1e-3, 1, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kOnce, false,
     "The router (scores and top-k), timed on the host.",
     [](const LayerRecord& r) { return static_cast<double>(r.gating_ns); }},
    {"policy_ns", "Policy time", "policy(us)", "µs", 1e-3, 1, Better::kLower,
     Aggregation::kMeanAndMax, Spread::kOnce, false, "The capacity policy, timed on the host.",
     [](const LayerRecord& r) { return static_cast<double>(r.policy_ns); }},
};

}  // namespace

const std::vector<MetricInfo>& metric_table() {
  return kMetrics;
}

const MetricInfo& metric_info(std::string_view key) {
  for (const auto& m : kMetrics) {
    if (m.key == key) return m;
  }
  throw Error("unknown metric '" + std::string(key) + "'");
}

std::vector<MetricInfo> headline_metrics() {
  std::vector<MetricInfo> out;
  for (const auto& m : kMetrics) {
    if (m.headline) out.push_back(m);
  }
  return out;
}

std::string format_metric(const MetricInfo& metric, double stored_value) {
  const double shown = stored_value * metric.scale;
  if (!std::isfinite(shown)) return std::isnan(shown) ? "nan" : (shown > 0 ? "inf" : "-inf");
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", metric.decimals, shown);
  return text;
}

std::string format_metric(const MetricInfo& metric, double stored_value,
                          const std::optional<Interval>& interval) {
  std::string text = format_metric(metric, stored_value);
  if (!interval) return text;
  // The half-width with the metric's decimals, so that "±0.0" says "narrower than shown".
  return text + "±" + format_metric(metric, interval->half_width());
}

std::string format_speedup(double speedup, const std::optional<Interval>& interval,
                           bool same_work) {
  const MetricInfo& m = metric_info("speedup");
  const std::string value = format_metric(m, speedup) + "x";
  if (same_work) return value + " same work";
  if (!interval) return value;
  if (interval->contains(1.0)) return value + " n.s.";
  return value + "±" + format_metric(m, interval->half_width());
}

std::string_view spread_note(Spread spread) {
  switch (spread) {
    case Spread::kExact:
      return "exact: a function of the routing and the policy, the same on every rerun";
    case Spread::kInterval:
      return "median over repeats, with a 95% interval";
    case Spread::kMedianRepeat:
      return "from each layer's median repeat";
    case Spread::kOnce:
      return "timed once per layer";
  }
  return "";
}

std::string metric_heading(const MetricInfo& metric) {
  std::string heading(metric.label);
  if (!metric.unit.empty()) heading += " (" + std::string(metric.unit) + ")";
  return heading;
}

}  // namespace moescope
