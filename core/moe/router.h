// The router: scores over all experts, the top k per token (by the selection score, within the
// eligible groups), and the router's pair weights. Semantics: shared/ALGORITHMS.md, Router.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/router_config.h"

namespace moescope {

struct RouterOutput {
  int tokens = 0;
  int experts = 0;
  int top_k = 0;
  bool norm_topk_prob = false;         // the router's normalizes()
  float routed_scaling_factor = 1.0f;  // multiplies every weight
  std::vector<float> probs;            // [T, E] the affinity p (softmax or sigmoid of the logits)
  std::vector<int> topk_experts;       // [T, k] in slot order
  std::vector<float> topk_sum;         // [T] S[t], the sum of p over the token's top k

  float prob(std::int64_t token, int expert) const {
    return probs[static_cast<std::size_t>(token) * static_cast<std::size_t>(experts) +
                 static_cast<std::size_t>(expert)];
  }
  int topk_expert(std::int64_t token, int slot) const {
    return topk_experts[static_cast<std::size_t>(token) * static_cast<std::size_t>(top_k) +
                        static_cast<std::size_t>(slot)];
  }
  // w(t, e) as the router defines it (before any policy renormalization).
  float weight(std::int64_t token, int expert) const;
};

// An output with its arrays sized for T tokens, E experts and top-k, to be filled.
RouterOutput empty_router_output(int tokens, int experts, int top_k, const RouterConfig& router);

// Throws Error unless 1 <= top_k <= E, T >= 1 and every logit (and bias value, when given) is
// finite, naming the layer, token and expert of the first that is not.
void check_router_input(const float* logits, int tokens, int experts, int top_k, int layer,
                        const float* selection_bias = nullptr);

// Routes T tokens over E experts. `selection_bias` ([E], or null for none) is the layer's
// e_score_correction_bias: it chooses experts and nothing else. `layer` only names the place of
// bad input: NaN or infinite values throw Error before anything is computed.
RouterOutput route(const float* logits, int tokens, int experts, int top_k,
                   const RouterConfig& router, const float* selection_bias, int layer = 0);

// The routing a serving engine recorded as chosen experts only ([T, k] ids, a load dump): every
// chosen pair has p = 1/k (the scores are unknown), every other 0, and no normalization.
// Throws Error naming the layer and token of an id outside [0, E) or chosen twice.
RouterOutput route_from_ids(const int* ids, int tokens, int experts, int top_k, int layer = 0);

// The softmax router of Mixtral, OLMoE and Qwen: no bias, no groups, no scaling.
RouterOutput route(const float* logits, int tokens, int experts, int top_k, bool norm_topk_prob,
                   int layer = 0);

}  // namespace moescope
