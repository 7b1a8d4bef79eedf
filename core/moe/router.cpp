#include "core/moe/router.h"

#include <cmath>
#include <string>

#include "core/base/error.h"
#include "core/moe/routing_math.h"

namespace moescope {

float RouterOutput::weight(std::int64_t token, int expert) const {
  return routing::router_weight(prob(token, expert), topk_sum[static_cast<std::size_t>(token)],
                                norm_topk_prob);
}

RouterOutput empty_router_output(int tokens, int experts, int top_k, bool norm_topk_prob) {
  RouterOutput out;
  out.tokens = tokens;
  out.experts = experts;
  out.top_k = top_k;
  out.norm_topk_prob = norm_topk_prob;
  const auto T = static_cast<std::size_t>(tokens);
  out.probs.resize(T * static_cast<std::size_t>(experts));
  out.topk_experts.resize(T * static_cast<std::size_t>(top_k));
  out.topk_sum.resize(T);
  return out;
}

void check_router_input(const float* logits, int tokens, int experts, int top_k, int layer) {
  if (tokens <= 0) throw Error("routing needs at least one token, got " + std::to_string(tokens));
  if (experts <= 0 || top_k <= 0 || top_k > experts) {
    throw Error("routing needs 1 <= top_k <= experts, got top_k " + std::to_string(top_k) +
                " and " + std::to_string(experts) + " experts");
  }
  const auto T = static_cast<std::size_t>(tokens);
  const auto E = static_cast<std::size_t>(experts);
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t e = 0; e < E; ++e) {
      if (!std::isfinite(logits[t * E + e])) {
        throw Error("router logits of layer " + std::to_string(layer) + ", token " +
                    std::to_string(t) + ", expert " + std::to_string(e) + " are " +
                    (std::isnan(logits[t * E + e]) ? "NaN" : "infinite"));
      }
    }
  }
}

RouterOutput route(const float* logits, int tokens, int experts, int top_k, bool norm_topk_prob,
                   int layer) {
  check_router_input(logits, tokens, experts, top_k, layer);
  const auto T = static_cast<std::size_t>(tokens);
  const auto E = static_cast<std::size_t>(experts);
  const auto k = static_cast<std::size_t>(top_k);
  RouterOutput out = empty_router_output(tokens, experts, top_k, norm_topk_prob);
  std::vector<float> topk_probs(k);
  for (std::size_t t = 0; t < T; ++t) {
    float* p = &out.probs[t * E];
    routing::softmax_row(&logits[t * E], experts, p);
    routing::top_k_row(p, experts, top_k, &out.topk_experts[t * k], topk_probs.data());
    float sum = 0.0f;
    for (float v : topk_probs)
      sum += v;
    out.topk_sum[t] = sum;
  }
  return out;
}

}  // namespace moescope
