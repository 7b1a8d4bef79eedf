// Helpers shared by the core tests.
#pragma once

#include <cstdint>
#include <vector>

#include "core/moe/router.h"

namespace moescope::test {

// A router output from explicit probabilities [T, E] (top-k computed by the shared code).
RouterOutput router_from_probs(int tokens, int experts, int top_k, std::vector<float> probs,
                               bool norm_topk_prob = false);

// Probabilities where token t's top-1 expert is top[t] with probability score[t] and the rest of
// the mass is spread evenly over the other experts.
std::vector<float> top1_probs(const std::vector<int>& top, const std::vector<float>& score,
                              int experts);

// Random logits [T, E], standard normal plus a per-expert bias of the given strength.
std::vector<float> random_logits(int tokens, int experts, double skew, std::uint64_t seed);

}  // namespace moescope::test
