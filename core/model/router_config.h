// How a model's router turns logits into experts and weights (shared/ALGORITHMS.md, Router):
// the scoring function, DeepSeek's expert groups, and the weight rules of each architecture.
#pragma once

#include <string>

namespace moescope {

enum class RouterScoring {
  kSoftmax,  // p = softmax over all experts (Mixtral, Qwen, DeepSeek-V2, gpt-oss)
  kSigmoid,  // p = sigmoid of each logit (DeepSeek-V3, Kimi-K2)
};

enum class GroupScore {
  kMax,      // a group's largest selection score (DeepSeek-V2 group_limited_greedy)
  kTop2Sum,  // the sum of its two largest (DeepSeek-V3 noaux_tc)
};

struct RouterConfig {
  RouterScoring scoring = RouterScoring::kSoftmax;
  int groups = 1;       // n_group: contiguous groups of experts
  int topk_groups = 1;  // topk_group: the groups that stay eligible for a token
  GroupScore group_score = GroupScore::kMax;
  bool norm_topk_prob = false;      // divide the top-k weights of a token by their sum
  bool softmax_after_topk = false;  // gpt-oss: softmax of the selected logits (= norm over softmax)
  double routed_scaling_factor = 1.0;  // multiplies every weight (DeepSeek-V2 16, V3 2.5), in fp32

  // Whether a pair's weight is divided by the token's top-k sum.
  bool normalizes() const { return norm_topk_prob || softmax_after_topk; }
  bool uses_groups() const { return groups > 1; }
};

// Spelled out rather than defaulted: CUDA sources include this header and compile as C++17.
// Without groups, topk_group and group_score change nothing, and are not compared.
inline bool operator==(const RouterConfig& a, const RouterConfig& b) {
  const bool same_groups =
      a.groups == b.groups &&
      (a.groups <= 1 || (a.topk_groups == b.topk_groups && a.group_score == b.group_score));
  return a.scoring == b.scoring && same_groups && a.norm_topk_prob == b.norm_topk_prob &&
         a.softmax_after_topk == b.softmax_after_topk &&
         a.routed_scaling_factor == b.routed_scaling_factor;
}
inline bool operator!=(const RouterConfig& a, const RouterConfig& b) {
  return !(a == b);
}

// Throws Error naming the first field that cannot work with E experts and top-k: groups must
// divide E, 1 <= topk_group <= groups, the eligible groups must hold at least k experts,
// top2_sum needs two experts per group, softmax_after_topk needs softmax scoring and the
// scaling factor must be finite and positive.
void validate(const RouterConfig& router, int experts, int top_k);

std::string scoring_name(RouterScoring scoring);
RouterScoring parse_scoring(const std::string& name);
std::string group_score_name(GroupScore score);
GroupScore parse_group_score(const std::string& name);

// One line for tables and reports: "softmax, normalized", "sigmoid, 8 groups top-4 (top2_sum),
// normalized, x2.5".
std::string describe(const RouterConfig& router);

}  // namespace moescope
