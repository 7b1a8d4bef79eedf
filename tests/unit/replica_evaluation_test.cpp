// Replica plans evaluated on loads: the load tables (from a run's rows, from SGLang's counts),
// balancedness as the engines log it, even splits over replicas, lagging plans, SGLang's file.
#include "core/run/replica_evaluation.h"

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ReplicaEvaluation, BalancednessOverLayersAsEnginesLogIt) {
  // Per layer mean/max: 1, 0.5, 2/3, 0.25.
  const BalancednessSummary s =
      summarize_balancedness({{4, 4}, {4, 0}, {3, 1, 2, 2}, {4, 0, 0, 0}});
  EXPECT_DOUBLE_EQ(s.min, 0.25);
  EXPECT_DOUBLE_EQ(s.p50, 0.5);  // nearest rank: the 2nd of 4
  EXPECT_DOUBLE_EQ(s.p90, 1.0);  // the 4th of 4
  EXPECT_DOUBLE_EQ(s.mean, (1.0 + 0.5 + 2.0 / 3.0 + 0.25) / 4.0);
  // vLLM: (4 + 2 + 2 + 1) / (4 + 4 + 3 + 4)
  EXPECT_DOUBLE_EQ(s.aggregate, 9.0 / 15.0);
}

TEST(ReplicaEvaluation, ExpertLoadsSplitEvenlyOverReplicas) {
  EplbOptions o;
  o.redundant_slots = 2;
  o.devices = 2;
  const ReplicaPlan plan = plan_replicas({8, 8, 1, 1}, o);  // slots 0 1 2 | 1 0 3
  // Expert 0: 7 tokens over 2 replicas (rank 0 gets 4, rank 1 gets 3); expert 1: 5 (3, 2).
  EXPECT_EQ(device_load_with_plan({7, 5, 1, 2}, plan),
            (std::vector<std::int64_t>{4 + 2 + 1, 3 + 3 + 2}));
  EXPECT_EQ(device_load_without_plan({7, 5, 1, 2}, 2), (std::vector<std::int64_t>{12, 3}));
  EXPECT_NE(error_of([&] {
              device_load_with_plan({1, 2, 3}, plan);
            }).find("loads of 3 experts"),
            std::string::npos);
}

ExpertLoadRow row(int step, int layer, int expert, std::int64_t routed) {
  ExpertLoadRow r;
  r.step = step;
  r.layer = layer;
  r.expert = expert;
  r.routed = routed;
  r.kept = routed / 2;
  return r;
}

TEST(ReplicaEvaluation, APlanFromTheWindowGoesStaleWhenTheHotExpertMoves) {
  // Two layers (3 and 7), four experts on two devices, three steps: expert 0 is hot in steps 0
  // and 1, expert 3 in step 2.
  std::vector<ExpertLoadRow> rows;
  const std::vector<std::vector<std::int64_t>> per_step = {
      {10, 2, 2, 2}, {10, 2, 2, 2}, {2, 2, 2, 10}};
  for (int step = 0; step < 3; ++step) {
    for (int layer : {3, 7}) {
      for (int e = 0; e < 4; ++e)
        rows.push_back(row(step, layer, e,
                           per_step[static_cast<std::size_t>(step)][static_cast<std::size_t>(e)]));
    }
  }
  const ExpertLoadTable table = load_table_from_rows(rows, true);
  EXPECT_EQ(table.layers, (std::vector<int>{3, 7}));
  EXPECT_EQ(table.steps(), 3);
  EXPECT_EQ(load_table_from_rows(rows, false).load[0][0], (std::vector<std::int64_t>{5, 1, 1, 1}));
  EplbOptions o;
  o.redundant_slots = 2;
  o.devices = 2;
  const PlanEvaluation ev = evaluate_replica_plans(table, o, 2);
  ASSERT_EQ(ev.plans.size(), 2u);
  EXPECT_EQ(ev.plans[0].replica_count[0], 3);  // 20/1 > 4/1, then 10 > 4
  EXPECT_EQ(ev.window, 2);
  // The window: blocks give devices 24 and 8 (0.667); the plan spreads expert 0.
  EXPECT_NEAR(ev.window_without.mean, 16.0 / 24.0, 1e-12);
  EXPECT_GT(ev.window_with.mean, ev.window_without.mean);
  ASSERT_EQ(ev.later_with.size(), 1u);
  // Step 2: expert 3 is hot and has one replica; the plan's balance is gone.
  EXPECT_NEAR(ev.window_with.mean, 1.0, 0.1);
  EXPECT_LT(ev.later_with[0].mean, ev.window_with.mean - 0.2);
  EXPECT_NE(error_of([&] { evaluate_replica_plans(table, o, 4); }).find("window of 4 steps"),
            std::string::npos);
  const auto json = sglang_expert_location(ev.plans);
  EXPECT_EQ(json.size(), 1u);
  EXPECT_EQ(json["physical_to_logical_map"][1], ev.plans[1].slot_expert);
}

