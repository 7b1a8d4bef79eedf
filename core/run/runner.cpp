#include "core/run/runner.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "core/base/error.h"
#include "core/base/memory_check.h"
#include "core/exec/backend.h"
#include "core/model/expert_weights.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/router.h"
#include "core/run/layer_weights.h"
#include "core/run/output_error.h"
#include "core/run/statistics.h"
#include "profiler/cpu_timer.h"
#include "profiler/nvtx_range.h"

namespace moescope {

namespace {

void require_finite_hidden_states(const LayerInput& input, int hidden, int layer) {
  for (std::size_t i = 0; i < input.hidden_states.size(); ++i) {
    if (!std::isfinite(input.hidden_states[i])) {
      throw Error("hidden states of layer " + std::to_string(layer) + ", token " +
                  std::to_string(i / static_cast<std::size_t>(hidden)) + " are " +
                  (std::isnan(input.hidden_states[i]) ? "NaN" : "infinite"));
    }
  }
}

Placement make_placement(const RunOptions& options) {
  if (options.placement.empty()) return balanced_placement(options.spec.experts, options.devices);
  if (static_cast<int>(options.placement.size()) != options.spec.experts) {
    throw Error("placement lists " + std::to_string(options.placement.size()) +
                " experts, the model has " + std::to_string(options.spec.experts));
  }
  return explicit_placement(options.placement, options.devices);
}

}  // namespace

std::uint64_t estimate_run_memory(const RunOptions& options, int tokens) {
  const auto T = static_cast<std::uint64_t>(tokens);
  const auto H = static_cast<std::uint64_t>(options.spec.hidden);
  const auto E = static_cast<std::uint64_t>(options.spec.experts);
  int widest = options.spec.top_k;
  for (const auto& p : options.policies) {
    if (p.kind == PolicyKind::kExpanded) {
      widest = std::max(widest, options.spec.top_k + std::min(p.m, options.spec.experts));
    }
  }
  const std::uint64_t rows = T * static_cast<std::uint64_t>(widest);
  // x, every policy's y (kept until the layer's outputs are compared), shared scratch; permuted
  // in and out; logits, probabilities and the reroute bookkeeping; plus the kept pairs and
  // dispatch plans.
  const std::uint64_t outputs = options.policies.size() + 1;
  const std::uint64_t activations = ((2 + outputs) * T + 2 * rows) * H * 4;
  const std::uint64_t routing = T * E * 9 + outputs * rows * 64;
  // What every (step, layer, policy) keeps: loads and times per expert, spans per expert and
  // device.
  const std::uint64_t records =
      static_cast<std::uint64_t>(options.steps) *
      static_cast<std::uint64_t>(options.spec.run_layers().size()) * (options.policies.size() + 1) *
      (E * (5 * 8 + 48) + static_cast<std::uint64_t>(options.devices) * 4 * 48 + 512);
  return expert_weight_bytes(options.spec) + activations + routing + records;
}

namespace {

// A load dump holds the experts an engine chose, not its router's scores: what ranks or reroutes
// by score cannot run on it; the baseline, and drop by position or at random, can.
void require_no_scores(const PolicyConfig& policy, const RoutingSource& source) {
  const bool by_position_or_random =
      policy.kind == PolicyKind::kDrop &&
      (policy.priority == DropPriority::kPosition || policy.priority == DropPriority::kRandom);
  if (policy.kind == PolicyKind::kNone || by_position_or_random) return;
  throw Error(policy_label(policy) + ": needs the router's scores, and " + source.describe() +
              " holds the chosen experts only; on a load dump run none, or drop with priority "
              "position or random");
}

}  // namespace

void check_run_options(const RunOptions& options, const RoutingSource& source) {
  validate(options.spec);
  if (options.repeats < 1 || options.repeats > 1000) {
    throw Error("repeats must be from 1 to 1000, got " + std::to_string(options.repeats));
  }
  if (options.timing == profiler::Timing::kMeasured &&
      std::any_of(options.policies.begin(), options.policies.end(),
                  [](const PolicyConfig& p) { return p.replicated; })) {
    throw Error(
        "ranks run every expert on its own device; replicated experts are not yet "
        "supported with --ranks");
  }
  if (options.timing == profiler::Timing::kModeled && !options.cost_model) {
    throw Error(
        "a modeled timeline needs a cost model of this backend on this machine (see "
        "`moescope-cli calibrate`)");
  }
  if (options.steps < 1) {
    throw Error("steps must be a positive integer, got " + std::to_string(options.steps));
  }
  for (const auto& policy : options.policies) {
    validate(policy);
    if (!source.has_scores()) require_no_scores(policy, source);
  }
  if (source.tokens() < 1) throw Error("a run needs at least one token");
  make_placement(options);
  for (const auto& policy : options.policies) {
    if (policy.replicated && policy.kind != PolicyKind::kNone &&
        policy.capacity_scope == CapacityScope::kDevice) {
      throw Error(policy_label(policy) +
                  ": capacity scope 'device' bounds the rows of each device without replicas; "
                  "on replicas use global or source");
    }
  }
  if (std::any_of(options.policies.begin(), options.policies.end(),
                  [](const PolicyConfig& p) { return p.replicated; })) {
    validate_eplb_options(options.spec.experts, eplb_options(options.replication, options.devices));
    const auto& given = options.replication.calibration_loads;
    for (int layer : options.spec.run_layers()) {
      if (given.empty()) break;
      const auto l = static_cast<std::size_t>(layer);
      if (l >= given.size() || given[l].empty()) {
        throw Error("the replica plans' loads (" + options.replication.calibration_source +
                    ") have none for layer " + std::to_string(layer));
      }
      if (std::all_of(given[l].begin(), given[l].end(), [](double v) { return v == 0; })) {
        throw Error("the replica plans' loads (" + options.replication.calibration_source +
                    ") are all zero for layer " + std::to_string(layer) +
                    ": nothing measured (row i is MoE layer i; a dense layer has no row)");
      }
      if (static_cast<int>(given[l].size()) != options.spec.experts) {
        throw Error("the replica plans' loads (" + options.replication.calibration_source +
                    ") have " + std::to_string(given[l].size()) + " experts in layer " +
                    std::to_string(layer) + ", the model has " +
                    std::to_string(options.spec.experts) + " (loads of another model?)");
      }
    }
    const int w = options.replication.calibration_steps;
    if (given.empty() && (w < 1 || w > options.steps)) {
      throw Error("the replica plan's calibration window must be 1 to " +
                  std::to_string(options.steps) + " steps (the run's), got " + std::to_string(w));
    }
  }
  require_memory(estimate_run_memory(options, source.tokens()), "this run",
                 "use fewer --tokens or a larger --scale");
}

namespace {

bool same_pairs(const PolicyOutcome& a, const PolicyOutcome& b) {
  return a.kept.size() == b.kept.size() && std::equal(a.kept.begin(), a.kept.end(), b.kept.begin(),
                                                      [](const KeptPair& x, const KeptPair& y) {
                                                        return x.token == y.token &&
                                                               x.expert == y.expert;
                                                      });
}

bool same_weights(const PolicyOutcome& a, const PolicyOutcome& b) {
  return std::equal(a.kept.begin(), a.kept.end(), b.kept.begin(), b.kept.end(),
                    [](const KeptPair& x, const KeptPair& y) { return x.weight == y.weight; });
}

std::int64_t sum(const std::vector<std::int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), std::int64_t{0});
}

