#include "core/moe/router.h"

#include <cmath>
#include <string>

#include "core/base/error.h"
#include "core/moe/routing_math.h"

namespace moescope {

float RouterOutput::weight(std::int64_t token, int expert) const {
  return routing::router_weight(prob(token, expert), topk_sum[static_cast<std::size_t>(token)],
                                norm_topk_prob, routed_scaling_factor);
}

RouterOutput empty_router_output(int tokens, int experts, int top_k, const RouterConfig& router) {
  RouterOutput out;
  out.tokens = tokens;
  out.experts = experts;
  out.top_k = top_k;
  out.norm_topk_prob = router.normalizes();
  out.routed_scaling_factor = static_cast<float>(router.routed_scaling_factor);
  const auto T = static_cast<std::size_t>(tokens);
  out.probs.resize(T * static_cast<std::size_t>(experts));
  out.topk_experts.resize(T * static_cast<std::size_t>(top_k));
  out.topk_sum.resize(T);
  return out;
}

RouterOutput route_from_ids(const int* ids, int tokens, int experts, int top_k, int layer) {
  if (tokens <= 0) throw Error("routing needs at least one token, got " + std::to_string(tokens));
  if (experts <= 0 || top_k <= 0 || top_k > experts) {
    throw Error("routing needs 1 <= top_k <= experts, got top_k " + std::to_string(top_k) +
                " and " + std::to_string(experts) + " experts");
  }
  RouterOutput out = empty_router_output(tokens, experts, top_k, RouterConfig{});
  const auto E = static_cast<std::size_t>(experts);
  const auto k = static_cast<std::size_t>(top_k);
  const float share = 1.0f / static_cast<float>(top_k);
  for (std::size_t t = 0; t < static_cast<std::size_t>(tokens); ++t) {
    float* p = &out.probs[t * E];
    for (std::size_t j = 0; j < k; ++j) {
      const int e = ids[t * k + j];
      const auto where = [&] {
        return "layer " + std::to_string(layer) + ", token " + std::to_string(t) + ": expert id " +
               std::to_string(e);
      };
      if (e < 0 || static_cast<std::size_t>(e) >= E) {
        throw Error(where() + " is outside 0.." + std::to_string(experts - 1));
      }
      if (p[static_cast<std::size_t>(e)] != 0.0f) throw Error(where() + " is chosen twice");
      p[static_cast<std::size_t>(e)] = share;
      out.topk_experts[t * k + j] = e;
    }
    out.topk_sum[t] = share * static_cast<float>(top_k);
  }
  return out;
}

namespace {

const char* not_finite(float v) {
  return std::isnan(v) ? "NaN" : "infinite";
}

}  // namespace

void check_router_input(const float* logits, int tokens, int experts, int top_k, int layer,
                        const float* selection_bias) {
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
                    not_finite(logits[t * E + e]));
      }
    }
  }
  if (selection_bias == nullptr) return;
  for (std::size_t e = 0; e < E; ++e) {
    if (!std::isfinite(selection_bias[e])) {
      throw Error("the selection bias of layer " + std::to_string(layer) + ", expert " +
                  std::to_string(e) + " is " + not_finite(selection_bias[e]));
    }
  }
}

RouterOutput route(const float* logits, int tokens, int experts, int top_k,
                   const RouterConfig& router, const float* selection_bias, int layer) {
  check_router_input(logits, tokens, experts, top_k, layer, selection_bias);
  validate(router, experts, top_k);
  const auto T = static_cast<std::size_t>(tokens);
  const auto E = static_cast<std::size_t>(experts);
  const auto k = static_cast<std::size_t>(top_k);
  const int group_size = experts / router.groups;
  const bool top2_sum = router.group_score == GroupScore::kTop2Sum;
  RouterOutput out = empty_router_output(tokens, experts, top_k, router);
  std::vector<float> selection(E);
  std::vector<float> group_scores(static_cast<std::size_t>(router.groups));
  std::vector<float> topk_selection(k);
  for (std::size_t t = 0; t < T; ++t) {
    const float* z = &logits[t * E];
    float* p = &out.probs[t * E];
    if (router.scoring == RouterScoring::kSigmoid) {
      for (std::size_t e = 0; e < E; ++e)
        p[e] = routing::sigmoid(z[e]);
    } else {
      routing::softmax_row(z, experts, p);
    }
    for (std::size_t e = 0; e < E; ++e)
      selection[e] = selection_bias != nullptr ? p[e] + selection_bias[e] : p[e];
    if (router.uses_groups()) {
      for (int g = 0; g < router.groups; ++g) {
        group_scores[static_cast<std::size_t>(g)] = routing::group_score(
            &selection[static_cast<std::size_t>(g * group_size)], group_size, top2_sum);
      }
      for (int g = 0; g < router.groups; ++g) {
        if (routing::group_is_eligible(group_scores.data(), router.groups, router.topk_groups, g))
          continue;
        for (int i = 0; i < group_size; ++i)
          selection[static_cast<std::size_t>(g * group_size + i)] = -INFINITY;
      }
    }
    int* chosen = &out.topk_experts[t * k];
    routing::top_k_row(selection.data(), experts, top_k, chosen, topk_selection.data());
    float sum = 0.0f;
    for (std::size_t j = 0; j < k; ++j)
      sum += p[chosen[j]];
    out.topk_sum[t] = sum;
  }
  return out;
}

RouterOutput route(const float* logits, int tokens, int experts, int top_k, bool norm_topk_prob,
                   int layer) {
  RouterConfig router;
  router.norm_topk_prob = norm_topk_prob;
  return route(logits, tokens, experts, top_k, router, nullptr, layer);
}

}  // namespace moescope
