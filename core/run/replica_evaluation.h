// Replica plans from measured loads, and what they would do to the devices: the calibration
// window of a stored run (or an engine's load counts), the plan of every layer, each layer's
// balancedness with and without the plan, step by step after the window (how fast a plan goes
// stale), and the plan as SGLang reads a static expert placement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/moe/replica_plan.h"
#include "core/run/run_rows.h"
#include "core/run/runner.h"

namespace moescope {

// Token counts per (step, layer, expert).
struct ExpertLoadTable {
  int experts = 0;
  std::vector<int> layers;                                   // the model's layer numbers
  std::vector<std::vector<std::vector<std::int64_t>>> load;  // [step][layer index][expert]
  int steps() const { return static_cast<int>(load.size()); }
};

// From a stored run's per-expert rows, routed (the demand before any policy) or kept loads.
// Throws Error when the rows do not form whole steps of whole layers.
ExpertLoadTable load_table_from_rows(const std::vector<ExpertLoadRow>& rows, bool routed);

// From a JSON file: SGLang's `{"logical_count": [[...]]}` ([layer][expert]; a leading third axis
// is summed over) or a bare [layer][expert] array, as one step. Errors name the file and entry.
ExpertLoadTable load_table_from_json(const nlohmann::json& j, const std::string& where);

// Each layer's loads summed over the first `steps` steps, [layer index][expert].
std::vector<std::vector<std::int64_t>> summed_over_steps(const ExpertLoadTable& table, int steps);

// Balancedness over layers, as serving engines log it: per layer mean / max tokens per device
// (1 is perfect), then the minimum, median, 90th percentile (nearest rank) and mean over the
// layers (SGLang), and the sum of the layers' means over the sum of their maxima (vLLM).
struct BalancednessSummary {
  double min = 0, p50 = 0, p90 = 0, mean = 0, aggregate = 0;
};
BalancednessSummary summarize_balancedness(
    const std::vector<std::vector<std::int64_t>>& device_loads);

// Each step's balancedness over its layers, from the kept device loads of a run's records (the
// slots' devices for a replicated run).
std::vector<BalancednessSummary> balancedness_by_step(const PolicyRun& run);

// A plan's device loads for given expert loads, each expert's tokens split as evenly as
// possible over its replicas (replica rank r gets one more while r < load % count): what round
// robin approaches.
std::vector<std::int64_t> device_load_with_plan(const std::vector<std::int64_t>& expert_load,
                                                const ReplicaPlan& plan);
// Without replicas: experts in balanced contiguous blocks over `devices`.
std::vector<std::int64_t> device_load_without_plan(const std::vector<std::int64_t>& expert_load,
                                                   int devices);

struct PlanEvaluation {
  std::vector<ReplicaPlan> plans;                   // one per layer, from the window's summed loads
  int window = 0;                                   // steps 0..window-1 calibrated the plans
  BalancednessSummary window_without, window_with;  // over the window's summed loads
  // Each step after the window on its own: without the plan, with it.
  std::vector<BalancednessSummary> later_without, later_with;
};

// Plans every layer from the first `window` steps of `calibration` (all when 0) and evaluates
// them on the steps after the window, or, given `later`, on every step of `later` (a run
// planned from another run or an engine's counts). Throws Error for a window beyond the steps,
// a `later` of another expert or layer count, or options that cannot place the experts.
PlanEvaluation evaluate_replica_plans(const ExpertLoadTable& calibration,
                                      const EplbOptions& options, int window,
                                      const ExpertLoadTable* later = nullptr);

// {"physical_to_logical_map": [[slot's expert, ...] per layer]}: the file SGLang's
// --init-expert-location reads (its only key, since SGLang passes the keys on as arguments).
nlohmann::json sglang_expert_location(const std::vector<ReplicaPlan>& plans);

}  // namespace moescope
