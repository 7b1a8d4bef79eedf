// Where a layer's hidden states and router logits come from: a seeded synthetic generator or a
// replayed file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/model/model_spec.h"

namespace moescope {

struct LayerInput {
  int tokens = 0;
  std::vector<float> hidden_states;   // [T, H]
  std::vector<float> logits;          // [T, E]
  std::vector<float> selection_bias;  // [E], the layer's e_score_correction_bias; empty: none
  // [T, k] the experts a serving engine chose, for sources without logits (a load dump): then
  // `logits` is empty and every pair weighs 1/k.
  std::vector<int> topk_ids;

  const float* bias_or_null() const {
    return selection_bias.empty() ? nullptr : selection_bias.data();
  }
};

class RoutingSource {
 public:
  virtual ~RoutingSource() = default;
  virtual int tokens() const = 0;
  // A one-line description for reports, e.g. "synthetic(seed=1, skew=1.5)".
  virtual std::string describe() const = 0;
  virtual LayerInput layer(int step, int layer) = 0;
  // False for a source of chosen experts only (no router scores): the policies that rank or
  // reroute by score cannot run on it.
  virtual bool has_scores() const { return true; }
};

// Seeded hidden states [T, H] with unit variance, shared by both sources.
std::vector<float> synthetic_hidden_states(int tokens, int hidden, std::uint64_t seed, int step,
                                           int layer);

}  // namespace moescope
