#include "core/run/calibration.h"

#include <algorithm>

#include "core/base/error.h"
#include "core/inputs/routing_source.h"
#include "core/model/expert_weights.h"
#include "core/moe/placement.h"
#include "core/run/statistics.h"

namespace moescope {

namespace {

// The activations of the largest size stay under this: a calibration must not need more
// memory than the runs it is for.
constexpr double kMaxActivationBytes = 512.0 * (1 << 20);

int calibration_experts(const ModelSpec& spec, const CalibrationOptions& options) {
  return std::clamp(options.experts, 1, spec.experts);
}

}  // namespace

std::vector<int> calibration_rows(const ModelSpec& spec, const CalibrationOptions& options) {
  const int n = calibration_experts(spec, options);
  const double typical = static_cast<double>(options.tokens) * spec.top_k / spec.experts;
  const double by_memory =
      kMaxActivationBytes / (4.0 * n * (3.0 * spec.hidden + 3.0 * spec.expert_ffn));
  const int largest = static_cast<int>(std::clamp(std::min(4 * typical, by_memory), 16.0, 4096.0));
  std::vector<int> rows;
  for (int r = 1; r < largest; r *= 2)
    rows.push_back(r);
  rows.push_back(largest);
  return rows;
}

CostModel calibrate(Backend& backend, const ModelSpec& spec, const CalibrationOptions& options,
                    const ProgressFn& progress, const CancelFlag* cancel) {
  validate(spec);
  if (options.repeats < 1) throw Error("a calibration needs at least one repeat");
  const int n = calibration_experts(spec, options);
  ModelSpec few = spec;
  few.experts = n;
  few.top_k = std::min(spec.top_k, n);
  const ExpertWeights weights = make_synthetic_weights(few, 0);
  const Placement placement = balanced_placement(n, 1);
  const bool shared = spec.shared_experts > 0;

  std::vector<std::pair<double, double>> expert, dispatch, combine, shared_points;
  const std::vector<int> sizes = calibration_rows(spec, options);
  std::int64_t done = 0;
  const auto total = static_cast<std::int64_t>(sizes.size()) * (options.repeats + 1);
  for (const int rows : sizes) {
    // Every token one pair, `rows` tokens to each expert: the plan of a perfectly even layer.
    const int tokens = rows * n;
    PolicyOutcome outcome;
    for (int t = 0; t < tokens; ++t)
      outcome.kept.push_back({t, t / rows, 1.0f, true});
    const DispatchPlan plan = make_dispatch_plan(outcome, n, tokens);
    const std::vector<float> x = synthetic_hidden_states(tokens, spec.hidden, 0, 0, 0);
    std::vector<double> expert_ns, dispatch_ns, combine_ns, shared_ns;
    for (int r = 0; r <= options.repeats; ++r) {
      throw_if_cancelled(cancel);
      backend.begin_layer(0, 0, placement);
      const LayerExecution run = backend.run_layer(x.data(), weights, outcome, plan, cancel);
      if (progress) progress(++done, total);
      if (r == 0) continue;  // the first call of a size is its warm-up
      for (std::int64_t ns : run.expert_ns)
        expert_ns.push_back(static_cast<double>(ns));
      dispatch_ns.push_back(static_cast<double>(run.dispatch_ns));
      combine_ns.push_back(static_cast<double>(run.combine_ns));
      shared_ns.push_back(static_cast<double>(run.shared_ns));
    }
    expert.emplace_back(rows, lower_median(expert_ns));
    dispatch.emplace_back(tokens, lower_median(dispatch_ns));
    combine.emplace_back(tokens, lower_median(combine_ns));
    if (shared) shared_points.emplace_back(tokens, lower_median(shared_ns));
  }
  CostModel model;
  model.machine = backend.machine();
  model.backend = backend.name();
  model.hidden = spec.hidden;
  model.expert_ffn = spec.expert_ffn;
  model.shared_ffn = shared ? spec.shared_ffn : 0;
  model.expert = fit_linear(expert);
  model.dispatch = fit_linear(dispatch);
  model.combine = fit_linear(combine);
  if (shared) model.shared = fit_linear(shared_points);
  return model;
}

}  // namespace moescope
