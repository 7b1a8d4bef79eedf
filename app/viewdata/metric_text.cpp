#include "app/viewdata/metric_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace moescope::viewdata {

std::string format_value(double value) {
  if (!std::isfinite(value)) return "-";
  char text[64];
  if (std::abs(value) >= 1e4 && std::abs(value) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.4g", value);
  }
  return text;
}

std::string format_duration(double ns) {
  if (!std::isfinite(ns)) return "-";
  const double size = std::abs(ns);
  const char* unit = "ns";
  double scaled = ns;
  if (size >= 1e9) {
    unit = "s";
    scaled = ns / 1e9;
  } else if (size >= 1e6) {
    unit = "ms";
    scaled = ns / 1e6;
  } else if (size >= 1e3) {
    unit = "µs";
    scaled = ns / 1e3;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.4g %s", scaled, unit);
  return text;
}

std::string format_with_spread(double value, double half_width) {
  if (!std::isfinite(value) || !std::isfinite(half_width) || half_width <= 0)
    return format_value(value);
  // Decimals that keep two significant digits of the half-width; never more than six.
  const int decimals = std::clamp(1 - static_cast<int>(std::floor(std::log10(half_width))), 0, 6);
  char text[128];
  std::snprintf(text, sizeof text, "%.*f ± %.*f", decimals, value, decimals, half_width);
  return text;
}

bool significant_speedup(const RunData& run) {
  const MetricRow* speedup = run.metric_row("speedup");
  if (speedup == nullptr || !speedup->low || !speedup->high || run.same_work()) return false;
  // One repeat gives a zero-width interval: no spread seen, so no change shown either.
  if (!(*speedup->low < *speedup->high)) return false;
  return !(*speedup->low <= 1.0 && 1.0 <= *speedup->high);
}

std::string format_stored(const MetricInfo& metric, const RunData& run) {
  const MetricRow* row = run.metric_row(metric.key);
  if (row == nullptr || !std::isfinite(row->mean)) return "-";
  const std::string value = format_value(row->mean * metric.scale);
  if (metric.key == "speedup") {
    if (!run.run.baseline_run) return value;  // the reference itself
    if (run.same_work()) return value + " (same work)";
    if (row->low && row->high && !significant_speedup(run)) {
      return value + " (no significant change)";
    }
  }
  if (!row->low || !row->high) return value;
  return format_with_spread(row->mean * metric.scale, (*row->high - *row->low) / 2 * metric.scale);
}

std::string spread_text(const MetricInfo& metric, const RunData& run) {
  const MetricRow* row = run.metric_row(metric.key);
  if (metric.key == "speedup" && !run.run.baseline_run) return "the baseline";
  if (metric.key == "speedup" && run.same_work()) {
    return "kept the baseline's pairs: the same work, not timed again";
  }
  if (metric.spread == Spread::kInterval) {
    if (row == nullptr || !row->low || !row->high) return "timed once (stored before repeats)";
    return "95% interval " + format_value(*row->low * metric.scale) + " – " +
           format_value(*row->high * metric.scale) + " over " + std::to_string(run.repeats()) +
           " repeats";
  }
  return std::string(spread_note(metric.spread));
}

std::string spread_brief(const MetricInfo& metric, const RunData& run) {
  const MetricRow* row = run.metric_row(metric.key);
  if (metric.key == "speedup" && !run.run.baseline_run) return "the baseline";
  if (metric.key == "speedup" && run.same_work()) return "same work";
  switch (metric.spread) {
    case Spread::kInterval:
      if (row == nullptr || !row->low || !row->high) return "timed once";
      return "95%: " + format_value(*row->low * metric.scale) + " – " +
             format_value(*row->high * metric.scale);
    case Spread::kExact:
      return "exact";
    case Spread::kMedianRepeat:
      return "median repeat";
    case Spread::kOnce:
      return "timed once";
  }
  return "";
}

}  // namespace moescope::viewdata
