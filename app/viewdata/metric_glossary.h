// The metric glossary: every metric the app, the CLI and reports show, with its unit, which way
// is better, what its spread is and what it means, from the one metric table
// (core/run/metric_table.h), so the glossary cannot drift from the figures.
#pragma once

#include <string>

#include "core/run/metric_table.h"

namespace moescope::viewdata {

// "higher is better", "lower is better" or "" for a metric with no better direction.
std::string better_text(const MetricInfo& metric);
// What the figure's spread is: "95% interval over the repeats", "exact", ...
std::string spread_kind_text(const MetricInfo& metric);

// The glossary as an HTML table (escaped), the timeline's terms after it.
std::string glossary_html();

}  // namespace moescope::viewdata
