#include "core/moe/dispatch_plan.h"

namespace moescope {

DispatchPlan make_dispatch_plan(const PolicyOutcome& outcome, int experts, std::int64_t tokens) {
  DispatchPlan plan;
  plan.experts = experts;
  plan.tokens = tokens;
  plan.offsets.assign(static_cast<std::size_t>(experts) + 1, 0);
  for (const auto& p : outcome.kept)
    ++plan.offsets[static_cast<std::size_t>(p.expert) + 1];
  for (std::size_t e = 0; e < static_cast<std::size_t>(experts); ++e) {
    plan.offsets[e + 1] += plan.offsets[e];
  }
  std::vector<std::int64_t> fill(plan.offsets.begin(), plan.offsets.end() - 1);
  plan.row_token.resize(outcome.kept.size());
  plan.pair_row.resize(outcome.kept.size());
  for (std::size_t i = 0; i < outcome.kept.size(); ++i) {
    const auto row = fill[static_cast<std::size_t>(outcome.kept[i].expert)]++;
    plan.row_token[static_cast<std::size_t>(row)] = outcome.kept[i].token;
    plan.pair_row[i] = row;
  }
  return plan;
}

}  // namespace moescope
