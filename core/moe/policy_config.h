// A capacity policy's settings (shared/ALGORITHMS.md: none, drop, expanded, reroute), their
// names as the CLI and JSON spell them, and their validation.
#pragma once

#include <cstdint>
#include <string>

namespace moescope {

enum class PolicyKind { kNone, kDrop, kExpanded, kReroute };
enum class DropPriority { kScore, kPosition, kRandom };
enum class RerouteScope { kAny, kLocal };
// Which pairs share one capacity (shared/ALGORITHMS.md, Capacity): all pairs of an expert
// (global), those of an expert from one source device (source), or all pairs whose expert is on
// one destination device (device).
enum class CapacityScope { kGlobal, kSource, kDevice };

struct PolicyConfig {
  PolicyKind kind = PolicyKind::kNone;
  double gamma = 1.0;
  DropPriority priority = DropPriority::kScore;  // drop only
  std::uint64_t seed = 0;                        // random priority only
  int m = 0;                                     // expanded only
  RerouteScope reroute_scope = RerouteScope::kAny;
  CapacityScope capacity_scope = CapacityScope::kGlobal;
  bool renormalize = false;
  // The kept pairs go to replicas of their experts (the run's replica plan) instead of to the
  // one copy of each: `replicate` for `none`, "+replicas" after the others' labels.
  bool replicated = false;
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

}  // namespace moescope
