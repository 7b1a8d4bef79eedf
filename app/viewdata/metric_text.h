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

// A duration in the unit that reads best, four significant digits: "850 ns", "12.35 µs",
// "1.234 ms", "2.5 s"; "-" for NaN.
std::string format_duration(double ns);

// A figure with half its interval, both rounded to the interval's second significant digit
// (digits beyond it are noise): 706.73 and 52.79 give "707 ± 53", 1.2021 and 0.0978 give
// "1.202 ± 0.098". Without a usable half-width (zero, NaN) it is format_value(value).
std::string format_with_spread(double value, double half_width);

// A stored figure of a run in the metric's unit: "1134 ± 12", "1.38 ± 0.03",
// "1.01 (no significant change)", "1.00 (same work)"; "-" when the run lacks it.
std::string format_stored(const MetricInfo& metric, const RunData& run);

// What the figure's spread is, or why it has none, in a sentence: "95% interval 686 – 791 over
// 5 repeats", "exact: a function of the routing and the policy, ...".
std::string spread_text(const MetricInfo& metric, const RunData& run);
// The same in a table cell's few words: "95%: 686 – 791", "exact", "median repeat", ...
std::string spread_brief(const MetricInfo& metric, const RunData& run);

// Whether the run's speedup is a change: its interval leaves out 1 (false for a baseline,
// a run that did the baseline's work, runs stored without an interval, and a zero-width
// interval, which one repeat gives).
bool significant_speedup(const RunData& run);

}  // namespace moescope::viewdata
