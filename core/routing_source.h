// Where a layer's hidden states and router logits come from: a seeded synthetic generator or a
// replayed file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/model_spec.h"

namespace moescope {

struct LayerInput {
  int tokens = 0;
  std::vector<float> hidden_states;  // [T, H]
  std::vector<float> logits;         // [T, E]
};

class RoutingSource {
 public:
  virtual ~RoutingSource() = default;
  virtual int tokens() const = 0;
  // A one-line description for reports, e.g. "synthetic(seed=1, skew=1.5)".
  virtual std::string describe() const = 0;
  virtual LayerInput layer(int step, int layer) = 0;
};

struct SyntheticRoutingConfig {
  int tokens = 0;
  std::uint64_t seed = 0;
  // Strength of the per-layer expert-popularity bias: 0 routes uniformly at random, larger
  // values make a few experts hot. README.md tabulates skew against max/mean load; 0.5 to 0.75
  // reproduces the drop rates the paper measured on OLMoE at gamma 1 (28 to 40%).
  double skew = 0.6;
};

std::unique_ptr<RoutingSource> make_synthetic_routing(const ModelSpec& spec,
                                                      const SyntheticRoutingConfig& config);

// Replays `model.layers.{i}.router_logits` (and `model.layers.{i}.hidden_states` when present;
// seeded synthetic hidden states otherwise) from a safetensors file. Every step replays the
// same tensors. Checks every layer the spec runs before returning.
std::unique_ptr<RoutingSource> make_replay_routing(const ModelSpec& spec, const std::string& path,
                                                   std::uint64_t seed);

// The tensor names the replay source reads.
std::string logits_tensor_name(int layer);
std::string hidden_tensor_name(int layer);

// Seeded hidden states [T, H] with unit variance, shared by both sources.
std::vector<float> synthetic_hidden_states(int tokens, int hidden, std::uint64_t seed, int step,
                                           int layer);

}  // namespace moescope
