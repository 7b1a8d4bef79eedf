// Hand-checked cases for every policy and option of shared/ALGORITHMS.md.
#include "core/moe/policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/base/error.h"
#include "core/moe/load_metrics.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

using test::router_from_probs;
using test::top1_probs;

struct Kept {
  std::int64_t token;
  int expert;
  bool operator==(const Kept&) const = default;
};

std::vector<Kept> pairs_of(const PolicyOutcome& o) {
  std::vector<Kept> out;
  for (const auto& p : o.kept)
    out.push_back({p.token, p.expert});
  return out;
}

PolicyConfig config(PolicyKind kind, double gamma = 1.0) {
  PolicyConfig c;
  c.kind = kind;
  c.gamma = gamma;
  return c;
}

// The worked example of shared/ALGORITHMS.md.
RouterOutput worked_example() {
  return router_from_probs(
      8, 4, 1, top1_probs({0, 0, 0, 0, 1, 2, 0, 3}, {.9f, .5f, .7f, .6f, .8f, .9f, .95f, .4f}, 4));
}

TEST(WorkedExample, RoutedLoadAndImbalance) {
  const RouterOutput r = worked_example();
  const Placement p = balanced_placement(4, 1);
  const auto m = compute_load_metrics(r, apply_policy(r, config(PolicyKind::kNone), p), p);
  EXPECT_EQ(m.routed_load, (std::vector<std::int64_t>{5, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(m.imbalance_routed, 2.5);
  EXPECT_DOUBLE_EQ(m.drop_rate, 0.0);
}

TEST(WorkedExample, DropByScoreKeepsTheTwoHighestScores) {
  const RouterOutput r = worked_example();
  const Placement p = balanced_placement(4, 1);
  const PolicyOutcome o = apply_policy(r, config(PolicyKind::kDrop), p);
  EXPECT_EQ(o.capacity, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 0}, {4, 1}, {5, 2}, {6, 0}, {7, 3}}));
  const auto m = compute_load_metrics(r, o, p);
  EXPECT_EQ(m.kept_load, (std::vector<std::int64_t>{2, 1, 1, 1}));
  EXPECT_EQ(m.dropped_load, (std::vector<std::int64_t>{3, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(m.drop_rate, 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(m.tokens_fully_dropped, 3.0 / 8.0);
}

TEST(WorkedExample, DropByPositionKeepsTheEarliestTokens) {
  const RouterOutput r = worked_example();
  PolicyConfig c = config(PolicyKind::kDrop);
  c.priority = DropPriority::kPosition;
  const PolicyOutcome o = apply_policy(r, c, balanced_placement(4, 1));
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 0}, {1, 0}, {4, 1}, {5, 2}, {7, 3}}));
}

TEST(Drop, ScoreTiesGoToTheLowerToken) {
  const RouterOutput r = router_from_probs(3, 2, 1, top1_probs({0, 0, 0}, {.7f, .7f, .7f}, 2));
  // C = ceil(3 * 1 / 2) = 2.
  const PolicyOutcome o = apply_policy(r, config(PolicyKind::kDrop), balanced_placement(2, 1));
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 0}, {1, 0}}));
}

TEST(Drop, RandomPriorityIsSeededAndRespectsCapacity) {
  const RouterOutput r = router_from_probs(
      12, 2, 1, top1_probs(std::vector<int>(12, 0), std::vector<float>(12, .8f), 2));
  PolicyConfig c = config(PolicyKind::kDrop, 0.5);  // C = ceil(0.5 * 12 / 2) = 3
  c.priority = DropPriority::kRandom;
  c.seed = 1;
  const Placement p = balanced_placement(2, 1);
  const auto first = pairs_of(apply_policy(r, c, p));
  EXPECT_EQ(first.size(), 3u);
  EXPECT_EQ(first, pairs_of(apply_policy(r, c, p)));
  bool some_seed_differs = false;
  for (std::uint64_t seed = 2; seed < 12 && !some_seed_differs; ++seed) {
    c.seed = seed;
    some_seed_differs = pairs_of(apply_policy(r, c, p)) != first;
  }
  EXPECT_TRUE(some_seed_differs);
}

TEST(Drop, ExpertsWithinCapacityKeepEverything) {
  const RouterOutput r = worked_example();
  const PolicyOutcome o = apply_policy(r, config(PolicyKind::kDrop, 4.0), balanced_placement(4, 1));
  EXPECT_EQ(o.kept.size(), 8u);  // C = 8
}

TEST(Drop, SourceScopeBoundsEachSourceDevice) {
  // Four tokens all choose expert 0; tokens 0-1 come from device 0, 2-3 from device 1.
  const RouterOutput r =
      router_from_probs(4, 2, 1, top1_probs({0, 0, 0, 0}, {.9f, .8f, .7f, .6f}, 2));
  const Placement p = balanced_placement(2, 2);
  EXPECT_EQ(pairs_of(apply_policy(r, config(PolicyKind::kDrop), p)),
            (std::vector<Kept>{{0, 0}, {1, 0}}));
  PolicyConfig source = config(PolicyKind::kDrop);
  source.capacity_scope = CapacityScope::kSource;
  const PolicyOutcome o = apply_policy(r, source, p);
  EXPECT_EQ(o.capacity, (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 0}, {2, 0}}));
}

