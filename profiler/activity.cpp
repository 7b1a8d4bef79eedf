#include "profiler/activity.h"

#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "profiler/event_tag.h"

namespace moescope::profiler {

namespace {

bool has_valid_times(const ActivityRecord& r) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return r.start_ns != 0 && r.end_ns >= r.start_ns && r.end_ns <= kMax;
}

}  // namespace

AttributedActivity attribute_activity(const std::vector<ActivityRecord>& records,
                                      const std::vector<ExternalCorrelation>& correlations) {
  std::unordered_map<std::uint32_t, std::uint64_t> external_of;
  external_of.reserve(correlations.size());
  for (const auto& c : correlations)
    external_of[c.correlation_id] = c.external_id;

  AttributedActivity out;
  for (const auto& r : records) {
    ++(r.kind == ActivityKind::kKernel ? out.counts.kernels : out.counts.copies);
    const auto it = external_of.find(r.correlation_id);
    if (it == external_of.end()) {
      ++out.counts.unattributed;
      continue;
    }
    // Only tagged records count as invalid: they are the ones a layer's times are made of.
    if (!has_valid_times(r)) {
      ++out.counts.invalid;
      continue;
    }
    const EventTag tag = unpack_tag(it->second);
    Event e;
    e.start_ns = static_cast<std::int64_t>(r.start_ns);
    e.end_ns = static_cast<std::int64_t>(r.end_ns);
    e.device = tag.device;
    e.stream = static_cast<int>(r.stream);
    e.step = tag.step;
    e.layer = tag.layer;
    e.expert = tag.expert;
    e.phase = tag.phase;
    out.events.push_back(e);
    out.names.push_back(r.name);
    ++out.counts.attributed;
  }
  return out;
}

LayerGpuTimes sum_layer_times(const std::vector<Event>& events, int step, int layer, int experts) {
  LayerGpuTimes t;
  t.expert_ns.assign(static_cast<std::size_t>(experts), 0);
  for (const auto& e : events) {
    if (e.step != step || e.layer != layer) continue;
    switch (e.phase) {
      case Phase::kExpert:
        if (e.expert == -1) {
          t.all_experts_ns += e.duration_ns();
          break;
        }
        if (e.expert < 0 || e.expert >= experts) {
          throw std::invalid_argument("GPU event of expert " + std::to_string(e.expert) +
                                      " in a layer of " + std::to_string(experts) + " experts");
        }
        t.expert_ns[static_cast<std::size_t>(e.expert)] += e.duration_ns();
        break;
      case Phase::kDispatch:
        t.dispatch_ns += e.duration_ns();
        break;
      case Phase::kSharedExpert:
        t.shared_ns += e.duration_ns();
        break;
      case Phase::kCombine:
        t.combine_ns += e.duration_ns();
        break;
      case Phase::kGating:
      case Phase::kPolicy:
      case Phase::kWait:
        break;
    }
  }
  return t;
}

}  // namespace moescope::profiler
