#include "core/run/runner.h"

#include <cmath>
#include <optional>

#include "core/base/error.h"
#include "core/base/memory_check.h"
#include "core/exec/backend.h"
#include "core/model/expert_weights.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/router.h"
#include "core/run/output_error.h"
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
  // x, baseline y, policy y, shared scratch; permuted in and out; logits, probabilities and
  // the reroute bookkeeping; plus the kept pairs and dispatch plan.
  const std::uint64_t activations = (4 * T + 2 * rows) * H * 4;
  const std::uint64_t routing = T * E * 9 + rows * 64;
  // What every (step, layer, policy) keeps: loads and times per expert, spans per expert and
  // device.
  const std::uint64_t records =
      static_cast<std::uint64_t>(options.steps) *
      static_cast<std::uint64_t>(options.spec.run_layers().size()) * (options.policies.size() + 1) *
      (E * (5 * 8 + 48) + static_cast<std::uint64_t>(options.devices) * 4 * 48 + 512);
  return expert_weight_bytes(options.spec) + activations + routing + records;
}

void check_run_options(const RunOptions& options, const RoutingSource& source) {
  validate(options.spec);
  if (options.steps < 1) {
    throw Error("steps must be a positive integer, got " + std::to_string(options.steps));
  }
  for (const auto& policy : options.policies)
    validate(policy);
  if (source.tokens() < 1) throw Error("a run needs at least one token");
  make_placement(options);
  require_memory(estimate_run_memory(options, source.tokens()), "this run",
                 "use fewer --tokens or a larger --scale");
}

RunResult run_model(const RunOptions& options, RoutingSource& source, Backend& backend,
                    const ProgressFn& progress, const CancelFlag* cancel) {
  check_run_options(options, source);
  const int tokens = source.tokens();
  RunResult result;
  result.spec = options.spec;
  result.tokens = tokens;
  result.steps = options.steps;
  result.placement = make_placement(options);
  result.routing = source.describe();

  result.backend = backend.name();
  result.timing = backend.timing();
  result.collector = backend.collector();
  const ExpertWeights weights = make_synthetic_weights(options.spec, options.seed);

  PolicyConfig baseline = options.baseline;
  baseline.kind = PolicyKind::kNone;
  result.runs.push_back({baseline, {}});
  for (const auto& policy : options.policies) {
    if (policy.kind != PolicyKind::kNone) result.runs.push_back({policy, {}});
  }

  const std::vector<int> layers = options.spec.run_layers();
  const auto total = static_cast<std::int64_t>(options.steps) *
                     static_cast<std::int64_t>(layers.size()) *
                     static_cast<std::int64_t>(result.runs.size());
  std::int64_t done = 0;
  for (int step = 0; step < options.steps; ++step) {
    for (int layer : layers) {
      throw_if_cancelled(cancel);
      const LayerInput input = source.layer(step, layer);
      require_finite_hidden_states(input, options.spec.hidden, layer);
      backend.begin_layer(step, layer, result.placement);
      profiler::CpuTimer gating_timer;
      std::optional<profiler::NvtxRange> gating_range("gating");
      const RouterOutput router =
          backend.route(input.logits.data(), tokens, options.spec.experts, options.spec.top_k,
                        options.spec.norm_topk_prob, layer);
      const std::int64_t gating_ns = gating_timer.elapsed_ns();
      gating_range.reset();
      std::vector<float> baseline_output;
      for (auto& run : result.runs) {
        profiler::CpuTimer policy_timer;
        std::optional<profiler::NvtxRange> policy_range("policy " + policy_label(run.config));
        const PolicyOutcome outcome = backend.apply_policy(router, run.config, result.placement);
        policy_range.reset();
        LayerRecord record;
        record.policy_ns = policy_timer.elapsed_ns();
        record.gating_ns = gating_ns;
        record.step = step;
        record.layer = layer;
        record.capacity = outcome.capacity;
        record.load = compute_load_metrics(router, outcome, result.placement);
        const DispatchPlan plan = make_dispatch_plan(outcome, options.spec.experts, tokens);
        LayerExecution execution =
            backend.run_layer(input.hidden_states.data(), weights, outcome, plan, cancel);
        record.timeline = compose_layer_timeline(execution, result.placement,
                                                 record.load.kept_device_load, tokens, step, layer);
        record.expert_ns = std::move(execution.expert_ns);
        record.gpu_kernels = std::move(execution.gpu_kernels);
        record.gpu_kernel_names = std::move(execution.gpu_kernel_names);
        if (baseline_output.empty()) {
          baseline_output = std::move(execution.output);
        } else {
          record.output_error = relative_error(execution.output, baseline_output);
        }
        run.records.push_back(std::move(record));
        if (progress) progress(++done, total);
      }
    }
  }
  // Described at the end, so that what happened during the run (records a tracer dropped)
  // is part of it.
  result.backend_detail = backend.describe();
  return result;
}

}  // namespace moescope
