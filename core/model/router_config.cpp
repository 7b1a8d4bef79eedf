#include "core/model/router_config.h"

#include <cmath>
#include <sstream>

#include "core/base/error.h"
#include "core/base/named_values.h"

namespace moescope {

namespace {

constexpr NamedValue<RouterScoring> kScorings[] = {{"softmax", RouterScoring::kSoftmax},
                                                   {"sigmoid", RouterScoring::kSigmoid}};
constexpr NamedValue<GroupScore> kGroupScores[] = {{"max", GroupScore::kMax},
                                                   {"top2_sum", GroupScore::kTop2Sum}};

std::string n(int value) {
  return std::to_string(value);
}

}  // namespace

void validate(const RouterConfig& router, int experts, int top_k) {
  if (router.groups < 1 || experts % router.groups != 0) {
    throw Error("router: 'n_group' (" + n(router.groups) + ") must be a positive divisor of the " +
                n(experts) + " experts");
  }
  if (router.topk_groups < 1 || router.topk_groups > router.groups) {
    throw Error("router: 'topk_group' (" + n(router.topk_groups) + ") must be between 1 and " +
                "'n_group' (" + n(router.groups) + ")");
  }
  const int group_size = experts / router.groups;
  if (static_cast<long long>(router.topk_groups) * group_size < top_k) {
    throw Error("router: the " + n(router.topk_groups) + " eligible groups of " + n(group_size) +
                " experts hold fewer than top_k (" + n(top_k) + ") experts");
  }
  if (router.uses_groups() && router.group_score == GroupScore::kTop2Sum && group_size < 2) {
    throw Error("router: 'group_score' top2_sum needs at least 2 experts per group, got " +
                n(group_size));
  }
  if (router.softmax_after_topk && router.scoring != RouterScoring::kSoftmax) {
    throw Error("router: 'softmax_after_topk' needs softmax scoring");
  }
  const auto scale = static_cast<float>(router.routed_scaling_factor);  // as the weights use it
  if (!std::isfinite(scale) || !(scale > 0.0f)) {
    throw Error("router: 'routed_scaling_factor' must be a finite number > 0 (in fp32)");
  }
}

std::string scoring_name(RouterScoring scoring) {
  return name_of(scoring, kScorings);
}
RouterScoring parse_scoring(const std::string& name) {
  return parse_named(name, kScorings, "scoring function");
}
std::string group_score_name(GroupScore score) {
  return name_of(score, kGroupScores);
}
GroupScore parse_group_score(const std::string& name) {
  return parse_named(name, kGroupScores, "group score");
}

std::string describe(const RouterConfig& router) {
  std::ostringstream out;
  out << scoring_name(router.scoring);
  if (router.uses_groups()) {
    out << ", " << router.groups << " groups top-" << router.topk_groups << " ("
        << group_score_name(router.group_score) << ")";
  }
  if (router.softmax_after_topk) {
    out << ", softmax after top-k";
  } else if (router.norm_topk_prob) {
    out << ", normalized";
  }
  if (router.routed_scaling_factor != 1.0) out << ", x" << router.routed_scaling_factor;
  return out.str();
}

}  // namespace moescope
