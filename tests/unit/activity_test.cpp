#include "profiler/activity.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "profiler/event_tag.h"

namespace moescope::profiler {
namespace {

TEST(EventTag, RoundTripsEveryFieldAtItsLimits) {
  const EventTag tags[] = {
      {0, 0, 0, -1, Phase::kGating},
      {kMaxTagStep, kMaxTagLayer, kMaxTagDevice, kMaxTagExpert, Phase::kCombine},
      {12, 31, 7, 63, Phase::kExpert},
      {1, 2, 3, 0, Phase::kSharedExpert}};
  for (const auto& tag : tags)
    EXPECT_EQ(unpack_tag(pack_tag(tag)), tag);
  EXPECT_NE(pack_tag(tags[2]), pack_tag(tags[3]));
}

TEST(EventTag, RefusesWhatDoesNotFitAndNamesTheField) {
  auto message = [](const EventTag& tag) {
    try {
      pack_tag(tag);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({kMaxTagStep + 1, 0, 0, 0, Phase::kExpert}).find("step"), std::string::npos);
  EXPECT_NE(message({0, -1, 0, 0, Phase::kExpert}).find("layer"), std::string::npos);
  EXPECT_NE(message({0, 0, kMaxTagDevice + 1, 0, Phase::kExpert}).find("device"),
            std::string::npos);
  EXPECT_NE(message({0, 0, 0, -2, Phase::kExpert}).find("expert"), std::string::npos);
}

ActivityRecord kernel(std::uint32_t correlation, std::uint64_t start, std::uint64_t end,
                      std::uint32_t stream = 7) {
  return {ActivityKind::kKernel, 0, stream, start, end, correlation, "sm90_gemm"};
}

TEST(AttributeActivity, TagsEachKernelThroughItsCorrelationId) {
  const std::uint64_t expert3 = pack_tag({2, 5, 1, 3, Phase::kExpert});
  const std::uint64_t combine = pack_tag({2, 5, 0, -1, Phase::kCombine});
  const std::vector<ActivityRecord> records = {
      kernel(10, 1000, 1500),
      kernel(11, 1600, 2600),
      {ActivityKind::kMemcpy, 0, 7, 100, 900, 12, "memcpy HtoD"},  // untagged upload
      kernel(13, 3000, 3100, 9),
      kernel(14, 0, 50),     // no timestamp
      kernel(15, 500, 400),  // end before start
      kernel(16, 0, 0)};     // untagged and without timestamps: not the layer's problem
  const std::vector<ExternalCorrelation> links = {
      {10, expert3}, {11, expert3}, {13, combine}, {14, combine}, {15, combine}};
  const AttributedActivity a = attribute_activity(records, links);
  EXPECT_EQ(a.counts.kernels, 6);
  EXPECT_EQ(a.counts.copies, 1);
  EXPECT_EQ(a.counts.attributed, 3);
  EXPECT_EQ(a.counts.unattributed, 2);
  EXPECT_EQ(a.counts.invalid, 2);
  ASSERT_EQ(a.events.size(), 3u);
  ASSERT_EQ(a.names.size(), 3u);
  EXPECT_EQ(a.names[0], "sm90_gemm");
  const Event& e = a.events[1];
  EXPECT_EQ(e.start_ns, 1600);
  EXPECT_EQ(e.end_ns, 2600);
  EXPECT_EQ(e.step, 2);
  EXPECT_EQ(e.layer, 5);
  EXPECT_EQ(e.device, 1);
  EXPECT_EQ(e.expert, 3);
  EXPECT_EQ(e.stream, 7);
  EXPECT_EQ(e.phase, Phase::kExpert);
  EXPECT_EQ(a.events[2].phase, Phase::kCombine);
  EXPECT_EQ(a.events[2].stream, 9);
}

TEST(SumLayerTimes, AddsTheKernelsOfEachExpertAndPhase) {
  std::vector<Event> events;
  auto add = [&](int step, int layer, int expert, Phase phase, std::int64_t start,
                 std::int64_t end) {
    Event e;
    e.step = step;
    e.layer = layer;
    e.expert = expert;
    e.phase = phase;
    e.start_ns = start;
    e.end_ns = end;
    events.push_back(e);
  };
  add(0, 1, 2, Phase::kExpert, 0, 100);    // gate-up GEMM
  add(0, 1, 2, Phase::kExpert, 150, 170);  // SwiGLU
  add(0, 1, 0, Phase::kExpert, 200, 260);
  add(0, 1, -1, Phase::kExpert, 300, 400);  // a grouped GEMM
  add(0, 1, -1, Phase::kDispatch, 0, 5);
  add(0, 1, -1, Phase::kSharedExpert, 0, 7);
  add(0, 1, -1, Phase::kCombine, 0, 9);
  add(0, 2, 2, Phase::kExpert, 0, 1000);  // another layer
  add(1, 1, 2, Phase::kExpert, 0, 1000);  // another step
  const LayerGpuTimes t = sum_layer_times(events, 0, 1, 3);
  EXPECT_EQ(t.expert_ns, (std::vector<std::int64_t>{60, 0, 120}));
  EXPECT_EQ(t.all_experts_ns, 100);
  EXPECT_EQ(t.dispatch_ns, 5);
  EXPECT_EQ(t.shared_ns, 7);
  EXPECT_EQ(t.combine_ns, 9);
  EXPECT_THROW(sum_layer_times(events, 0, 1, 2), std::invalid_argument);
}

}  // namespace
}  // namespace moescope::profiler
