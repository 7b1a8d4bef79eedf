// Runs an experiment and records it in a session. Per device count, the baseline and every
// policy of the grid run on the same routing in one pass over the layers (so the baseline runs
// once and every policy is measured beside it), on one backend for the whole experiment. Each
// run is stored as `incomplete` before its work starts and completed when its rows are
// written, so an interrupted or killed process leaves the session readable and the interrupted
// runs marked.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/cancel.h"
#include "core/exec/backend.h"
#include "core/run/cost_model_file.h"
#include "core/run/experiment.h"
#include "core/run/runner.h"
#include "core/session/session_store.h"

namespace moescope {

// The runs of one device count.
struct RecordedBatch {
  int devices = 0;
  RunResult result;
  std::vector<std::int64_t> run_ids;  // one per result.runs entry, baseline first
};

struct RecordedExperiment {
  std::string session_path;
  Experiment experiment;  // resolved: what the session stored with every run
  std::vector<RecordedBatch> batches;
  std::optional<std::int64_t> group;  // when the experiment stored more than two runs
};

// Resolves and checks the experiment before anything is stored: bad input stores nothing.
// Throws what run_model throws; stored runs stay `incomplete` on Cancelled and become `failed`
// on any other error. Progress counts (step, layer, run, repeat) units over the experiment.
//
// `cost_models`: where this machine's cost models are. A modeled experiment whose backend and
// shape have none calibrates one first (and keeps it there); a composed one gets the modeled
// latencies beside its own when there is a model. Null: no cost models (modeled is refused).
RecordedExperiment record_experiment(SessionStore& store, const Experiment& experiment,
                                     Backend& backend, const ProgressFn& progress,
                                     const CancelFlag* cancel, CostModels* cost_models = nullptr);

// The same, storing nothing when `store` is null: ranks other than 0 run every layer with rank
// 0, which alone writes the session.
RecordedExperiment run_experiment(SessionStore* store, const Experiment& experiment,
                                  Backend& backend, const ProgressFn& progress,
                                  const CancelFlag* cancel, CostModels* cost_models);

}  // namespace moescope
