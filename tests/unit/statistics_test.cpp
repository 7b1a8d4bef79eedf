#include "core/run/statistics.h"

#include <gtest/gtest.h>

#include "core/base/error.h"

namespace moescope {
namespace {

TEST(Statistics, TheLowerMedianIsAnObservedValue) {
  EXPECT_EQ(lower_median({5, 1, 3}), 3);
  EXPECT_EQ(lower_median({4, 1, 3, 2}), 2);
  EXPECT_EQ(lower_median_index({30, 10, 20}), 2u);
  EXPECT_EQ(lower_median_index({7, 7, 7}), 1u);  // ties: the middle of the stable order
  EXPECT_THROW(lower_median({}), Error);
}

TEST(Statistics, MedianIntervalUsesTheNarrowestRanksThatReach95Percent) {
  // Five repeats: no pair of ranks reaches 95%; [min, max] covers 1 - 2/32 = 93.75%.
  Interval i = median_interval({50, 10, 40, 20, 30});
  EXPECT_EQ(i.low, 10);
  EXPECT_EQ(i.high, 50);
  EXPECT_DOUBLE_EQ(i.coverage, 1 - 2.0 / 32);
  // Six: [min, max] covers 1 - 2/64 = 96.9%.
  i = median_interval({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(i.low, 1);
  EXPECT_EQ(i.high, 6);
  EXPECT_GE(i.coverage, 0.95);
  // Nine: ranks 2 and 8 (1 - 2 * 10/512 = 96.1%); ranks 3 and 7 would cover only 82%.
  i = median_interval({9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_EQ(i.low, 2);
  EXPECT_EQ(i.high, 8);
  EXPECT_NEAR(i.coverage, 1 - 2.0 * 10 / 512, 1e-12);
  // One repeat: the value, and no confidence to claim.
  i = median_interval({7});
  EXPECT_EQ(i.low, 7);
  EXPECT_EQ(i.high, 7);
  EXPECT_EQ(i.coverage, 0);
}

TEST(Statistics, TheSameSamplesForRunAndBaselineGiveASpeedupOfExactlyOne) {
  const std::vector<PairedLayer> layers = {{{10, 12, 11}, {10, 12, 11}},
                                           {{20, 25, 21}, {20, 25, 21}}};
  const Interval i = ratio_of_means_interval(layers, 1);
  EXPECT_EQ(i.low, 1.0);
  EXPECT_EQ(i.high, 1.0);
}

TEST(Statistics, BootstrapIntervalsAreSeededAndHoldTheEstimate) {
  std::vector<PairedLayer> layers;
  for (int l = 0; l < 16; ++l) {
    PairedLayer layer;
    for (int r = 0; r < 5; ++r) {
      layer.baseline.push_back(100 + l + (r * 7) % 5);
      layer.run.push_back(50 + l + (r * 3) % 5);
    }
    layers.push_back(layer);
  }
  const Interval a = ratio_of_means_interval(layers, 42);
  const Interval b = ratio_of_means_interval(layers, 42);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  double base = 0, run = 0;
  for (const auto& l : layers) {
    base += lower_median(l.baseline);
    run += lower_median(l.run);
  }
  const double speedup = base / run;
  EXPECT_TRUE(a.contains(speedup)) << a.low << " " << a.high << " " << speedup;
  EXPECT_FALSE(a.contains(1.0));  // twice as fast, with little noise: clearly significant
  const Interval m = mean_of_medians_interval(layers, 42);
  EXPECT_TRUE(m.contains(mean_of_medians(layers)));
  EXPECT_LT(m.high - m.low, 4.0);
}

}  // namespace
}  // namespace moescope
