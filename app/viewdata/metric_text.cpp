#include "app/viewdata/metric_text.h"

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

bool significant_speedup(const RunData& run) {
  const MetricRow* speedup = run.metric_row("speedup");
  if (speedup == nullptr || !speedup->low || !speedup->high || run.same_work()) return false;
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
  return value + " ± " + format_value((*row->high - *row->low) / 2 * metric.scale);
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

}  // namespace moescope::viewdata
