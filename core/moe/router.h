// The router: softmax over all experts, top-k per token, and the router's pair weights.
#pragma once

#include <cstdint>
#include <vector>

namespace moescope {

struct RouterOutput {
  int tokens = 0;
  int experts = 0;
  int top_k = 0;
  bool norm_topk_prob = false;
  std::vector<float> probs;       // [T, E] softmax of the logits
  std::vector<int> topk_experts;  // [T, k] in slot order
  std::vector<float> topk_sum;    // [T] S[t], the sum of the token's top-k probabilities

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
RouterOutput empty_router_output(int tokens, int experts, int top_k, bool norm_topk_prob);

// Throws Error unless 1 <= top_k <= E, T >= 1 and every logit is finite (naming the layer,
// token and expert of the first that is not).
void check_router_input(const float* logits, int tokens, int experts, int top_k, int layer);

// Routes T tokens over E experts. `layer` only names the place of bad input: NaN or infinite
// logits throw Error naming the layer and the token, before anything is computed.
RouterOutput route(const float* logits, int tokens, int experts, int top_k, bool norm_topk_prob,
                   int layer = 0);

}  // namespace moescope