// One policy of one layer while its repeats run.
struct LayerWork {
  PolicyOutcome outcome;         // on logical experts
  DispatchPlan plan;             // per expert, or per physical slot when replicated
  Placement placement;           // of the plan's groups: the run's, or the replica plan's slots
  std::vector<int> slot_expert;  // replicated: the logical expert of each slot
  LayerRecord record;
  std::vector<LayerExecution> repeats;  // timings only; the output is kept once
  std::vector<LayerTimeline> timelines;
  // Measured runs: each repeat's latency composed from its own durations, beside the measured.
  std::vector<std::int64_t> composed_latency_ns;
};

// The layer's routing: the router on the recorded logits (on the backend, when given), or a load
// dump's chosen experts.
RouterOutput route_layer(Backend* backend, const LayerInput& input, int tokens,
                         const ModelSpec& spec, int layer) {
  if (!input.topk_ids.empty()) {
    return route_from_ids(input.topk_ids.data(), tokens, spec.experts, spec.top_k, layer);
  }
  if (backend != nullptr) {
    return backend->route(input.logits.data(), tokens, spec.experts, spec.top_k, spec.router,
                          input.bias_or_null(), layer);
  }
  return route(input.logits.data(), tokens, spec.experts, spec.top_k, spec.router,
               input.bias_or_null(), layer);
}

