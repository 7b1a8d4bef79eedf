// The paragraph a report opens with: which policy buys the most (the best significant speedup,
// with its interval) and at what cost, or that no policy changes the latency.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/viewdata/run_data.h"

namespace moescope::viewdata {

// The policy run with the best significant speedup above 1x (its interval leaves out 1), ties
// to the lower output error; none when no policy run has one. An index into `runs`.
std::optional<std::size_t> best_policy_run(const std::vector<RunData>& runs);

// Plain text, one paragraph.
std::string summary_paragraph(const std::vector<RunData>& runs);

}  // namespace moescope::viewdata
