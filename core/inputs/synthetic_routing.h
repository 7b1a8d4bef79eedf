// Synthetic routing: seeded hidden states and router logits with a tunable expert-popularity
// skew, so that a model's load behaviour can be studied without its weights.
#pragma once

#include <cstdint>
#include <memory>

#include "core/inputs/routing_source.h"
#include "core/model/model_spec.h"

namespace moescope {

struct SyntheticRoutingConfig {
  int tokens = 0;
  std::uint64_t seed = 0;
  // Strength of the per-layer expert-popularity bias: 0 routes uniformly at random, larger
  // values make a few experts hot. README.md tabulates skew against max/mean load; 0.5 to 0.75
  // reproduces the drop rates the paper measured on OLMoE at gamma 1 (28 to 40%).
  double skew = 0.6;
  // Routing that shifts over time: at step s the popularity bias of expert e is the one of
  // expert (e - floor(s * drift)) mod E, so the hot experts move `drift` experts per step.
  double drift = 0.0;
};

// Throws Error for no tokens, a skew outside 0..1e6 or a drift outside 0..1e6.
std::unique_ptr<RoutingSource> make_synthetic_routing(const ModelSpec& spec,
                                                      const SyntheticRoutingConfig& config);

}  // namespace moescope