// The first layer once, every policy, untimed: what a first call costs (allocations, page
// faults, thread start-up, cuBLAS's choices) is not the layer's time.
void warm_up(const RunOptions& options, RoutingSource& source, Backend& backend,
             const std::vector<PolicyRun>& runs, const Placement& placement,
             const ExpertWeights& weights, const CancelFlag* cancel) {
  const std::vector<int> layers = options.spec.run_layers();
  const LayerInput input = source.layer(0, layers.front());
  require_finite_hidden_states(input, options.spec.hidden, layers.front());
  backend.begin_layer(0, layers.front(), placement);
  const RouterOutput router =
      route_layer(&backend, input, source.tokens(), options.spec, layers.front());
  for (const auto& run : runs) {
    throw_if_cancelled(cancel);
    const PolicyOutcome outcome = backend.apply_policy(router, run.config, placement);
    const DispatchPlan plan = make_dispatch_plan(outcome, options.spec.experts, source.tokens());
    backend.run_layer(input.hidden_states.data(), weights, outcome, plan, cancel);
  }
}

// Each layer's replica plan from the routed loads (top-k pairs per expert) of the first
// calibration steps, as serving engines plan from a window of recent steps.
std::vector<ReplicaPlan> calibrate_replica_plans(const RunOptions& options, RoutingSource& source) {
  const ModelSpec& spec = options.spec;
  const std::vector<int> layers = spec.run_layers();
  std::vector<std::vector<double>> load(
      layers.size(), std::vector<double>(static_cast<std::size_t>(spec.experts)));
  const auto& given = options.replication.calibration_loads;  // measured elsewhere
  for (std::size_t l = 0; l < layers.size() && !given.empty(); ++l)
    load[l] = given[static_cast<std::size_t>(layers[l])];
  for (int step = 0; given.empty() && step < options.replication.calibration_steps; ++step) {
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const LayerInput input = source.layer(step, layers[l]);
      const RouterOutput router = route_layer(nullptr, input, source.tokens(), spec, layers[l]);
      for (std::int64_t t = 0; t < router.tokens; ++t) {
        for (int j = 0; j < router.top_k; ++j)
          load[l][static_cast<std::size_t>(router.topk_expert(t, j))] += 1.0;
      }
    }
  }
  std::vector<ReplicaPlan> plans;
  const EplbOptions eplb = eplb_options(options.replication, options.devices);
  for (std::size_t l = 0; l < load.size(); ++l) {
    try {
      plans.push_back(plan_replicas(load[l], eplb));
    } catch (const Error& e) {
      throw Error("the replica plan of layer " + std::to_string(layers[l]) + ": " + e.what());
    }
  }
  return plans;
}

Placement slot_placement(const ReplicaPlan& plan) {
  Placement p;
  p.devices = plan.devices;
  for (int s = 0; s < plan.slot_count(); ++s)
    p.device_of_expert.push_back(plan.device_of_slot(s));
  return p;
}

