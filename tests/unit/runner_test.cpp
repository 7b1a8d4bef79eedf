#include "core/run/runner.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/run/run_json.h"

namespace moescope {
namespace {

// The runner on the CPU backend, as every test here runs it.
RunResult run_on_cpu(const RunOptions& options, RoutingSource& source, const ProgressFn& progress,
                     const CancelFlag* cancel) {
  const auto backend = make_cpu_backend();
  return run_model(options, source, *backend, progress, cancel);
}

RunOptions small_run() {
  RunOptions o;
  o.spec = scaled(preset("olmoe-1b-7b"), 32);
  o.spec.layer_subset = {0, 7};
  o.steps = 2;
  o.devices = 4;
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  PolicyConfig reroute = drop;
  reroute.kind = PolicyKind::kReroute;
  o.policies = {drop, reroute};
  return o;
}

TEST(Runner, RunsTheBaselineFirstAndEveryPolicyOnTheSameInput) {
  const RunOptions o = small_run();
  auto source = make_synthetic_routing(o.spec, {256, 0, 1.5});
  std::int64_t last = 0, total = 0;
  const RunResult r = run_on_cpu(
      o, *source, [&](std::int64_t d, std::int64_t t) { last = d, total = t; }, nullptr);
  EXPECT_EQ(last, total);
  EXPECT_EQ(total, 2 * 2 * 3);
  ASSERT_EQ(r.runs.size(), 3u);
  EXPECT_EQ(r.runs[0].config.kind, PolicyKind::kNone);
  for (const auto& run : r.runs)
    ASSERT_EQ(run.records.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    // Same routing input: the routed loads agree across policies.
    EXPECT_EQ(r.runs[0].records[i].load.routed_load, r.runs[1].records[i].load.routed_load);
    EXPECT_EQ(r.runs[0].records[i].output_error, 0.0);
    EXPECT_GT(r.runs[1].records[i].load.drop_rate, 0.0);
    EXPECT_GT(r.runs[1].records[i].output_error, 0.0);
    EXPECT_GT(r.runs[0].records[i].timeline.latency_ns, 0);
  }
  EXPECT_EQ(r.runs[1].records[3].layer, 7);
  EXPECT_EQ(r.runs[1].records[3].step, 1);
  EXPECT_EQ(r.timing, profiler::Timing::kComposed);
}

TEST(Runner, JsonReportHoldsEveryPolicyLayerAndDevice) {
  const RunOptions o = small_run();
  auto source = make_synthetic_routing(o.spec, {128, 1, 1.0});
  const auto j = run_to_json(run_on_cpu(o, *source, nullptr, nullptr));
  ASSERT_EQ(j["policies"].size(), 3u);
  EXPECT_EQ(j["timing"], "composed");
  EXPECT_EQ(j["policies"][1]["label"], "drop(gamma=1)");
  EXPECT_EQ(j["policies"][1]["layers"].size(), 2u);
  EXPECT_EQ(j["policies"][1]["devices"].size(), 4u);
  EXPECT_DOUBLE_EQ(j["policies"][0]["summary"]["speedup"].get<double>(), 1.0);
  EXPECT_GT(j["policies"][1]["summary"]["drop_rate"]["mean"].get<double>(), 0.0);
}

TEST(Runner, CancelStopsTheRun) {
  const RunOptions o = small_run();
  auto source = make_synthetic_routing(o.spec, {64, 0, 1.0});
  CancelFlag cancel{false};
  EXPECT_THROW(run_on_cpu(
                   o, *source, [&](std::int64_t, std::int64_t) { cancel = true; }, &cancel),
               Cancelled);
}

TEST(Runner, RefusesWhatCannotFitAndBadOptions) {
  RunOptions o = small_run();
  o.spec = preset("mixtral-8x7b");
  auto huge = make_synthetic_routing(o.spec, {1 << 30, 0, 1.0});
  try {
    run_on_cpu(o, *huge, nullptr, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("of memory"), std::string::npos) << e.what();
  }
  o = small_run();
  o.steps = 0;
  auto source = make_synthetic_routing(o.spec, {8, 0, 1.0});
  EXPECT_THROW(run_on_cpu(o, *source, nullptr, nullptr), Error);
  o = small_run();
  o.devices = 65;
  EXPECT_THROW(run_on_cpu(o, *source, nullptr, nullptr), Error);
  o = small_run();
  o.placement = {0, 1};
  EXPECT_THROW(run_on_cpu(o, *source, nullptr, nullptr), Error);
}

}  // namespace
}  // namespace moescope
