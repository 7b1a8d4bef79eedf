// The per-token and per-pair arithmetic of routing and capacity, written once for both
// backends: plain inline functions that nvcc compiles for the device as well. The CPU tests
// therefore exercise the same code the GPU runs. Semantics: shared/ALGORITHMS.md.
#pragma once

#include <math.h>

#include <cstdint>

#include "core/base/hash.h"
#include "core/base/host_device.h"

namespace moescope::routing {

// Balanced contiguous blocks: expert e lives on device (e * D) / E.
MOESCOPE_HD inline int balanced_device_of_expert(int expert, int devices, int experts) {
  return static_cast<int>(static_cast<std::int64_t>(expert) * devices / experts);
}

// Tokens are split the same way: token t comes from device (t * D) / T.
MOESCOPE_HD inline int source_of_token(std::int64_t token, int devices, std::int64_t tokens) {
  return static_cast<int>(token * devices / tokens);
}

// C = ceil(gamma * T * k / E), in double precision, evaluated left to right, rounded up with a
// relative tolerance of 1e-9: a gamma that is not exact in binary (1.1) gives the decimal
// answer (gamma 1.1, T 200, k 6, E 8: 165, not 166). A huge gamma is capped at 2^53 before the
// conversion (any C >= T keeps every pair anyway), because converting a double beyond int64 is
// undefined.
MOESCOPE_HD inline std::int64_t capacity(double gamma, std::int64_t tokens, int top_k,
                                         int experts) {
  const double exact = gamma * static_cast<double>(tokens) * static_cast<double>(top_k) / experts;
  const double nearest = floor(exact + 0.5);
  const double tolerance = 1e-9 * (exact > 1.0 ? exact : 1.0);
  const double c = fabs(exact - nearest) <= tolerance ? nearest : ceil(exact);
  constexpr double kMaxExact = 9007199254740992.0;  // 2^53
  return static_cast<std::int64_t>(c < kMaxExact ? c : kMaxExact);
}

// Numerically stable softmax of one token's logits over all E experts, in fp32.
MOESCOPE_HD inline void softmax_row(const float* logits, int experts, float* probs) {
  float max_logit = logits[0];
  for (int e = 1; e < experts; ++e)
    max_logit = logits[e] > max_logit ? logits[e] : max_logit;
  float sum = 0.0f;
  for (int e = 0; e < experts; ++e) {
    probs[e] = expf(logits[e] - max_logit);
    sum += probs[e];
  }
  const float inv = 1.0f / sum;
  for (int e = 0; e < experts; ++e)
    probs[e] *= inv;
}

// The sigmoid scoring of DeepSeek-V3 and Kimi-K2, in fp32.
MOESCOPE_HD inline float sigmoid(float logit) {
  return 1.0f / (1.0f + expf(-logit));
}

// A group's score from the selection scores q of its experts: the largest, or (top2_sum) the
// sum of the two largest.
MOESCOPE_HD inline float group_score(const float* q, int group_size, bool top2_sum) {
  float first = -INFINITY;
  float second = -INFINITY;
  for (int i = 0; i < group_size; ++i) {
    if (q[i] > first) {
      second = first;
      first = q[i];
    } else if (q[i] > second) {
      second = q[i];
    }
  }
  return top2_sum ? first + second : first;
}

// Is group g among the `topk_groups` best of `groups` scores? Higher score first, ties to the
// lower group index, so no order of evaluation can change the answer.
MOESCOPE_HD inline bool group_is_eligible(const float* scores, int groups, int topk_groups, int g) {
  int ahead = 0;
  for (int h = 0; h < groups; ++h) {
    if (scores[h] > scores[g] || (scores[h] == scores[g] && h < g)) ++ahead;
  }
  return ahead < topk_groups;
}

// Does expert a (probability pa) rank before expert b for the same token? Higher
// probability first, ties to the lower expert index.
MOESCOPE_HD inline bool expert_outranks(float pa, int a, float pb, int b) {
  return pa > pb || (pa == pb && a < b);
}

// Does pair (token ta, score pa) rank before (tb, pb) for the same expert? Higher score
// first, ties to the lower token.
MOESCOPE_HD inline bool score_outranks(float pa, std::int64_t ta, float pb, std::int64_t tb) {
  return pa > pb || (pa == pb && ta < tb);
}

// Does pair (ta, ea) with score pa rank before (tb, eb) with pb in one capacity group? Higher
// score first, then the lower token, then (device scope, where a token can have two pairs in
// one group) the lower expert.
MOESCOPE_HD inline bool pair_outranks(float pa, std::int64_t ta, int ea, float pb, std::int64_t tb,
                                      int eb) {
  return pa > pb || (pa == pb && (ta < tb || (ta == tb && ea < eb)));
}

// The k best experts of one token by probability, written in slot order (descending
// probability, ties to the lower index). Scans the experts in ascending order, so an expert
// displaces a held one only when strictly more probable.
MOESCOPE_HD inline void top_k_row(const float* probs, int experts, int top_k, int* out_experts,
                                  float* out_probs) {
  int held = 0;
  for (int e = 0; e < experts; ++e) {
    const float p = probs[e];
    if (held == top_k && !(p > out_probs[top_k - 1])) continue;
    int slot = held < top_k ? held++ : top_k - 1;
    while (slot > 0 && p > out_probs[slot - 1]) {
      out_probs[slot] = out_probs[slot - 1];
      out_experts[slot] = out_experts[slot - 1];
      --slot;
    }
    out_probs[slot] = p;
    out_experts[slot] = e;
  }
}

// The weight of pair (t, e) as the router defines it: p, divided by the token's top-k sum
// when the model normalizes its top-k probabilities, times the routed scaling factor.
MOESCOPE_HD inline float router_weight(float prob, float topk_sum, bool norm_topk_prob,
                                       float routed_scaling_factor) {
  return (norm_topk_prob ? prob / topk_sum : prob) * routed_scaling_factor;
}

// The pseudo-random priority of pair (t, e) under seed: higher is kept first.
MOESCOPE_HD inline std::uint64_t random_priority(std::uint64_t seed, std::int64_t token,
                                                 int expert) {
  return mix64(mix64(seed ^ mix64(static_cast<std::uint64_t>(token))) +
               static_cast<std::uint64_t>(expert));
}

}  // namespace moescope::routing