// A replicated layer's timeline names logical experts: a slot's span is its expert's.
void name_logical_experts(LayerTimeline& timeline, const std::vector<int>& slot_expert) {
  if (slot_expert.empty()) return;
  for (auto& event : timeline.events) {
    if (event.expert >= 0) event.expert = slot_expert[static_cast<std::size_t>(event.expert)];
  }
  if (timeline.straggler_expert >= 0) {
    timeline.straggler_expert = slot_expert[static_cast<std::size_t>(timeline.straggler_expert)];
  }
}

// A replicated policy's work: its kept pairs (on logical experts) go to replicas, one group of
// rows per physical slot computed with its expert's weights, and the device loads become the
// slots' devices'. `routed_device_load` is the same for every replicated policy of the layer:
// every top-k pair on its replica.
void place_on_replicas(LayerWork& w, const ReplicaPlan& plan,
                       const std::vector<std::int64_t>& routed_device_load,
                       const RouterOutput& router, ReplicaChoice choice) {
  const std::int64_t tokens = router.tokens;
  const std::vector<int> slots = assign_replicas(w.outcome, plan, router, choice);
  PolicyOutcome physical = w.outcome;
  for (std::size_t i = 0; i < slots.size(); ++i)
    physical.kept[i].expert = slots[i];
  w.plan = make_dispatch_plan(physical, plan.slot_count(), tokens);
  w.plan.group_expert = plan.slot_expert;
  w.placement = slot_placement(plan);
  w.slot_expert = plan.slot_expert;
  LayerRecord& record = w.record;
  record.slot_expert = plan.slot_expert;
  record.slot_rows = slot_load(slots, plan.slot_count());
  LoadMetrics& load = record.load;
  load.kept_device_load = device_load_of_slots(record.slot_rows, plan);
  load.routed_device_load = routed_device_load;
  load.balancedness_routed = balancedness(load.routed_device_load);
  load.balancedness_kept = balancedness(load.kept_device_load);
}

}  // namespace

void require_timing_of(const Backend& backend, profiler::Timing timing) {
  const bool measured = timing == profiler::Timing::kMeasured;
  if (measured == (backend.timing() == profiler::Timing::kMeasured)) return;
  throw Error(measured ? "timing 'measured' needs one process per device: mpirun -np N "
                         "moescope-cli run ... --ranks"
                       : "the " + backend.name() +
                             " backend measures its timelines; its runs are timing 'measured'");
}