TEST(Drop, DeviceScopeBoundsEachReceivingDevice) {
  // Experts 0-1 on device 0, 2-3 on device 1; k = 1, gamma = 1: C = 1 per expert, C_d = 2.
  const RouterOutput r =
      router_from_probs(4, 4, 1, top1_probs({0, 0, 1, 2}, {.9f, .8f, .7f, .6f}, 4));
  const Placement p = balanced_placement(4, 2);
  EXPECT_EQ(pairs_of(apply_policy(r, config(PolicyKind::kDrop), p)),
            (std::vector<Kept>{{0, 0}, {2, 1}, {3, 2}}));
  PolicyConfig device = config(PolicyKind::kDrop);
  device.capacity_scope = CapacityScope::kDevice;
  const PolicyOutcome o = apply_policy(r, device, p);
  EXPECT_EQ(o.capacity, (std::vector<std::int64_t>{2, 2}));
  // Device 0 receives .9, .8 (expert 0) and .7 (expert 1): it keeps the two best, so expert 0
  // goes over its own C while the device stays within C_d.
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 0}, {1, 0}, {3, 2}}));
  EXPECT_EQ(policy_label(device), "drop(gamma=1,per-device)");
}

TEST(Drop, DeviceScopeBreaksTiesByTokenThenExpert) {
  // Two tokens, both choosing both experts with equal scores, one device: C_d = 2 of 4 pairs.
  const RouterOutput r = router_from_probs(2, 2, 2, {.5f, .5f, .5f, .5f});
  PolicyConfig device = config(PolicyKind::kDrop, 0.5);
  device.capacity_scope = CapacityScope::kDevice;
  for (DropPriority priority : {DropPriority::kScore, DropPriority::kPosition}) {
    device.priority = priority;
    EXPECT_EQ(pairs_of(apply_policy(r, device, balanced_placement(2, 1))),
              (std::vector<Kept>{{0, 0}, {0, 1}}));
  }
}

TEST(Reroute, DeviceScopeMovesDroppedPairsToDevicesWithRoom) {
  // All four tokens choose expert 0 (device 0 of experts 0-1); C_d = 2 on each device.
  const RouterOutput r = router_from_probs(4, 4, 1,
                                           {.7f, .2f, .06f, .04f,  //
                                            .6f, .3f, .05f, .05f,  //
                                            .5f, .1f, .3f, .1f,    //
                                            .4f, .1f, .1f, .4f});
  const Placement p = balanced_placement(4, 2);
  PolicyConfig c = config(PolicyKind::kReroute);
  c.capacity_scope = CapacityScope::kDevice;
  EXPECT_EQ(pairs_of(apply_policy(r, c, p)), (std::vector<Kept>{{0, 0}, {1, 0}, {2, 2}, {3, 3}}));
  // Local reroute looks on the full device only: nothing moves.
  c.reroute_scope = RerouteScope::kLocal;
  EXPECT_EQ(pairs_of(apply_policy(r, c, p)), (std::vector<Kept>{{0, 0}, {1, 0}}));
}

// Four tokens, four experts on two devices (0-1 and 2-3), k = 1, gamma = 1: C = 1.
RouterOutput expanded_example() {
  return router_from_probs(4, 4, 1,
                           {.6f, .3f, .05f, .05f,  //
                            .7f, .2f, .05f, .05f,  //
                            .1f, .1f, .5f, .3f,    //
                            .1f, .1f, .2f, .6f});
}

TEST(Expanded, AddsLocalCandidatesAndKeepsTheBestPerExpert) {
  const RouterOutput r = expanded_example();
  const Placement p = balanced_placement(4, 2);
  PolicyConfig c = config(PolicyKind::kExpanded);
  c.m = 1;
  const PolicyOutcome o = apply_policy(r, c, p);
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 1}, {1, 0}, {2, 2}, {3, 3}}));
  EXPECT_FALSE(o.kept[0].in_topk);
  EXPECT_FLOAT_EQ(o.kept[0].weight, .3f);
  const auto m = compute_load_metrics(r, o, p);
  EXPECT_DOUBLE_EQ(m.drop_rate, 0.25);
  EXPECT_EQ(m.added_pairs, 1);
  EXPECT_DOUBLE_EQ(m.tokens_fully_dropped, 0.0);
  EXPECT_NEAR(m.gate_mass_kept, 2.1 / 2.4, 1e-6);
}

TEST(Expanded, MZeroEqualsDropByScore) {
  const RouterOutput r = expanded_example();
  const Placement p = balanced_placement(4, 2);
  EXPECT_EQ(pairs_of(apply_policy(r, config(PolicyKind::kExpanded), p)),
            pairs_of(apply_policy(r, config(PolicyKind::kDrop), p)));
}

