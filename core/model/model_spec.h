// The shape of an MoE model: what a run needs to know to route tokens and size the experts.
#pragma once

#include <string>
#include <vector>

#include "core/model/expert_mlp.h"
#include "core/model/router_config.h"

namespace moescope {

struct ModelSpec {
  std::string name;
  int layers = 0;                    // MoE layers
  int hidden = 0;                    // H
  int expert_ffn = 0;                // F of one routed expert
  int experts = 0;                   // E routed experts
  int top_k = 0;                     // k
  int shared_experts = 0;            // always-on experts, never dropped
  int shared_ffn = 0;                // F of one shared expert
  bool shared_gate_sigmoid = false;  // Qwen-MoE: the shared output is scaled by sigmoid(g . x)
  RouterConfig router;               // how logits become experts and weights
  ExpertMlp mlp;                     // what a routed expert computes (gpt-oss: clamped, biases)
  std::vector<int> layer_subset;     // MoE layer indices to run; empty means all

  // The layer indices a run visits, in order.
  std::vector<int> run_layers() const;

  bool operator==(const ModelSpec&) const = default;
};

// Throws Error naming the first field with an impossible value.
void validate(const ModelSpec& spec);

// Divides H and the expert FFN sizes by `scale` (at least 1 each), so that a large model's
// routing and load behaviour can be studied on a CPU. Routing does not depend on H or F.
ModelSpec scaled(const ModelSpec& spec, int scale);

}  // namespace moescope