RunResult run_model(const RunOptions& options, RoutingSource& source, Backend& backend,
                    const ProgressFn& progress, const CancelFlag* cancel) {
  check_run_options(options, source);
  require_timing_of(backend, options.timing);
  const bool measured = options.timing == profiler::Timing::kMeasured;
  const int tokens = source.tokens();
  RunResult result;
  result.spec = options.spec;
  result.tokens = tokens;
  result.steps = options.steps;
  result.repeats = options.repeats;
  result.placement = make_placement(options);
  result.routing = source.describe();
  result.router_scores = source.has_scores();

  result.backend = backend.name();
  result.timing = options.timing;
  result.machine = backend.machine();
  result.collector = backend.collector();
  const std::shared_ptr<LayerWeights> shared_weights =
      options.weights
          ? options.weights
          : std::make_shared<LayerWeights>(options.spec, options.seed, options.weights_dir);
  LayerWeights& weights = *shared_weights;
  result.weights = weights.describe();
  result.weights_shared_across_layers = options.weights_dir.empty();

  PolicyConfig baseline = options.baseline;
  baseline.kind = PolicyKind::kNone;
  result.runs.push_back({baseline, {}});
  for (const auto& policy : options.policies) {
    if (policy.kind != PolicyKind::kNone || policy.replicated) result.runs.push_back({policy, {}});
  }
  const bool any_replicated = std::any_of(result.runs.begin(), result.runs.end(),
                                          [](const PolicyRun& r) { return r.config.replicated; });
  if (any_replicated) {
    result.replica_plans = calibrate_replica_plans(options, source);
    result.replication = options.replication;
  }

  const int repeats = options.repeats;
  warm_up(options, source, backend, result.runs, result.placement,
          weights.of(options.spec.run_layers().front()), cancel);

  const std::vector<int> layers = options.spec.run_layers();
  const auto total = static_cast<std::int64_t>(options.steps) *
                     static_cast<std::int64_t>(layers.size()) *
                     static_cast<std::int64_t>(result.runs.size()) * repeats;
  std::int64_t done = 0;
  const std::size_t n_runs = result.runs.size();
  for (int step = 0; step < options.steps; ++step) {
    for (int layer : layers) {
      throw_if_cancelled(cancel);
      const LayerInput input = source.layer(step, layer);
      require_finite_hidden_states(input, options.spec.hidden, layer);
      backend.begin_layer(step, layer, result.placement);
      profiler::CpuTimer gating_timer;
      std::optional<profiler::NvtxRange> gating_range("gating");
      const RouterOutput router = route_layer(&backend, input, tokens, options.spec, layer);
      const std::int64_t gating_ns = gating_timer.elapsed_ns();
      gating_range.reset();

      const std::size_t layer_index =
          static_cast<std::size_t>(std::find(layers.begin(), layers.end(), layer) - layers.begin());
      const ExpertWeights& layer_weights = weights.of(layer);
      std::vector<LayerWork> work(n_runs);
      std::optional<std::vector<std::int64_t>> routed_on_replicas;  // once per layer
      for (std::size_t p = 0; p < n_runs; ++p) {
        profiler::CpuTimer policy_timer;
        std::optional<profiler::NvtxRange> policy_range("policy " +
                                                        policy_label(result.runs[p].config));
        work[p].outcome = backend.apply_policy(router, result.runs[p].config, result.placement);
        policy_range.reset();
        LayerRecord& record = work[p].record;
        record.policy_ns = policy_timer.elapsed_ns();
        record.gating_ns = gating_ns;
        record.step = step;
        record.layer = layer;
        record.capacity = work[p].outcome.capacity;
        record.load = compute_load_metrics(router, work[p].outcome, result.placement);
        if (result.runs[p].config.replicated) {
          const ReplicaPlan& plan = result.replica_plans[layer_index];
          if (!routed_on_replicas) {  // work[0] is the baseline: every top-k pair
            routed_on_replicas = device_load_of_slots(
                slot_load(
                    assign_replicas(work[0].outcome, plan, router, options.replication.choice),
                    plan.slot_count()),
                plan);
          }
          place_on_replicas(work[p], plan, *routed_on_replicas, router, options.replication.choice);
        } else {
          work[p].plan = make_dispatch_plan(work[p].outcome, options.spec.experts, tokens);
          work[p].placement = result.placement;
        }
        record.same_work_as_baseline = p > 0 && !options.time_same_work &&
                                       !result.runs[p].config.replicated &&
                                       same_pairs(work[p].outcome, work[0].outcome);
      }

      // Every repeat runs every policy, starting one further each time, so that no policy is
      // always the one right after the baseline (or always the first, on a cold cache).
      std::vector<float> baseline_output;
      for (int r = 0; r < repeats; ++r) {
        for (std::size_t i = 0; i < n_runs; ++i) {
          const std::size_t p = (i + static_cast<std::size_t>(r)) % n_runs;
          LayerWork& w = work[p];
          if (w.record.same_work_as_baseline) {
            // The baseline's work, so the baseline's times; run it only for an output that
            // other weights make different, and only once.
            if (r == 0 && !same_weights(w.outcome, work[0].outcome)) {
              w.repeats.push_back(backend.run_layer(input.hidden_states.data(), layer_weights,
                                                    w.outcome, w.plan, cancel));
            }
            if (progress) progress(++done, total);
            continue;
          }
          LayerExecution execution = backend.run_layer(input.hidden_states.data(), layer_weights,
                                                       w.outcome, w.plan, cancel);
          if (r > 0) execution.output = {};  // the first repeat's output is the one compared
          LayerTimeline composed = compose_layer_timeline(
              execution, w.placement, w.record.load.kept_device_load, tokens, step, layer);
          if (measured) {
            w.composed_latency_ns.push_back(composed.latency_ns);
            w.timelines.push_back(
                measured_layer_timeline(execution.measured_spans, w.placement.devices));
          } else {
            w.timelines.push_back(std::move(composed));
          }
          name_logical_experts(w.timelines.back(), w.slot_expert);
          w.repeats.push_back(std::move(execution));
          if (progress) progress(++done, total);
        }
      }

      // The output errors, and the same work's times, before anything is moved out.
      const std::vector<float>& base_out = work[0].repeats.front().output;
      // Finite weights and hidden states can still overflow fp32 (weights of 1e30): an error
      // that names the layer, rather than a NaN output error no session can store.
      if (!std::all_of(base_out.begin(), base_out.end(),
                       [](float v) { return std::isfinite(v); })) {
        throw Error("layer " + std::to_string(layer) + ", step " + std::to_string(step) +
                    ": the baseline's output is not finite (the weights or hidden states "
                    "overflow fp32)");
      }
      for (std::size_t p = 1; p < n_runs; ++p) {
        LayerWork& w = work[p];
        if (!w.record.same_work_as_baseline) {
          w.record.output_error = relative_error(w.repeats.front().output, base_out);
          continue;
        }
        // Identical weights were not run at all: the baseline's output, error 0.
        if (!w.repeats.empty()) {
          w.record.output_error = relative_error(w.repeats.front().output, base_out);
        }
        w.repeats = work[0].repeats;  // the times of the same work
        for (auto& repeat : w.repeats)
          repeat.output = {};
        w.timelines = work[0].timelines;
        w.composed_latency_ns = work[0].composed_latency_ns;
      }
      for (std::size_t p = 0; p < n_runs; ++p) {
        LayerWork& w = work[p];
        LayerRecord& record = w.record;
        for (std::size_t r = 0; r < w.timelines.size(); ++r) {
          record.repeat_latency_ns.push_back(w.timelines[r].latency_ns);
          record.repeat_margin_ns.push_back(w.timelines[r].straggler_margin_ns);
          record.repeat_compute_ns.push_back(sum(w.repeats[r].expert_ns));
        }
        std::vector<double> latencies(record.repeat_latency_ns.begin(),
                                      record.repeat_latency_ns.end());
        const std::size_t median = lower_median_index(latencies);
        record.composed_latency_ns =
            measured ? w.composed_latency_ns[median] : w.timelines[median].latency_ns;
        if (options.cost_model) {
          LayerExecution predicted =
              model_layer(*options.cost_model, w.plan, options.spec.shared_experts > 0);
          LayerTimeline modeled = compose_layer_timeline(
              predicted, w.placement, record.load.kept_device_load, tokens, step, layer);
          name_logical_experts(modeled, w.slot_expert);
          record.modeled_latency_ns = modeled.latency_ns;
          if (options.timing == profiler::Timing::kModeled) {
            record.modeled = true;
            w.timelines[median] = std::move(modeled);
            w.repeats[median].expert_ns = std::move(predicted.expert_ns);
          }
        }
        record.timeline = std::move(w.timelines[median]);
        record.expert_ns = std::move(w.repeats[median].expert_ns);
        if (!w.slot_expert.empty()) {
          // Per slot as measured; per logical expert (the sum of its replicas) for the heatmap.
          record.slot_ns = std::move(record.expert_ns);
          record.expert_ns.assign(static_cast<std::size_t>(options.spec.experts), 0);
          for (std::size_t s = 0; s < w.slot_expert.size(); ++s)
            record.expert_ns[static_cast<std::size_t>(w.slot_expert[s])] += record.slot_ns[s];
        }
        record.gpu_kernels = std::move(w.repeats[median].gpu_kernels);
        record.gpu_kernel_names = std::move(w.repeats[median].gpu_kernel_names);
        result.runs[p].records.push_back(std::move(record));
      }
    }
  }
  // Described at the end, so that what happened during the run (records a tracer dropped)
  // is part of it.
  result.backend_detail = backend.describe();
  return result;
}

}  // namespace moescope
