#include "core/run/metric_table.h"

#include <gtest/gtest.h>

#include <set>

#include "core/base/error.h"
#include "core/run/runner.h"

namespace moescope {
namespace {

TEST(MetricTable, KeysAreUniqueAndEveryAggregatedMetricReadsALayer) {
  std::set<std::string_view> keys;
  for (const MetricInfo& m : metric_table()) {
    EXPECT_TRUE(keys.insert(m.key).second) << m.key;
    EXPECT_FALSE(m.label.empty()) << m.key;
    EXPECT_FALSE(m.column.empty()) << m.key;
    EXPECT_FALSE(m.description.empty()) << m.key;
    EXPECT_EQ(m.of_layer != nullptr, m.aggregation == Aggregation::kMeanAndMax) << m.key;
  }
  EXPECT_THROW(metric_info("no_such_metric"), Error);
}

TEST(MetricTable, ReadsEachMetricOfALayerRecord) {
  LayerRecord r;
  r.timeline.latency_ns = 1500;
  r.load.drop_rate = 0.25;
  r.load.gate_mass_kept = 0.8;
  r.expert_ns = {100, 200, 300};
  EXPECT_EQ(metric_info("latency_ns").of_layer(r), 1500.0);
  EXPECT_EQ(metric_info("drop_rate").of_layer(r), 0.25);
  EXPECT_EQ(metric_info("expert_compute_ns").of_layer(r), 600.0);
  EXPECT_EQ(metric_info("gate_mass_kept").of_layer(r), 0.8);
}

TEST(MetricTable, FormatsWithItsScaleAndDecimals) {
  EXPECT_EQ(format_metric(metric_info("latency_ns"), 12345.0), "12.3");
  EXPECT_EQ(format_metric(metric_info("drop_rate"), 0.3442), "34.4");
  EXPECT_EQ(format_metric(metric_info("output_error"), 0.36314), "0.3631");
  EXPECT_EQ(format_metric(metric_info("speedup"), 1.781), "1.78");
  EXPECT_EQ(metric_heading(metric_info("latency_ns")), "Layer latency (µs)");
  std::vector<std::string_view> headline;
  for (const auto& m : headline_metrics())
    headline.push_back(m.key);
  EXPECT_EQ(headline.front(), "latency_ns");
  EXPECT_EQ(headline.size(), 11u);
}

}  // namespace
}  // namespace moescope
