// The capacity-aware policies of shared/ALGORITHMS.md applied to routed tokens: which (token,
// expert) pairs each keeps, with what weight.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/moe/placement.h"
#include "core/moe/policy_config.h"
#include "core/moe/router.h"

namespace moescope {

struct KeptPair {
  std::int64_t token = 0;
  int expert = 0;
  float weight = 0.0f;  // the weight the combine uses (after `renormalize`, when on)
  bool in_topk = true;  // false for pairs that expanded or reroute added
};

struct PolicyOutcome {
  std::vector<KeptPair> kept;  // sorted by token, then expert
  // One value (global scope), C_s per source device (source scope) or C_d per destination
  // device (device scope); empty for `none` with an invalid gamma.
  std::vector<std::int64_t> capacity;
};

// The capacities a scope implies (shared/ALGORITHMS.md, Capacity): C for every expert under
// global scope, C_s for each source device under source scope, C_d = ceil(gamma * T * k / D)
// for each destination device under device scope. `gamma` must be valid.
std::vector<std::int64_t> scope_capacities(std::int64_t tokens, int top_k, int experts, int devices,
                                           double gamma, CapacityScope scope);

// Throws Error on a bad config (validate) or a placement of another number of experts.
void check_policy_input(const RouterOutput& router, const PolicyConfig& config,
                        const Placement& placement);

// Applies `config` to the routed tokens. The placement decides which experts are local to a
// token's device (expanded, reroute with local scope) and the source devices.
PolicyOutcome apply_policy(const RouterOutput& router, const PolicyConfig& config,
                           const Placement& placement);

}  // namespace moescope
