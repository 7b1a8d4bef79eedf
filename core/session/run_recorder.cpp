#include "core/session/run_recorder.h"

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/exec/backend.h"
#include "core/exec/backend_registry.h"
#include "core/model/spec_json.h"
#include "core/run/run_report.h"

namespace moescope {

std::string run_request_json(const RunOptions& options, const RoutingSource& source,
                             const PolicyConfig& policy) {
  nlohmann::json j = {
      {"model", spec_to_json(options.spec)}, {"policy", policy_config_to_json(policy)},
      {"tokens", source.tokens()},           {"steps", options.steps},
      {"devices", options.devices},          {"placement", options.placement},
      {"backend", options.backend},          {"seed", options.seed},
      {"routing", source.describe()}};
  return j.dump();
}

RecordedRun record_run(SessionStore& store, const RunOptions& options, RoutingSource& source,
                       const ProgressFn& progress, const CancelFlag* cancel,
                       std::optional<std::int64_t> group, std::optional<std::int64_t> baseline_id) {
  // Bad options are refused before anything is stored: only a run that started can fail.
  check_run_options(options, source);
  // Started once: a GPU backend can fail here (no GPU), before any run is stored.
  const auto backend = make_backend(options.backend);
  std::vector<PolicyConfig> planned = {PolicyConfig{}};
  for (const auto& p : options.policies) {
    if (p.kind != PolicyKind::kNone) planned.push_back(p);
  }
  RecordedRun out;
  for (std::size_t i = 0; i < planned.size(); ++i) {
    if (i == 0 && baseline_id) {
      out.run_ids.push_back(*baseline_id);
      continue;
    }
    RunHeader h;
    h.name = options.spec.name + " " + policy_label(planned[i]);
    h.model = options.spec.name;
    h.policy = planned[i];
    h.devices = options.devices;
    h.tokens = source.tokens();
    h.steps = options.steps;
    h.backend = backend->name();
    h.timing = std::string(profiler::timing_name(backend->timing()));
    h.collector = backend->collector();
    h.group = group;
    if (i > 0) h.baseline_run = out.run_ids.front();
    h.spec_json = run_request_json(options, source, planned[i]);
    out.run_ids.push_back(store.begin_run(h));
  }
  auto mark_all = [&](const std::string& status) {
    for (std::size_t i = baseline_id ? 1 : 0; i < out.run_ids.size(); ++i) {
      store.set_status(out.run_ids[i], status);
    }
  };
  try {
    out.result = run_model(options, source, *backend, progress, cancel);
  } catch (const Cancelled&) {
    throw;  // the runs stay `incomplete`
  } catch (...) {
    mark_all("failed");
    throw;
  }
  for (std::size_t i = baseline_id ? 1 : 0; i < out.run_ids.size(); ++i) {
    store.finish_run(out.run_ids[i], out.result, i);
  }
  return out;
}

}  // namespace moescope
