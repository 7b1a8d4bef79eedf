#include "core/moe/load_metrics.h"

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

TEST(LoadMetrics, ImbalanceAndBalancedness) {
  EXPECT_DOUBLE_EQ(imbalance({5, 1, 1, 1}), 2.5);
  EXPECT_DOUBLE_EQ(imbalance({0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(balancedness({6, 2}), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(balancedness({0, 0}), 1.0);
}

TEST(LoadMetrics, DeviceLoadsFollowThePlacement) {
  // Worked example on two devices: experts 0-1 on device 0, 2-3 on device 1.
  const RouterOutput r = test::router_from_probs(
      8, 4, 1,
      test::top1_probs({0, 0, 0, 0, 1, 2, 0, 3}, {.9f, .5f, .7f, .6f, .8f, .9f, .95f, .4f}, 4));
  const Placement p = balanced_placement(4, 2);
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  const auto m = compute_load_metrics(r, apply_policy(r, drop, p), p);
  EXPECT_EQ(m.routed_device_load, (std::vector<std::int64_t>{6, 2}));
  EXPECT_EQ(m.kept_device_load, (std::vector<std::int64_t>{3, 2}));
  EXPECT_DOUBLE_EQ(m.balancedness_routed, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.balancedness_kept, 2.5 / 3.0);
  EXPECT_DOUBLE_EQ(m.imbalance_kept, 2.0 / 1.25);
  // Kept router weights .95 + .9 + .8 + .9 + .4 over all top-1 weights.
  EXPECT_NEAR(m.gate_mass_kept,
              (.95 + .9 + .8 + .9 + .4) / (.9 + .5 + .7 + .6 + .8 + .9 + .95 + .4), 1e-6);
}

// Lost pairs (shared/ALGORITHMS.md, Metrics): what tokens did not get back of their top-k work.
TEST(LoadMetrics, LostPairsCountWhatRerouteDidNotGiveBack) {
  // Worked example: drop/score drops tokens 1, 2 and 3 (expert 0 over capacity 2).
  const RouterOutput r = test::router_from_probs(
      8, 4, 1,
      test::top1_probs({0, 0, 0, 0, 1, 2, 0, 3}, {.9f, .5f, .7f, .6f, .8f, .9f, .95f, .4f}, 4));
  const Placement p = balanced_placement(4, 1);
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  const auto dropped = compute_load_metrics(r, apply_policy(r, drop, p), p);
  EXPECT_DOUBLE_EQ(dropped.drop_rate, 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(dropped.lost_pairs, 3.0 / 8.0);  // three tokens with nothing
  // Reroute gives each dropped token another expert with room: nothing is lost, though the
  // drop rate (top-k pairs not kept) stays 3/8.
  PolicyConfig reroute = drop;
  reroute.kind = PolicyKind::kReroute;
  const auto rerouted = compute_load_metrics(r, apply_policy(r, reroute, p), p);
  EXPECT_DOUBLE_EQ(rerouted.drop_rate, 3.0 / 8.0);
  EXPECT_EQ(rerouted.added_pairs, 3);
  EXPECT_DOUBLE_EQ(rerouted.lost_pairs, 0.0);
  // Expanded can give a token more than k: that makes up for nobody else.
  PolicyConfig none;
  EXPECT_DOUBLE_EQ(compute_load_metrics(r, apply_policy(r, none, p), p).lost_pairs, 0.0);
}

TEST(LoadMetrics, ExplicitPlacementIsChecked) {
  EXPECT_THROW(explicit_placement({0, 2}, 2), Error);
  EXPECT_THROW(balanced_placement(4, 5), Error);
  EXPECT_THROW(balanced_placement(4, 0), Error);
  const Placement p = explicit_placement({1, 0, 1}, 2);
  EXPECT_EQ(p.experts_on(1), (std::vector<int>{0, 2}));
}

}  // namespace
}  // namespace moescope
