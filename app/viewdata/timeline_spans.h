// The straggler timeline as data, apart from any widget: one lane per device (and, for the
// expanded view, one sub-lane per expert of a device), each lane's spans sorted by start, the
// idle time every device spends waiting for the layer's straggler, the critical path, and the
// level-of-detail folding that keeps a frame of a million spans proportional to its pixels.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/session/session_store.h"
#include "profiler/event.h"

namespace moescope::viewdata {

// 24 bytes, so that a million spans (twice that with expert lanes) stay small.
struct TimelineSpan {
  static constexpr std::uint8_t kCriticalPath = 1;

  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::int32_t layer_slot = 0;  // index into TimelineData::layers()
  std::int16_t expert = -1;
  profiler::Phase phase = profiler::Phase::kExpert;
  std::uint8_t flags = 0;

  std::int64_t duration_ns() const { return end_ns - start_ns; }
  bool on_critical_path() const { return (flags & kCriticalPath) != 0; }
};
static_assert(sizeof(TimelineSpan) == 24);

// What a run of kFoldChunk spans holds, so that folding can step over a whole chunk of narrow,
// tightly packed spans without reading them.
struct FoldChunk {
  std::int64_t max_duration_ns = 0;
  std::int64_t max_gap_ns = 0;  // largest gap before any span of the chunk, from the one before
  std::int64_t busy_ns = 0;     // sum of the spans' durations
  std::int64_t max_end_ns = std::numeric_limits<std::int64_t>::min();  // spans may end before 0
};
inline constexpr std::size_t kFoldChunk = 16;

struct TimelineLane {
  int device = 0;
  int expert = -1;                    // -1: the device's own lane, with all its spans
  std::vector<TimelineSpan> spans;    // by start
  std::vector<std::int64_t> max_end;  // prefix maximum of end_ns: spans may overlap
  std::vector<FoldChunk> chunks;      // one per kFoldChunk spans
};

// One (step, layer) of the run, in time order.
struct TimelineLayer {
  int step = 0;
  int layer = 0;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  // The expert phase (routed and shared experts) from its first start to the straggler's end;
  // both equal start_ns when the layer has no expert span.
  std::int64_t expert_phase_start_ns = 0;
  std::int64_t expert_phase_end_ns = 0;
  int straggler_device = -1;  // from the layer statistics when given, else from the spans
  std::int64_t straggler_margin_ns = 0;
  // Each expert's capacity in rows, from the layer statistics: one value, or one per source
  // device (a local capacity scope); empty when the run has none (no policy, no statistics).
  std::vector<std::int64_t> capacity;
};

// A device waiting at the barrier after the expert phase for the slowest device.
struct IdleBlock {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::int32_t layer_slot = 0;
};

// One thing to draw in a lane: a span wide enough to show as itself, or a fold of consecutive
// narrow spans (Tracy and Perfetto do the same), shaded by how busy it is.
struct DrawItem {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;  // the latest end of its spans
  std::int64_t busy_ns = 0;
  std::int32_t first_span = 0;  // index into the lane's spans
  std::int32_t count = 0;
  bool folded = false;
};

struct LodOptions {
  double min_span_px = 2;  // narrower spans fold
  double max_gap_px = 1;   // a fold continues over gaps narrower than this
  double max_fold_px = 4;  // and stops growing here, so that a zoomed-out lane keeps its shape
};

struct TimelineOptions {
  bool expert_lanes = true;  // build the per-expert sub-lanes of the expanded view
};

class TimelineData {
 public:
  TimelineData() = default;

  // `stats` may be empty (a trace without layer statistics): stragglers come from the spans.
  // Throws Error for a span that ends before it starts, a negative device or an expert id that
  // does not fit a lane.
  static TimelineData build(const std::vector<profiler::Event>& events,
                            const std::vector<LayerStatRow>& stats,
                            const TimelineOptions& options = {});

  bool empty() const { return span_count_ == 0; }
  std::size_t span_count() const { return span_count_; }  // events given, not lane copies
  int devices() const { return devices_; }
  std::int64_t start_ns() const { return start_ns_; }
  std::int64_t end_ns() const { return end_ns_; }

  const std::vector<TimelineLane>& lanes() const { return lanes_; }
  const std::vector<TimelineLayer>& layers() const { return layers_; }
  int device_lane(int device) const { return device; }  // device lanes come first
  // The sub-lane of an expert on a device; -1 when there is none.
  int expert_lane(int device, int expert) const;
  // Lanes top to bottom: devices, each followed by its experts when `expanded`.
  std::vector<int> rows(bool expanded) const;

  int layer_slot(int step, int layer) const;  // -1 when absent
  // The first slot whose layer starts after t, minus one: the layer at time t.
  int layer_at(std::int64_t t_ns) const;

  const std::vector<IdleBlock>& idle(int device) const;
  // Idle time of a device at the end of one layer's expert phase (0 for the straggler).
  std::int64_t idle_ns(int layer_slot, int device) const;

  // The spans of one layer that its latency is made of, by start: the gating and policy
  // spans, the dispatch and combine span each barrier waits for, the straggler's experts.
  std::vector<TimelineSpan> critical_path(int layer_slot) const;

  // The span of a lane under time t (within the tolerance), the shortest one when spans
  // overlap: an index into the lane's spans.
  std::optional<int> hit_test(int lane, std::int64_t t_ns, std::int64_t tolerance_ns = 0) const;

 private:
  std::vector<TimelineLane> lanes_;
  std::vector<TimelineLayer> layers_;
  std::vector<std::vector<IdleBlock>> idle_;  // [device], by start
  std::vector<std::int64_t> layer_starts_;    // [slot], for binary search
  std::size_t span_count_ = 0;
  int devices_ = 0;
  std::int64_t start_ns_ = 0;
  std::int64_t end_ns_ = 0;
};

// What a device did in a window of time [t0, t1]: the area selection's totals. Spans and idle
// blocks count by the part of them inside the window.
struct DeviceTotals {
  int device = 0;
  std::int64_t expert_ns = 0;    // routed and shared experts
  std::int64_t transfer_ns = 0;  // dispatch and combine
  std::int64_t host_ns = 0;      // gating and policy
  std::int64_t idle_ns = 0;      // waiting for the straggler (and a rank's wait spans)
  int spans = 0;                 // spans that overlap the window, waiting spans included
};
// One row per device, in device order. t1 <= t0 gives zeros.
std::vector<DeviceTotals> totals_between(const TimelineData& timeline, std::int64_t t0_ns,
                                         std::int64_t t1_ns);

// The first span of a lane that ends after t0 (by the prefix maximum: spans may overlap).
std::size_t first_visible_span(const TimelineLane& lane, std::int64_t t0_ns);

// What to draw of a lane in the window [t0, t1] shown `width_px` wide, by start. The items split
// the lane's spans from first_visible_span(t0) to the last that starts before t1 into
// consecutive runs: every span in the window is in exactly one item. `out` is cleared first;
// passing the same vector every frame saves allocations.
void fold_spans(const TimelineLane& lane, std::int64_t t0_ns, std::int64_t t1_ns, double width_px,
                std::vector<DrawItem>& out, const LodOptions& options = {});
std::vector<DrawItem> fold_spans(const TimelineLane& lane, std::int64_t t0_ns, std::int64_t t1_ns,
                                 double width_px, const LodOptions& options = {});

}  // namespace moescope::viewdata
