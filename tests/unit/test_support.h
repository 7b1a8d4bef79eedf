// Helpers shared by the core tests.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/moe/router.h"
#include "core/run/run_rows.h"

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

// The message of the Error `f` throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

// Rows with every time zeroed (and what times decide: the straggler; and how often it was timed),
// so that two runs of the same routing compare equal: everything else must agree bit for bit.
std::vector<LayerStatRow> without_times(std::vector<LayerStatRow> rows);
std::vector<ExpertLoadRow> without_times(std::vector<ExpertLoadRow> rows);

}  // namespace moescope::test

namespace moescope {
// How GoogleTest prints rows when an expectation fails: every field, by name.
void PrintTo(const LayerStatRow& row, std::ostream* out);
void PrintTo(const ExpertLoadRow& row, std::ostream* out);
}  // namespace moescope