TEST(ReplicaEvaluation, SglangCountsAndBadLoadFiles) {
  using nlohmann::json;
  const ExpertLoadTable t =
      load_table_from_json(json{{"logical_count", {{1, 2}, {3, 4}}}}, "f.json");
  EXPECT_EQ(t.experts, 2);
  EXPECT_EQ(t.load[0][1], (std::vector<std::int64_t>{3, 4}));
  // A leading axis is summed over.
  const ExpertLoadTable summed =
      load_table_from_json(json::parse("[[[1,2],[3,4]],[[10,20],[30,40]]]"), "f.json");
  EXPECT_EQ(summed.load[0][0], (std::vector<std::int64_t>{11, 22}));
  EXPECT_NE(error_of([] {
              load_table_from_json(json{{"counts", 1}}, "f.json");
            }).find("logical_count"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              load_table_from_json(json::parse("[[1,2],[3]]"), "f.json");
            }).find("f.json[1] has 1 experts"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              load_table_from_json(json::parse("[[1,-2]]"), "f.json");
            }).find("f.json[0][1]"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              load_table_from_json(json::parse("[[1,\"x\"]]"), "f.json");
            }).find("not a token count"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { load_table_from_json(json::parse("[]"), "f.json"); }).find("[layer][expert]"),
      std::string::npos);
  // Calibrated on one expert count, evaluated on another.
  const ExpertLoadTable three = load_table_from_json(json::parse("[[1,2,3],[3,4,5]]"), "g.json");
  EplbOptions o;
  o.devices = 2;
  EXPECT_NE(error_of([&] {
              evaluate_replica_plans(t, o, 0, &three);
            }).find("2 experts, the run to evaluate on 3"),
            std::string::npos);
}

TEST(SyntheticRouting, DriftMovesTheHotExperts) {
  ModelSpec spec = preset("mixtral-8x7b");
  spec.hidden = 64;
  auto still = make_synthetic_routing(spec, {256, 3, 20.0, 0.0});
  auto moving = make_synthetic_routing(spec, {256, 3, 20.0, 1.0});
  const auto hottest = [&](RoutingSource& source, int step) {
    const LayerInput in = source.layer(step, 0);
    const RouterOutput r = route(in.logits.data(), 256, spec.experts, 1, false);
    std::vector<int> load(static_cast<std::size_t>(spec.experts), 0);
    for (std::int64_t t = 0; t < 256; ++t)
      ++load[static_cast<std::size_t>(r.topk_expert(t, 0))];
    return static_cast<int>(std::max_element(load.begin(), load.end()) - load.begin());
  };
  const int hot = hottest(*still, 0);
  EXPECT_EQ(hottest(*still, 3), hot);
  EXPECT_EQ(hottest(*moving, 0), hot);
  EXPECT_EQ(hottest(*moving, 3), (hot + 3) % spec.experts);
  EXPECT_NE(moving->describe().find("drift=1"), std::string::npos);
  EXPECT_THROW(make_synthetic_routing(spec, {256, 3, 1.0, -1.0}), Error);
}

}  // namespace
}  // namespace moescope
