// The GPU's policy pipeline, run on the host with thrust::host, against core's apply_policy:
// the same kept pairs, weights and capacities for every policy, priority, scope and shape.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"
#include "kernels/device_policy.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/unit/test_support.h"

namespace moescope::kernels {
namespace {

TEST(PolicyPipelineOnHost, KeepsExactlyWhatCoreKeeps) {
  struct Shape {
    int tokens, experts, top_k, devices;
    double skew;
  };
  const Shape shapes[] = {{1, 8, 2, 2, 0.0},    {7, 8, 1, 4, 2.0},     {64, 60, 4, 6, 1.0},
                          {257, 64, 6, 8, 1.5}, {1000, 64, 8, 8, 0.6}, {300, 256, 8, 16, 1.0}};
  for (const Shape& s : shapes) {
    const auto logits = test::random_logits(s.tokens, s.experts, s.skew, 5);
    for (bool norm : {false, true}) {
      const RouterOutput router = route(logits.data(), s.tokens, s.experts, s.top_k, norm);
      const Placement placement = balanced_placement(s.experts, s.devices);
      for (const PolicyConfig& c : test::all_policy_configs()) {
        const std::string where =
            "T=" + std::to_string(s.tokens) + " E=" + std::to_string(s.experts) +
            " k=" + std::to_string(s.top_k) + " " + policy_label(c) + (norm ? " norm" : "");
        test::expect_same_outcome(apply_policy_pipeline_on_host(router, c, placement),
                                  apply_policy(router, c, placement), where);
      }
    }
  }
}

TEST(PolicyPipelineOnHost, KeepsWhatCoreKeepsWithTiesAndAnUnbalancedPlacement) {
  // Equal scores everywhere: every choice comes down to the tie rules (device scope: token, then
  // expert). The placement puts three experts on device 0 and one on device 1.
  const int tokens = 9, experts = 4, top_k = 2;
  const std::vector<float> probs(static_cast<std::size_t>(tokens * experts), 0.25f);
  const RouterOutput router = test::router_from_probs(tokens, experts, top_k, probs);
  const Placement placement = explicit_placement({0, 0, 0, 1}, 2);
  for (const PolicyConfig& c : test::all_policy_configs()) {
    test::expect_same_outcome(apply_policy_pipeline_on_host(router, c, placement),
                              apply_policy(router, c, placement), policy_label(c));
  }
}

TEST(PolicyPipelineOnHost, FollowsTheWorkedExample) {
  // shared/ALGORITHMS.md: T = 8, E = 4, k = 1, gamma = 1.
  const RouterOutput r = test::router_from_probs(
      8, 4, 1,
      test::top1_probs({0, 0, 0, 0, 1, 2, 0, 3}, {.9f, .5f, .7f, .6f, .8f, .9f, .95f, .4f}, 4));
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  const PolicyOutcome o = apply_policy_pipeline_on_host(r, drop, balanced_placement(4, 1));
  std::vector<std::int64_t> expert0;
  for (const auto& p : o.kept) {
    if (p.expert == 0) expert0.push_back(p.token);
  }
  EXPECT_EQ(expert0, (std::vector<std::int64_t>{0, 6}));
  EXPECT_EQ(o.kept.size(), 5u);
  drop.priority = DropPriority::kPosition;
  expert0.clear();
  for (const auto& p : apply_policy_pipeline_on_host(r, drop, balanced_placement(4, 1)).kept) {
    if (p.expert == 0) expert0.push_back(p.token);
  }
  EXPECT_EQ(expert0, (std::vector<std::int64_t>{0, 1}));
}

TEST(PolicyPipelineOnHost, AnExplicitPlacementToo) {
  const auto logits = test::random_logits(200, 16, 1.0, 3);
  const RouterOutput router = route(logits.data(), 200, 16, 2, false);
  const Placement placement =
      explicit_placement({3, 3, 0, 1, 2, 2, 2, 2, 0, 0, 1, 3, 1, 0, 2, 1}, 4);
  for (const PolicyConfig& c : test::all_policy_configs()) {
    test::expect_same_outcome(apply_policy_pipeline_on_host(router, c, placement),
                              apply_policy(router, c, placement), policy_label(c));
  }
}

TEST(PolicyPipelineOnHost, RefusesWhatCoreRefuses) {
  const auto logits = test::random_logits(4, 8, 0.0, 1);
  const RouterOutput router = route(logits.data(), 4, 8, 2, false);
  PolicyConfig bad;
  bad.kind = PolicyKind::kDrop;
  bad.gamma = -1;
  EXPECT_THROW(apply_policy_pipeline_on_host(router, bad, balanced_placement(8, 2)), Error);
  EXPECT_THROW(apply_policy_pipeline_on_host(router, PolicyConfig{}, balanced_placement(4, 2)),
               Error);
}

}  // namespace
}  // namespace moescope::kernels
