#include "core/run/layer_timeline.h"

#include <gtest/gtest.h>

namespace moescope {
namespace {

TEST(LayerTimeline, ComposesPhasesAndFindsTheStraggler) {
  LayerExecution ex;
  ex.expert_ns = {100, 300, 50, 50};  // devices: {0, 1} and {2, 3}
  ex.dispatch_ns = 40;
  ex.combine_ns = 20;
  const Placement p = balanced_placement(4, 2);
  const LayerTimeline tl = compose_layer_timeline(ex, p, {3, 1}, 4, 0, 5);
  EXPECT_EQ(tl.device_busy_ns, (std::vector<std::int64_t>{400, 100}));
  EXPECT_EQ(tl.dispatch_ns, 30);  // device 0 gathers 3 of the 4 rows
  EXPECT_EQ(tl.expert_phase_ns, 400);
  EXPECT_EQ(tl.combine_ns, 10);  // tokens split evenly between the two devices
  EXPECT_EQ(tl.latency_ns, 440);
  EXPECT_EQ(tl.straggler_device, 0);
  EXPECT_EQ(tl.straggler_expert, 1);
  EXPECT_EQ(tl.straggler_margin_ns, 150);
  // Device 1 starts its experts at the dispatch barrier; expert 3 follows expert 2.
  bool found = false;
  for (const auto& e : tl.events) {
    EXPECT_EQ(e.layer, 5);
    if (e.expert == 3) {
      EXPECT_EQ(e.device, 1);
      EXPECT_EQ(e.start_ns, 30 + 50);
      EXPECT_EQ(e.end_ns, 30 + 100);
      found = true;
    }
    if (e.phase == profiler::Phase::kCombine) {
      EXPECT_EQ(e.start_ns, 430);
    }
  }
  EXPECT_TRUE(found);
}

TEST(LayerTimeline, SharedExpertsRunBeforeTheRoutedOnesOnEveryDevice) {
  LayerExecution ex;
  ex.expert_ns = {10, 10};
  ex.shared_ns = 100;
  const LayerTimeline tl = compose_layer_timeline(ex, balanced_placement(2, 2), {1, 1}, 2, 0, 0);
  EXPECT_EQ(tl.expert_phase_ns, 60);
  EXPECT_EQ(tl.device_busy_ns, (std::vector<std::int64_t>{10, 10}));
  EXPECT_EQ(tl.straggler_margin_ns, 0);
}

}  // namespace
}  // namespace moescope
