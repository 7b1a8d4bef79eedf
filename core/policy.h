// The capacity-aware policies of shared/ALGORITHMS.md: none, drop, expanded, reroute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/placement.h"
#include "core/router.h"

namespace moescope {

enum class PolicyKind { kNone, kDrop, kExpanded, kReroute };
enum class DropPriority { kScore, kPosition, kRandom };
enum class RerouteScope { kAny, kLocal };
enum class CapacityScope { kGlobal, kSource };

struct PolicyConfig {
  PolicyKind kind = PolicyKind::kNone;
  double gamma = 1.0;
  DropPriority priority = DropPriority::kScore;  // drop only
  std::uint64_t seed = 0;                        // random priority only
  int m = 0;                                     // expanded only
  RerouteScope reroute_scope = RerouteScope::kAny;
  CapacityScope capacity_scope = CapacityScope::kGlobal;
  bool renormalize = false;
};

// Names as the CLI and the JSON output spell them; the parsers throw Error listing the
// accepted names.
std::string policy_name(PolicyKind kind);
PolicyKind parse_policy(const std::string& name);
std::string priority_name(DropPriority priority);
DropPriority parse_priority(const std::string& name);
std::string reroute_scope_name(RerouteScope scope);
RerouteScope parse_reroute_scope(const std::string& name);
std::string capacity_scope_name(CapacityScope scope);
CapacityScope parse_capacity_scope(const std::string& name);

// A short label such as "drop(gamma=1.5)" or "expanded(gamma=1,m=2)".
std::string policy_label(const PolicyConfig& config);

// Throws Error when gamma is not finite and positive (for a policy that uses it) or m < 0.
void validate(const PolicyConfig& config);

struct KeptPair {
  std::int64_t token = 0;
  int expert = 0;
  float weight = 0.0f;  // the weight the combine uses (after `renormalize`, when on)
  bool in_topk = true;  // false for pairs that expanded or reroute added
};

struct PolicyOutcome {
  std::vector<KeptPair> kept;          // sorted by token, then expert
  std::vector<std::int64_t> capacity;  // one value (global scope) or one per source device
};

// The capacity of each competition group's source: one value under global scope, C_s for each
// source device under source scope (shared/ALGORITHMS.md, Capacity). `gamma` must be valid.
std::vector<std::int64_t> capacity_per_source(std::int64_t tokens, int top_k, int experts,
                                              int devices, double gamma, CapacityScope scope);

// Throws Error on a bad config (validate) or a placement of another number of experts.
void check_policy_input(const RouterOutput& router, const PolicyConfig& config,
                        const Placement& placement);

// Applies `config` to the routed tokens. The placement decides which experts are local to a
// token's device (expanded, reroute with local scope) and the source devices.
PolicyOutcome apply_policy(const RouterOutput& router, const PolicyConfig& config,
                           const Placement& placement);

}  // namespace moescope
