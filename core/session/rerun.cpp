#include "core/session/rerun.h"

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/run/experiment_json.h"
#include "core/run/run_json.h"

namespace moescope {

Experiment rerun_experiment(const StoredRun& run) {
  const std::string where = "run " + std::to_string(run.id);
  const auto request = nlohmann::json::parse(run.request_json, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    throw Error(where + " holds no request that can be run again");
  }
  Experiment experiment = experiment_from_json(request, where);
  PolicyConfig policy;
  if (!run.policy_json.empty()) {
    const auto stored = nlohmann::json::parse(run.policy_json, nullptr, false);
    policy = policy_config_from_json(stored, where);
  } else {
    // Sessions of schema 3 and older stored one request per run, with its one policy.
    const auto policies = grid_policies(experiment);
    if (!policies.empty()) policy = policies.front();
  }
  if (policy.kind != PolicyKind::kNone && policy_label(policy) != run.policy) {
    throw Error(where + ": its request describes " + policy_label(policy) + ", not " + run.policy);
  }
  return narrowed_to(std::move(experiment), policy, run.devices);
}

}  // namespace moescope
