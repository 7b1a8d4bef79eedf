// The runner: for every step and layer, route, apply each policy, execute the layer and
// measure it. The baseline ("none") always runs first on the same input, because the output
// error and the speedup of every policy are measured against it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/cancel.h"
#include "core/inputs/routing_source.h"
#include "core/model/model_spec.h"
#include "core/moe/load_metrics.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/replica_plan.h"
#include "core/run/cost_model.h"
#include "core/run/layer_timeline.h"

namespace moescope {

class LayerWeights;

struct RunOptions {
  ModelSpec spec;  // with H and F already scaled as the user asked
  int steps = 1;
  std::vector<PolicyConfig> policies;  // besides the baseline, which is always run
  // The baseline keeps every pair; it reports the capacity that this config's gamma and
  // capacity scope imply (those of the policies it is compared with).
  PolicyConfig baseline;
  int devices = 1;
  std::vector<int> placement;  // expert -> device; empty means balanced blocks
  std::uint64_t seed = 0;
  // How often every layer is timed, each policy's repeats interleaved with the others' (so slow
  // drift of the machine hits every policy alike), after one untimed warm-up pass.
  int repeats = 1;
  // A policy that keeps the baseline's pairs does the baseline's work: its times are the
  // baseline's, not measured again. Tests of the statistics turn this off, to time the same
  // work twice and see that no difference is found.
  bool time_same_work = false;
  // composed (each layer's timeline from the durations measured), or modeled (from the loads
  // through `cost_model`, deterministic). measured needs one process per device: refused here.
  profiler::Timing timing = profiler::Timing::kComposed;
  // When given, every layer also gets its modeled latency, beside the composed one.
  std::optional<CostModel> cost_model;
  // The replica plans of the policies marked `replicated`: made per layer from the routed loads
  // of the first `calibration_steps` steps (shared/ALGORITHMS.md, Replicated experts).
  ReplicationOptions replication;
  // A model folder whose checkpoint gives each layer's expert weights; empty: synthetic weights.
  std::string weights_dir;
  // The checkpoint opened once for every batch of an experiment (layers it keeps are not read
  // again); null: the run opens weights_dir itself.
  std::shared_ptr<LayerWeights> weights;
};

struct LayerRecord {
  int step = 0;
  int layer = 0;
  LoadMetrics load;
  std::vector<std::int64_t> capacity;
  std::vector<std::int64_t> expert_ns;  // [E] measured in isolation
  LayerTimeline timeline;
  double output_error = 0;                   // against the baseline on the same input
  std::int64_t gating_ns = 0;                // router (softmax + top-k), measured on the host
  std::int64_t policy_ns = 0;                // the capacity policy, measured on the host
  std::vector<profiler::Event> gpu_kernels;  // as LayerExecution has them (CUPTI runs only)
  std::vector<std::string> gpu_kernel_names;
  // Every repeat's composed layer latency, straggler margin and expert compute, in the order
  // the repeats ran; the timeline, expert_ns and the kernels are those of the median repeat.
  std::vector<std::int64_t> repeat_latency_ns;
  std::vector<std::int64_t> repeat_margin_ns;
  std::vector<std::int64_t> repeat_compute_ns;
  // The policy kept exactly the baseline's pairs: the same work, so its times are the
  // baseline's (not timed again) and its speedup in this layer is exactly 1.
  bool same_work_as_baseline = false;
  // The median repeat's composed latency, and the modeled one when the run has a cost model;
  // `timeline` is the one of the run's timing.
  std::int64_t composed_latency_ns = 0;
  std::optional<std::int64_t> modeled_latency_ns;
  bool modeled = false;  // the timeline (and expert_ns) come from the cost model
  // Replicated runs: the layer's plan and what each physical slot did (expert_ns and the loads
  // stay per logical expert; device loads and the timeline are the slots').
  std::vector<int> slot_expert;         // [P] the logical expert of each slot
  std::vector<std::int64_t> slot_rows;  // [P] kept pairs each slot computed
  std::vector<std::int64_t> slot_ns;    // [P] each slot's measured (or modeled) time
};

struct PolicyRun {
  PolicyConfig config;
  std::vector<LayerRecord> records;  // step-major, then layer
};

struct RunResult {
  ModelSpec spec;
  int tokens = 0;
  int steps = 0;
  int repeats = 1;  // every layer timed this often, after a warm-up
  Placement placement;
  std::string routing;         // the routing source's description
  bool router_scores = true;   // false: a load dump's chosen experts, no router ran
  std::string weights;         // "synthetic(seed=S)" or "checkpoint(FOLDER)"
  std::string backend;         // its registry name
  std::string backend_detail;  // e.g. "CPU (OpenBLAS, 2 threads)"
  std::string machine;         // the hardware and kernels the times come from
  profiler::Timing timing = profiler::Timing::kComposed;
  std::string collector = "cpu-timer";  // what measured the times
  bool weights_shared_across_layers = true;
  std::vector<PolicyRun> runs;  // runs[0] is the baseline
  // One per run layer when a policy ran on replicas: the plan every replicated run used.
  std::vector<ReplicaPlan> replica_plans;
  ReplicationOptions replication;  // how they were made
};

class Backend;

// Checks everything about a run that can be checked before it starts (spec, steps, policies,
// placement, memory) without starting a backend. Throws Error.
void check_run_options(const RunOptions& options, const RoutingSource& source);

// Throws Error unless the backend measures its timelines exactly when `timing` is measured
// (ranks do; every other backend's timelines are composed or modeled).
void require_timing_of(const Backend& backend, profiler::Timing timing);

// Throws Error on bad options, Cancelled when `cancel` is set (between layers and experts).
// Runs on `backend`, which the caller made (so that a GPU starts once for many runs, and its
// name, timing and collector can be stored before the run).
RunResult run_model(const RunOptions& options, RoutingSource& source, Backend& backend,
                    const ProgressFn& progress, const CancelFlag* cancel);

// Bytes a run needs at its peak: the weights, the activations of one layer and its routing.
std::uint64_t estimate_run_memory(const RunOptions& options, int tokens);

}  // namespace moescope
