// DeepSeek's EPLB placement (shared/ALGORITHMS.md, Replicated experts): its README example, the
// global policy on the same input, hand-checked packing, replication and spread cases, replica
// choice, properties and bad input.
#include "core/moe/replica_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/base/error.h"
#include "core/base/random.h"
#include "core/moe/placement.h"
#include "core/moe/router.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

// The input of deepseek-ai/EPLB's README: 2 layers of 12 experts, 16 slots, 4 groups, 2 nodes,
// 8 GPUs.
const std::vector<std::vector<double>> kReadmeLoad = {
    {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
    {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};

EplbOptions readme_options(EplbAlgorithm algorithm, bool spread) {
  EplbOptions o;
  o.redundant_slots = 4;
  o.devices = 8;
  o.nodes = 2;
  o.groups = 4;
  o.algorithm = algorithm;
  o.spread = spread;
  return o;
}

// No device holds two replicas of one expert.
bool spread_out(const ReplicaPlan& plan) {
  for (int d = 0; d < plan.devices; ++d) {
    std::set<int> seen;
    for (int s = d * plan.slots_per_device(); s < (d + 1) * plan.slots_per_device(); ++s) {
      if (!seen.insert(plan.slot_expert[static_cast<std::size_t>(s)]).second) return false;
    }
  }
  return true;
}

TEST(ReplicaPlan, ReproducesTheEplbReadmeExample) {
  // phy2log as the README prints it (and as eplb.py computes it).
  const std::vector<std::vector<int>> expected = {
      {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
      {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}};
  for (bool spread : {true, false}) {
    for (EplbAlgorithm a : {EplbAlgorithm::kAutomatic, EplbAlgorithm::kHierarchical}) {
      for (std::size_t layer = 0; layer < 2; ++layer) {
        const ReplicaPlan plan = plan_replicas(kReadmeLoad[layer], readme_options(a, spread));
        EXPECT_EQ(plan.slot_expert, expected[layer]) << "layer " << layer << " spread " << spread;
      }
    }
  }
  const ReplicaPlan plan =
      plan_replicas(kReadmeLoad[0], readme_options(EplbAlgorithm::kAutomatic, true));
  EXPECT_EQ(plan.replica_count, (std::vector<int>{1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1}));
  EXPECT_EQ(plan.slots_of(5), (std::vector<int>{0, 2}));
  EXPECT_EQ(plan.device_of_slot(15), 7);
}

TEST(ReplicaPlan, GlobalPolicyOnTheReadmeInput) {
  // eplb.py's rebalance_experts(weight, 16, 1, 1, 8): one group, one node. It puts both
  // replicas of expert 1 (layer 0) and of expert 8 (layer 1) on the last devices.
  const std::vector<std::vector<int>> original = {
      {10, 6, 10, 7, 0, 2, 11, 4, 5, 9, 5, 4, 8, 3, 1, 1},
      {1, 10, 2, 4, 5, 11, 5, 0, 6, 7, 6, 3, 8, 8, 9, 7}};
  const std::vector<std::vector<int>> counts = {{1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1},
                                                {1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1}};
  for (std::size_t layer = 0; layer < 2; ++layer) {
    const ReplicaPlan as_original =
        plan_replicas(kReadmeLoad[layer], readme_options(EplbAlgorithm::kGlobal, false));
    EXPECT_EQ(as_original.slot_expert, original[layer]) << "layer " << layer;
    EXPECT_FALSE(spread_out(as_original));
    // With the spread rule the same replicas are placed without sharing a device.
    const ReplicaPlan spread =
        plan_replicas(kReadmeLoad[layer], readme_options(EplbAlgorithm::kGlobal, true));
    EXPECT_EQ(spread.replica_count, counts[layer]) << "layer " << layer;
    EXPECT_TRUE(spread_out(spread)) << "layer " << layer;
  }
  // The automatic choice falls back to global when the groups do not split over the nodes.
  EplbOptions o = readme_options(EplbAlgorithm::kAutomatic, false);
  o.nodes = 8;
  EXPECT_EQ(plan_replicas(kReadmeLoad[0], o).slot_expert, original[0]);
}

TEST(ReplicaPlan, BalancedPackingPutsTheHeaviestIntoTheLightestPackWithRoom) {
  EplbOptions o;
  o.devices = 2;
  // 4 to device 0, 3 to device 1, 2 to device 1 (the lighter), 1 to device 0 (1 is full).
  const ReplicaPlan plan = plan_replicas({4, 3, 2, 1}, o);
  EXPECT_EQ(plan.slot_expert, (std::vector<int>{0, 3, 1, 2}));
  EXPECT_EQ(plan.replica_count, (std::vector<int>{1, 1, 1, 1}));
}

TEST(ReplicaPlan, ReplicationAndTheSpreadRule) {
  // Experts 0 and 1 are hot: the two extra slots go to 0 (ties to the lower index), then to 1
  // (8/1 > 8/2). Every replica then carries 4; greedy packing alone puts both replicas of
  // each expert on one device, the spread rule crosses them over.
  EplbOptions o;
  o.redundant_slots = 2;
  o.devices = 2;
  o.spread = false;
  const ReplicaPlan together = plan_replicas({8, 8, 1, 1}, o);
  EXPECT_EQ(together.slot_expert, (std::vector<int>{0, 0, 2, 1, 1, 3}));
  EXPECT_EQ(together.replica_count, (std::vector<int>{2, 2, 1, 1}));
  o.spread = true;
  const ReplicaPlan spread = plan_replicas({8, 8, 1, 1}, o);
  EXPECT_EQ(spread.slot_expert, (std::vector<int>{0, 1, 2, 1, 0, 3}));
  EXPECT_EQ(spread.slot_rank, (std::vector<int>{0, 1, 0, 0, 1, 0}));
  EXPECT_EQ(spread.slots_of(1), (std::vector<int>{3, 1}));
}

PolicyOutcome outcome_of(const std::vector<std::pair<std::int64_t, int>>& pairs) {
  PolicyOutcome out;
  for (const auto& [t, e] : pairs)
    out.kept.push_back({t, e, 1.0f, true});
  return out;
}

// Top-1 routing of four tokens over four experts.
RouterOutput top1_router(const std::vector<int>& top) {
  return test::router_from_probs(4, 4, 1, test::top1_probs(top, {.9f, .9f, .9f, .9f}, 4));
}

TEST(ReplicaChoice, RoundRobinAndLocalFirst) {
  EplbOptions o;
  o.redundant_slots = 2;
  o.devices = 2;
  const ReplicaPlan plan = plan_replicas({8, 8, 1, 1}, o);  // as in the test above
  // Tokens 0-1 come from device 0, 2-3 from device 1.
  const RouterOutput router = top1_router({0, 0, 0, 1});
  const PolicyOutcome outcome = outcome_of({{0, 0}, {1, 0}, {2, 0}, {3, 1}});
  EXPECT_EQ(assign_replicas(outcome, plan, router, ReplicaChoice::kRoundRobin),
            (std::vector<int>{0, 4, 0, 1}));
  const auto local = assign_replicas(outcome, plan, router, ReplicaChoice::kLocalFirst);
  EXPECT_EQ(local, (std::vector<int>{0, 0, 4, 3}));
  EXPECT_EQ(slot_load(local, plan.slot_count()), (std::vector<std::int64_t>{2, 0, 0, 1, 1, 0}));
  EXPECT_EQ(device_load_of_slots(slot_load(local, plan.slot_count()), plan),
            (std::vector<std::int64_t>{2, 2}));
}

TEST(ReplicaChoice, RoundRobinCountsRoutedPairsSoDropsMoveNoPair) {
  EplbOptions o;
  o.redundant_slots = 2;
  o.devices = 2;
  const ReplicaPlan plan = plan_replicas({8, 8, 1, 1}, o);  // expert 0: slots 0, 4; 1: 3, 1
  const RouterOutput router = top1_router({1, 0, 1, 0});
  const auto all = assign_replicas(outcome_of({{0, 1}, {1, 0}, {2, 1}, {3, 0}}), plan, router,
                                   ReplicaChoice::kRoundRobin);
  EXPECT_EQ(all, (std::vector<int>{3, 4, 3, 4}));  // positions 0..3 modulo 2
  // Token 0's pair dropped: the others stay on their replicas.
  EXPECT_EQ(assign_replicas(outcome_of({{1, 0}, {2, 1}, {3, 0}}), plan, router,
                            ReplicaChoice::kRoundRobin),
            (std::vector<int>{4, 3, 4}));
  // A pair a policy added counts after its token's top-k slot.
  EXPECT_EQ(assign_replicas(outcome_of({{1, 0}, {1, 1}}), plan, router, ReplicaChoice::kRoundRobin),
            (std::vector<int>{4, 3}));
}

TEST(ReplicaPlan, PropertiesOnRandomLoads) {
  Rng rng({7});
  for (int i = 0; i < 300; ++i) {
    const int devices = 1 + static_cast<int>(rng.next() % 16);
    const int per_device = 1 + static_cast<int>(rng.next() % 8);
    const int slots = devices * per_device;
    const int experts = std::max(1, slots - static_cast<int>(rng.next() % (slots / 2 + 1)));
    if (per_device > experts) continue;
    std::vector<double> load(static_cast<std::size_t>(experts));
    for (auto& l : load)
      l = std::floor(1000 * rng.uniform() * rng.uniform());
    EplbOptions o;
    o.redundant_slots = slots - experts;
    o.devices = devices;
    const ReplicaPlan plan = plan_replicas(load, o);
    ASSERT_EQ(plan.slot_count(), slots);
    int total = 0;
    for (int e = 0; e < experts; ++e) {
      const int count = plan.replica_count[static_cast<std::size_t>(e)];
      ASSERT_GE(count, 1) << "case " << i << " expert " << e;
      total += count;
      const auto replicas = plan.slots_of(e);
      for (int r = 0; r < count; ++r) {
        ASSERT_EQ(plan.slot_expert[static_cast<std::size_t>(replicas[static_cast<std::size_t>(r)])],
                  e);
      }
    }
    ASSERT_EQ(total, slots) << "case " << i;
    // Every pair lands on a replica of its own expert; local_first on its own device when it
    // can.
    const int tokens = 1 + static_cast<int>(rng.next() % 64);
    const int top_k =
        1 + static_cast<int>(rng.next() % static_cast<std::uint64_t>(std::min(experts, 4)));
    const auto logits = test::random_logits(tokens, experts, 1.0, static_cast<std::uint64_t>(i));
    const RouterOutput router = route(logits.data(), tokens, experts, top_k, false);
    const PolicyOutcome outcome =
        apply_policy(router, PolicyConfig{}, balanced_placement(experts, 1));
    for (ReplicaChoice choice : {ReplicaChoice::kRoundRobin, ReplicaChoice::kLocalFirst}) {
      const auto slot_of_pair = assign_replicas(outcome, plan, router, choice);
      for (std::size_t p = 0; p < slot_of_pair.size(); ++p) {
        const auto& pair = outcome.kept[p];
        ASSERT_EQ(plan.slot_expert[static_cast<std::size_t>(slot_of_pair[p])], pair.expert);
        if (choice != ReplicaChoice::kLocalFirst) continue;
        const int source = static_cast<int>(pair.token * devices / tokens);
        bool has_local = false;
        for (int s : plan.slots_of(pair.expert))
          has_local = has_local || plan.device_of_slot(s) == source;
        ASSERT_EQ(plan.device_of_slot(slot_of_pair[p]) == source, has_local) << "case " << i;
      }
    }
  }
}

TEST(ReplicaPlan, RefusesWhatCannotBePlacedNamingTheMismatch) {
  const auto message = [](const std::vector<double>& load, const EplbOptions& o) {
    try {
      plan_replicas(load, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EplbOptions o;
  o.devices = 4;
  o.redundant_slots = 1;
  EXPECT_NE(message(std::vector<double>(8, 1.0), o).find("9 slots do not split evenly over 4"),
            std::string::npos);
  o.redundant_slots = 40;  // 48 slots, 12 per device, 8 experts
  EXPECT_NE(message(std::vector<double>(8, 1.0), o).find("use at most 24 replicas"),
            std::string::npos);
  o.devices = 1;
  o.redundant_slots = 2147483647;  // E + R would overflow an int
  EXPECT_NE(message(std::vector<double>(8, 1.0), o).find("use at most 0 replicas"),
            std::string::npos);
  o.devices = 4;
  o.redundant_slots = 0;
  o.nodes = 3;
  EXPECT_NE(message(std::vector<double>(8, 1.0), o).find("4 devices do not split evenly over 3"),
            std::string::npos);
  o.nodes = 2;
  o.groups = 3;
  EXPECT_NE(message(std::vector<double>(8, 1.0), o).find("8 experts do not split evenly into 3"),
            std::string::npos);
  o.groups = 1;
  EXPECT_NE(message({1, 2, std::nan(""), 4, 1, 1, 1, 1}, o).find("expert 2"), std::string::npos);
  EXPECT_NE(message({1, 2, 3, -4, 1, 1, 1, 1}, o).find("expert 3"), std::string::npos);
  o.algorithm = EplbAlgorithm::kHierarchical;
  o.groups = 2;
  o.nodes = 4;
  EXPECT_NE(message(std::vector<double>(8, 1.0), o).find("use the global one"), std::string::npos);
  EXPECT_THROW(parse_replica_choice("nearest"), Error);
  EXPECT_EQ(parse_eplb_algorithm("hierarchical"), EplbAlgorithm::kHierarchical);
}

}  // namespace
}  // namespace moescope
