#include "core/session/record_experiment.h"

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/run/calibration.h"
#include "core/run/experiment_json.h"
#include "core/run/layer_weights.h"
#include "core/run/run_rows.h"

namespace moescope {

namespace {

// Units of progress a batch reports: one per (step, layer, run).
std::int64_t progress_units(const RunOptions& options) {
  return static_cast<std::int64_t>(options.steps) *
         static_cast<std::int64_t>(options.spec.run_layers().size()) *
         static_cast<std::int64_t>(options.policies.size() + 1);
}

std::vector<RunHeader> batch_headers(const RunOptions& options, const Backend& backend, int tokens,
                                     const std::string& request, bool name_devices) {
  std::vector<PolicyConfig> planned = {PolicyConfig{}};
  planned.insert(planned.end(), options.policies.begin(), options.policies.end());
  std::vector<RunHeader> headers;
  for (const PolicyConfig& policy : planned) {
    RunHeader h;
    h.name = options.spec.name + " " + policy_label(policy);
    if (name_devices) h.name += " on " + std::to_string(options.devices) + " devices";
    h.model = options.spec.name;
    h.policy = policy;
    h.devices = options.devices;
    h.tokens = tokens;
    h.steps = options.steps;
    h.backend = backend.name();
    h.timing = std::string(profiler::timing_name(options.timing));
    h.collector = backend.collector();
    h.machine = backend.machine();
    h.request_json = request;
    headers.push_back(std::move(h));
  }
  return headers;
}

}  // namespace

namespace {

// The cost model of this backend and shape: the one kept, or (for a modeled run) one
// calibrated now and kept.
std::optional<CostModel> cost_model_for(const Experiment& e, Backend& backend, int tokens,
                                        CostModels* models, const ProgressFn& progress,
                                        const CancelFlag* cancel) {
  const bool modeled = e.timing == profiler::timing_name(profiler::Timing::kModeled);
  if (models == nullptr) {
    if (modeled) throw Error("a modeled run needs a place for cost models; none was given");
    return std::nullopt;
  }
  std::optional<CostModel> model;
  try {
    model = models->find(backend.machine(), backend.name(), *e.model.spec);
  } catch (const Error&) {
    if (modeled) throw;  // a damaged file must not stop a composed run
  }
  if (model || !modeled) return model;
  CalibrationOptions options;
  options.tokens = tokens;
  CostModel fitted = calibrate(backend, *e.model.spec, options, progress, cancel);
  fitted.fitted_at = utc_now_iso8601();
  models->add(fitted);
  return fitted;
}

}  // namespace

RecordedExperiment record_experiment(SessionStore& store, const Experiment& experiment,
                                     Backend& backend, const ProgressFn& progress,
                                     const CancelFlag* cancel, CostModels* cost_models) {
  return run_experiment(&store, experiment, backend, progress, cancel, cost_models);
}

RecordedExperiment run_experiment(SessionStore* store, const Experiment& experiment,
                                  Backend& backend, const ProgressFn& progress,
                                  const CancelFlag* cancel, CostModels* cost_models) {
  RecordedExperiment out;
  if (store != nullptr) out.session_path = store->path();
  out.experiment = resolve(experiment);
  validate(out.experiment);
  backend.check_model(*out.experiment.model.spec);
  profiler::Timing timing{};
  profiler::parse_timing(out.experiment.timing, timing);  // validate() checked the name
  require_timing_of(backend, timing);
  const auto source = make_routing_source(out.experiment);
  // A checkpoint that is not the model's, or lacks a tensor of a layer the run visits, is
  // refused before any run is stored; the first layer's values are read and checked too (the
  // others when they run). Opened once, for every batch.
  std::shared_ptr<LayerWeights> weights;
  if (!out.experiment.model.weights_dir.empty()) {
    const ModelSpec& spec = *out.experiment.model.spec;
    weights =
        std::make_shared<LayerWeights>(spec, out.experiment.seed, out.experiment.model.weights_dir);
    (void)weights->of(spec.run_layers().front());
  }
  const std::optional<CostModel> model =
      cost_model_for(out.experiment, backend, source->tokens(), cost_models, progress, cancel);

  // Every batch is checked before the first run is stored: only a run that started can fail.
  std::vector<RunOptions> batches;
  std::int64_t total = 0;
  std::size_t runs = 0;
  for (int devices : device_counts(out.experiment)) {
    batches.push_back(run_options(out.experiment, devices));
    batches.back().cost_model = model;
    batches.back().weights = weights;
    check_run_options(batches.back(), *source);
    total += progress_units(batches.back());
    runs += batches.back().policies.size() + 1;
  }
  const std::string request = experiment_to_json(out.experiment).dump();
  std::optional<std::int64_t> group;
  if (runs > 2) group = SessionStore::kNewGroup;

  std::int64_t done_before = 0;
  for (const RunOptions& options : batches) {
    RecordedBatch batch;
    batch.devices = options.devices;
    if (store != nullptr) {
      const BatchIds ids = store->begin_batch(
          batch_headers(options, backend, source->tokens(), request, batches.size() > 1), group);
      batch.run_ids = ids.ids;
      group = out.group = ids.group;
    }
    const ProgressFn batch_progress = [&](std::int64_t done, std::int64_t) {
      if (progress) progress(done_before + done, total);
    };
    try {
      batch.result = run_model(options, *source, backend, batch_progress, cancel);
    } catch (const Cancelled&) {
      throw;  // the runs stay `incomplete`
    } catch (...) {
      for (std::int64_t id : batch.run_ids)
        store->set_status(id, "failed");
      throw;
    }
    for (std::size_t i = 0; i < batch.run_ids.size(); ++i) {
      store->finish_run(batch.run_ids[i], tabulate_run(batch.result, i));
    }
    done_before += progress_units(options);
    out.batches.push_back(std::move(batch));
  }
  return out;
}

}  // namespace moescope
