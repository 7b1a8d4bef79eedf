// Runs a model and records it in a session: each run (the baseline and every policy) is stored
// as `incomplete` before the work starts and completed when its results are written, so an
// interrupted or killed process leaves the session readable and the interrupted runs marked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/run/runner.h"
#include "core/session/session_store.h"

namespace moescope {

struct RecordedRun {
  RunResult result;
  std::vector<std::int64_t> run_ids;  // one per result.runs entry, baseline first
};

// `store_baseline` false reuses `baseline_id` (a sweep stores the baseline once per devices).
// Throws what run_model throws; stored runs stay `incomplete` on Cancelled and become `failed`
// on any other error.
RecordedRun record_run(SessionStore& store, const RunOptions& options, RoutingSource& source,
                       const ProgressFn& progress, const CancelFlag* cancel,
                       std::optional<std::int64_t> group = std::nullopt,
                       std::optional<std::int64_t> baseline_id = std::nullopt);

// The whole request as JSON, stored with each run so it can be reproduced.
std::string run_request_json(const RunOptions& options, const RoutingSource& source,
                             const PolicyConfig& policy);

}  // namespace moescope
