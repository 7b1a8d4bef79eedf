// The dispatch plan of one layer: for every expert, the rows (tokens) it computes, in token
// order, so that results are deterministic and each expert's rows are contiguous. With
// replicated experts the plan's groups are physical slots, each computing with the weights of
// its logical expert (`group_expert`).
#pragma once

#include <cstdint>
#include <vector>

#include "core/moe/policy.h"

namespace moescope {

struct DispatchPlan {
  int experts = 0;  // groups of rows: experts, or physical slots when replicated
  std::int64_t tokens = 0;
  std::vector<std::int64_t> offsets;    // [E + 1]: expert e owns rows offsets[e]..offsets[e+1]-1
  std::vector<std::int64_t> row_token;  // [P] the token of each permuted row
  std::vector<std::int64_t> pair_row;   // [P] for kept pair i (outcome order), its row
  std::vector<int> group_expert;        // [groups] the weights each group uses; empty: its own

  std::int64_t rows_of(int e) const {
    return offsets[static_cast<std::size_t>(e) + 1] - offsets[static_cast<std::size_t>(e)];
  }
  // The expert whose weights group g computes with.
  int weights_of(int g) const {
    return group_expert.empty() ? g : group_expert[static_cast<std::size_t>(g)];
  }
};

// A stable counting sort of the kept pairs by expert.
DispatchPlan make_dispatch_plan(const PolicyOutcome& outcome, int experts, std::int64_t tokens);

}  // namespace moescope
