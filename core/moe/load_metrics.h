// The load metrics of one layer: what a policy did to the experts' and devices' loads.
#pragma once

#include <cstdint>
#include <vector>

#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope {

struct LoadMetrics {
  std::vector<std::int64_t> routed_load;         // [E] top-k pairs per expert
  std::vector<std::int64_t> kept_load;           // [E] kept pairs per expert
  std::vector<std::int64_t> dropped_load;        // [E] top-k pairs of the expert that were not kept
  std::vector<std::int64_t> added_load;          // [E] kept pairs outside the token's top-k
  std::vector<std::int64_t> routed_device_load;  // [D]
  std::vector<std::int64_t> kept_device_load;    // [D]
  double imbalance_routed = 0;                   // max_e n[e] / mean_e n[e]
  double imbalance_kept = 0;
  double balancedness_routed = 0;  // mean_d N[d] / max_d N[d]
  double balancedness_kept = 0;
  double drop_rate = 0;  // dropped top-k pairs / (T * k)
  // sum over tokens of max(0, k - kept pairs of the token) / (T * k): the top-k work tokens did
  // not get back (under reroute, this and not the drop rate is what the policy loses)
  double lost_pairs = 0;
  double tokens_fully_dropped = 0;  // fraction of tokens with no kept pair
  std::int64_t added_pairs = 0;     // rerouted or expanded pairs
  double gate_mass_kept = 0;        // sum of kept router weights / sum of top-k router weights
};

LoadMetrics compute_load_metrics(const RouterOutput& router, const PolicyOutcome& outcome,
                                 const Placement& placement);

// max / mean of a load vector (0 when every entry is 0).
double imbalance(const std::vector<std::int64_t>& load);
// mean / max of a load vector (1 when every entry is 0: nothing is unbalanced).
double balancedness(const std::vector<std::int64_t>& load);

}  // namespace moescope
