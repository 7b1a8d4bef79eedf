// How the app and the reports write a stored figure: four significant digits, with the
// half-width of its interval when it has one, and in words when a speedup is no change. The
// CLI writes the same figures from the same metric table (core/run/metric_table.h).
#pragma once

#include <string>

#include "app/viewdata/run_data.h"
#include "core/run/metric_table.h"

namespace moescope::viewdata {

// Four significant digits, no exponent for the values a table usually holds; "-" for NaN.
std::string format_value(double value);

// A stored figure of a run in the metric's unit: "1134 ± 12", "1.38 ± 0.03",
// "1.01 (no significant change)", "1.00 (same work)"; "-" when the run lacks it.
std::string format_stored(const MetricInfo& metric, const RunData& run);

// What the figure's spread is, or why it has none: "95% interval over 5 repeats", "exact", ...
std::string spread_text(const MetricInfo& metric, const RunData& run);

// Whether the run's speedup is a change: its interval leaves out 1 (false for a baseline,
// a run that did the baseline's work, and runs stored without an interval).
bool significant_speedup(const RunData& run);

}  // namespace moescope::viewdata