TEST(Expanded, WeightsKeepTheRouterNormalization) {
  const RouterOutput r = router_from_probs(1, 4, 1, {.5f, .3f, .1f, .1f}, true);
  PolicyConfig c = config(PolicyKind::kExpanded, 4.0);
  c.m = 1;
  const PolicyOutcome o = apply_policy(r, c, balanced_placement(4, 1));
  ASSERT_EQ(o.kept.size(), 2u);
  EXPECT_FLOAT_EQ(o.kept[0].weight, 1.0f);       // .5 / S, S = .5
  EXPECT_FLOAT_EQ(o.kept[1].weight, .3f / .5f);  // may exceed the top-k mass
}

RouterOutput reroute_example() {
  return router_from_probs(4, 4, 1,
                           {.6f, .05f, .3f, .05f,  //
                            .7f, .1f, .1f, .1f,    //
                            .1f, .1f, .1f, .7f,    //
                            .1f, .1f, .1f, .7f});
}

TEST(Reroute, AnyScopeTakesTheMostProbableExpertWithSpareCapacity) {
  const RouterOutput r = reroute_example();
  const Placement p = balanced_placement(4, 2);
  const PolicyOutcome o = apply_policy(r, config(PolicyKind::kReroute), p);
  // Dropped: (3, e3) at .7 first, then (0, e0) at .6. Token 3 ties e1/e2 at .1 -> e1.
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 2}, {1, 0}, {2, 3}, {3, 1}}));
  const auto m = compute_load_metrics(r, o, p);
  EXPECT_DOUBLE_EQ(m.drop_rate, 0.5);
  EXPECT_EQ(m.added_pairs, 2);
  EXPECT_EQ(m.kept_load, (std::vector<std::int64_t>{1, 1, 1, 1}));
}

TEST(Reroute, LocalScopeStaysOnTheDroppedExpertsDevice) {
  const RouterOutput r = reroute_example();
  PolicyConfig c = config(PolicyKind::kReroute);
  c.reroute_scope = RerouteScope::kLocal;
  const PolicyOutcome o = apply_policy(r, c, balanced_placement(4, 2));
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 1}, {1, 0}, {2, 3}, {3, 2}}));
}

TEST(Reroute, PairsStayDroppedWhenNoExpertHasSpareCapacity) {
  const RouterOutput r = worked_example();  // C = 2, total capacity 8 for 8 pairs
  const PolicyOutcome o = apply_policy(r, config(PolicyKind::kReroute, 0.5),
                                       balanced_placement(4, 1));  // C = 1: 4 slots
  EXPECT_EQ(o.kept.size(), 4u);
}

TEST(Renormalize, KeptWeightsOfATokenSumToOne) {
  // Two tokens, k = 2; token 1 loses one of its experts.
  const RouterOutput r = router_from_probs(2, 3, 2, {.5f, .3f, .2f, .6f, .3f, .1f});
  PolicyConfig c = config(PolicyKind::kDrop, 0.75);  // C = ceil(.75 * 2 * 2 / 3) = 1
  c.renormalize = true;
  const PolicyOutcome o = apply_policy(r, c, balanced_placement(3, 1));
  // e0: t0 .5, t1 .6 -> t1. e1: t0 .3, t1 .3 -> t0.
  EXPECT_EQ(pairs_of(o), (std::vector<Kept>{{0, 1}, {1, 0}}));
  EXPECT_FLOAT_EQ(o.kept[0].weight, 1.0f);
  EXPECT_FLOAT_EQ(o.kept[1].weight, 1.0f);
  // The gate mass is measured on the router's weights, before renormalization.
  const auto m = compute_load_metrics(r, o, balanced_placement(3, 1));
  EXPECT_NEAR(m.gate_mass_kept, (.3 + .6) / (.8 + .9), 1e-6);
}

TEST(PolicyConfig, GammaMustBeFiniteAndPositive) {
  const RouterOutput r = worked_example();
  const Placement p = balanced_placement(4, 1);
  for (double gamma : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW(apply_policy(r, config(PolicyKind::kDrop, gamma), p), Error) << gamma;
  }
  // `none` ignores gamma, but reports no capacity for an invalid one.
  EXPECT_TRUE(apply_policy(r, config(PolicyKind::kNone, 0.0), p).capacity.empty());
  PolicyConfig c = config(PolicyKind::kExpanded);
  c.m = -1;
  EXPECT_THROW(apply_policy(r, c, p), Error);
}

TEST(PolicyConfig, NamesRoundTripAndUnknownNamesAreListed) {
  for (auto kind :
       {PolicyKind::kNone, PolicyKind::kDrop, PolicyKind::kExpanded, PolicyKind::kReroute}) {
    EXPECT_EQ(parse_policy(policy_name(kind)), kind);
  }
  try {
    parse_policy("dorp");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("none, drop, expanded, reroute"), std::string::npos);
  }
  EXPECT_THROW(parse_priority("best"), Error);
  EXPECT_THROW(parse_capacity_scope("local"), Error);
  EXPECT_THROW(parse_reroute_scope("global"), Error);
}

}  // namespace
}  // namespace moescope
