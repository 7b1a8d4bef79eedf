#include "app/viewdata/timeline_spans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "core/base/error.h"

namespace moescope::viewdata {

namespace {

using profiler::Event;
using profiler::Phase;

constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();

bool in_expert_phase(Phase phase) {
  return phase == Phase::kExpert || phase == Phase::kSharedExpert;
}

// What the first pass learns about one (step, layer).
struct SlotInfo {
  int step = 0;
  int layer = 0;
  std::int64_t start_ns = std::numeric_limits<std::int64_t>::max();
  std::int64_t end_ns = kNone;
  std::int64_t expert_start_ns = std::numeric_limits<std::int64_t>::max();
  std::int64_t expert_end_ns = kNone;
  std::size_t critical_dispatch = static_cast<std::size_t>(-1);  // event index
  std::size_t critical_combine = static_cast<std::size_t>(-1);
};

// Lanes are allocated for every device number up to the largest, so a corrupt device id must
// not ask for millions of them.
constexpr int kMaxDevice = 4095;

void check_event(const Event& e, std::size_t index) {
  const auto where = "event " + std::to_string(index) + " (step " + std::to_string(e.step) +
                     ", layer " + std::to_string(e.layer) + ")";
  if (e.end_ns < e.start_ns) {
    throw Error("timeline: " + where + " ends before it starts (" + std::to_string(e.start_ns) +
                " > " + std::to_string(e.end_ns) + " ns); the trace is corrupt, re-record it");
  }
  if (e.device < 0 || e.device > kMaxDevice) {
    throw Error("timeline: " + where + " has device " + std::to_string(e.device) +
                ", outside the range the timeline can show (0 to " + std::to_string(kMaxDevice) +
                ")");
  }
  // This also keeps every conversion to pixels inside int64.
  if (!profiler::times_in_range(e.start_ns, e.end_ns)) {
    throw Error("timeline: " + where + " has a time beyond ±2^62 ns (" +
                std::to_string(e.start_ns) + " to " + std::to_string(e.end_ns) +
                "); the trace is corrupt, re-record it");
  }
  if (e.expert < -1 || e.expert > std::numeric_limits<std::int16_t>::max()) {
    throw Error("timeline: " + where + " has expert " + std::to_string(e.expert) +
                ", outside the range the timeline can show (-1 to 32767)");
  }
}

void finish_lane(TimelineLane& lane) {
  auto& s = lane.spans;
  if (!std::is_sorted(s.begin(), s.end(), [](const TimelineSpan& a, const TimelineSpan& b) {
        return a.start_ns < b.start_ns;
      })) {
    std::stable_sort(s.begin(), s.end(), [](const TimelineSpan& a, const TimelineSpan& b) {
      return a.start_ns < b.start_ns;
    });
  }
  lane.max_end.resize(s.size());
  std::int64_t running = kNone;
  for (std::size_t i = 0; i < s.size(); ++i) {
    running = std::max(running, s[i].end_ns);
    lane.max_end[i] = running;
  }
  lane.chunks.assign((s.size() + kFoldChunk - 1) / kFoldChunk, FoldChunk{});
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto& c = lane.chunks[i / kFoldChunk];
    const auto gap =
        i == 0 ? std::int64_t{0} : std::max<std::int64_t>(0, s[i].start_ns - lane.max_end[i - 1]);
    c.max_duration_ns = std::max(c.max_duration_ns, s[i].duration_ns());
    c.max_gap_ns = std::max(c.max_gap_ns, gap);
    c.busy_ns = profiler::saturating_add(c.busy_ns, s[i].duration_ns());
    c.max_end_ns = std::max(c.max_end_ns, s[i].end_ns);
  }
}

}  // namespace

TimelineData TimelineData::build(const std::vector<Event>& events,
                                 const std::vector<LayerStatRow>& stats,
                                 const TimelineOptions& options) {
  TimelineData data;
  if (events.empty()) return data;

  // Pass 1: devices, layers and what each layer's barriers wait for. Events arrive grouped by
  // layer, so the last slot found is almost always the next one's too.
  std::map<std::pair<int, int>, int> slot_of;
  std::vector<SlotInfo> slots;
  std::vector<int> slot_of_event(events.size());
  int max_device = 0;
  int cached_step = 0, cached_layer = 0, cached_slot = -1;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    check_event(e, i);
    max_device = std::max(max_device, e.device);
    if (cached_slot < 0 || e.step != cached_step || e.layer != cached_layer) {
      const auto [it, added] =
          slot_of.try_emplace({e.step, e.layer}, static_cast<int>(slots.size()));
      if (added) slots.push_back({.step = e.step, .layer = e.layer});
      cached_step = e.step;
      cached_layer = e.layer;
      cached_slot = it->second;
    }
    slot_of_event[i] = cached_slot;
    SlotInfo& s = slots[static_cast<std::size_t>(cached_slot)];
    s.start_ns = std::min(s.start_ns, e.start_ns);
    s.end_ns = std::max(s.end_ns, e.end_ns);
    if (in_expert_phase(e.phase)) {
      s.expert_start_ns = std::min(s.expert_start_ns, e.start_ns);
      s.expert_end_ns = std::max(s.expert_end_ns, e.end_ns);
    } else if (e.phase == Phase::kDispatch) {
      if (s.critical_dispatch == static_cast<std::size_t>(-1) ||
          e.end_ns > events[s.critical_dispatch].end_ns) {
        s.critical_dispatch = i;
      }
    } else if (e.phase == Phase::kCombine) {
      if (s.critical_combine == static_cast<std::size_t>(-1) ||
          e.end_ns > events[s.critical_combine].end_ns) {
        s.critical_combine = i;
      }
    }
  }
  const int D = max_device + 1;
  data.devices_ = D;

  // Layers in time order; `order[old] = new`.
  std::vector<int> by_time(slots.size());
  for (std::size_t k = 0; k < slots.size(); ++k)
    by_time[k] = static_cast<int>(k);
  std::stable_sort(by_time.begin(), by_time.end(), [&](int a, int b) {
    return slots[static_cast<std::size_t>(a)].start_ns <
           slots[static_cast<std::size_t>(b)].start_ns;
  });
  std::vector<int> order(slots.size());
  for (std::size_t k = 0; k < by_time.size(); ++k)
    order[static_cast<std::size_t>(by_time[k])] = static_cast<int>(k);

  std::map<std::pair<int, int>, const LayerStatRow*> stat_of;
  for (const auto& row : stats)
    stat_of[{row.step, row.layer}] = &row;

  // When each device finishes its expert phase in each layer: the idle time and, without
  // statistics, the straggler.
  std::vector<std::int64_t> device_expert_end(slots.size() * static_cast<std::size_t>(D), kNone);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (!in_expert_phase(e.phase)) continue;
    auto& end =
        device_expert_end[static_cast<std::size_t>(slot_of_event[i]) * static_cast<std::size_t>(D) +
                          static_cast<std::size_t>(e.device)];
    end = std::max(end, e.end_ns);
  }

  data.layers_.resize(slots.size());
  data.idle_.assign(static_cast<std::size_t>(D), {});
  for (std::size_t k = 0; k < slots.size(); ++k) {
    const SlotInfo& s = slots[k];
    TimelineLayer& l = data.layers_[static_cast<std::size_t>(order[k])];
    l.step = s.step;
    l.layer = s.layer;
    l.start_ns = s.start_ns;
    l.end_ns = s.end_ns;
    const bool has_experts = s.expert_end_ns != kNone;
    l.expert_phase_start_ns = has_experts ? s.expert_start_ns : s.start_ns;
    l.expert_phase_end_ns = has_experts ? s.expert_end_ns : s.start_ns;
    const std::int64_t* ends = &device_expert_end[k * static_cast<std::size_t>(D)];
    const auto it = stat_of.find({s.step, s.layer});
    // A stored straggler that is not one of the timeline's devices is ignored: the spans decide.
    if (it != stat_of.end() && it->second->straggler_device >= 0 &&
        it->second->straggler_device < D) {
      l.straggler_device = it->second->straggler_device;
      l.straggler_margin_ns = it->second->straggler_margin_ns;
    } else if (has_experts) {
      l.straggler_device = static_cast<int>(std::max_element(ends, ends + D) - ends);
    }
    if (it != stat_of.end()) l.capacity = it->second->capacity;
  }
  for (std::size_t k = 0; k < slots.size(); ++k) {
    const int slot = order[k];
    const TimelineLayer& l = data.layers_[static_cast<std::size_t>(slot)];
    if (l.expert_phase_end_ns == l.expert_phase_start_ns) continue;
    const std::int64_t* ends = &device_expert_end[k * static_cast<std::size_t>(D)];
    for (int d = 0; d < D; ++d) {
      // A device with no expert work waits the whole phase.
      const auto done = ends[d] == kNone ? l.expert_phase_start_ns : ends[d];
      if (done < l.expert_phase_end_ns) {
        data.idle_[static_cast<std::size_t>(d)].push_back({done, l.expert_phase_end_ns, slot});
      }
    }
  }
  for (auto& blocks : data.idle_) {
    std::sort(blocks.begin(), blocks.end(),
              [](const IdleBlock& a, const IdleBlock& b) { return a.start_ns < b.start_ns; });
  }

  // Lanes: devices first, then one per (device, expert) pair seen.
  std::map<std::pair<int, int>, int> expert_lane_of;
  if (options.expert_lanes) {
    for (const Event& e : events) {
      if (e.expert >= 0) expert_lane_of.try_emplace({e.device, e.expert}, 0);
    }
  }
  data.lanes_.resize(static_cast<std::size_t>(D) + expert_lane_of.size());
  for (int d = 0; d < D; ++d)
    data.lanes_[static_cast<std::size_t>(d)].device = d;
  int next_lane = D;
  for (auto& [key, lane] : expert_lane_of) {
    lane = next_lane++;
    data.lanes_[static_cast<std::size_t>(lane)].device = key.first;
    data.lanes_[static_cast<std::size_t>(lane)].expert = key.second;
  }
  std::vector<std::size_t> counts(data.lanes_.size(), 0);
  std::vector<int> expert_lane_of_event(events.size(), -1);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    ++counts[static_cast<std::size_t>(e.device)];
    if (e.expert >= 0 && options.expert_lanes) {
      const int lane = expert_lane_of.find({e.device, e.expert})->second;
      expert_lane_of_event[i] = lane;
      ++counts[static_cast<std::size_t>(lane)];
    }
  }
  for (std::size_t lane = 0; lane < data.lanes_.size(); ++lane)
    data.lanes_[lane].spans.reserve(counts[lane]);

  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const int old_slot = slot_of_event[i];
    const SlotInfo& s = slots[static_cast<std::size_t>(old_slot)];
    const int slot = order[static_cast<std::size_t>(old_slot)];
    const TimelineLayer& l = data.layers_[static_cast<std::size_t>(slot)];
    bool critical = false;
    switch (e.phase) {
      case Phase::kGating:
      case Phase::kPolicy:
        critical = true;
        break;
      case Phase::kWait:
        break;
      case Phase::kDispatch:
        critical = i == s.critical_dispatch;
        break;
      case Phase::kCombine:
        critical = i == s.critical_combine;
        break;
      case Phase::kExpert:
      case Phase::kSharedExpert:
        critical = e.device == l.straggler_device;
        break;
    }
    const TimelineSpan span{e.start_ns, e.end_ns,
                            slot,       static_cast<std::int16_t>(e.expert),
                            e.phase,    critical ? TimelineSpan::kCriticalPath : std::uint8_t{0}};
    data.lanes_[static_cast<std::size_t>(e.device)].spans.push_back(span);
    if (expert_lane_of_event[i] >= 0) {
      data.lanes_[static_cast<std::size_t>(expert_lane_of_event[i])].spans.push_back(span);
    }
  }
  for (auto& lane : data.lanes_)
    finish_lane(lane);

  data.span_count_ = events.size();
  data.layer_starts_.reserve(data.layers_.size());
  for (const auto& l : data.layers_)
    data.layer_starts_.push_back(l.start_ns);
  data.start_ns_ = data.layers_.front().start_ns;
  data.end_ns_ = kNone;
  for (const auto& l : data.layers_)
    data.end_ns_ = std::max(data.end_ns_, l.end_ns);
  return data;
}

int TimelineData::expert_lane(int device, int expert) const {
  for (std::size_t lane = static_cast<std::size_t>(devices_); lane < lanes_.size(); ++lane) {
    if (lanes_[lane].device == device && lanes_[lane].expert == expert) {
      return static_cast<int>(lane);
    }
  }
  return -1;
}

std::vector<int> TimelineData::rows(bool expanded) const {
  std::vector<int> out;
  out.reserve(expanded ? lanes_.size() : static_cast<std::size_t>(devices_));
  for (int d = 0; d < devices_; ++d) {
    out.push_back(d);
    if (!expanded) continue;
    // Expert lanes are ordered by (device, expert), so a device's experts are contiguous.
    for (std::size_t lane = static_cast<std::size_t>(devices_); lane < lanes_.size(); ++lane) {
      if (lanes_[lane].device == d) out.push_back(static_cast<int>(lane));
    }
  }
  return out;
}

int TimelineData::layer_slot(int step, int layer) const {
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    if (layers_[k].step == step && layers_[k].layer == layer) return static_cast<int>(k);
  }
  return -1;
}

int TimelineData::layer_at(std::int64_t t_ns) const {
  const auto it = std::upper_bound(layer_starts_.begin(), layer_starts_.end(), t_ns);
  return static_cast<int>(it - layer_starts_.begin()) - 1;
}

const std::vector<IdleBlock>& TimelineData::idle(int device) const {
  static const std::vector<IdleBlock> kNoIdle;
  if (device < 0 || device >= devices_) return kNoIdle;
  return idle_[static_cast<std::size_t>(device)];
}

std::int64_t TimelineData::idle_ns(int layer_slot, int device) const {
  std::int64_t total = 0;
  for (const auto& block : idle(device)) {
    if (block.layer_slot == layer_slot) total += block.end_ns - block.start_ns;
  }
  return total;
}

std::vector<TimelineSpan> TimelineData::critical_path(int layer_slot) const {
  std::vector<TimelineSpan> out;
  if (layer_slot < 0 || layer_slot >= static_cast<int>(layers_.size())) return out;
  const TimelineLayer& l = layers_[static_cast<std::size_t>(layer_slot)];
  for (int d = 0; d < devices_; ++d) {
    const TimelineLane& lane = lanes_[static_cast<std::size_t>(d)];
    for (std::size_t i = first_visible_span(lane, l.start_ns);
         i < lane.spans.size() && lane.spans[i].start_ns <= l.end_ns; ++i) {
      const TimelineSpan& s = lane.spans[i];
      if (s.layer_slot == layer_slot && s.on_critical_path()) out.push_back(s);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const TimelineSpan& a, const TimelineSpan& b) {
    return a.start_ns < b.start_ns;
  });
  return out;
}

std::optional<int> TimelineData::hit_test(int lane, std::int64_t t_ns,
                                          std::int64_t tolerance_ns) const {
  if (lane < 0 || lane >= static_cast<int>(lanes_.size())) return std::nullopt;
  const TimelineLane& l = lanes_[static_cast<std::size_t>(lane)];
  std::optional<int> best;
  std::int64_t best_distance = std::numeric_limits<std::int64_t>::max();
  std::int64_t best_duration = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = first_visible_span(l, t_ns - tolerance_ns);
       i < l.spans.size() && l.spans[i].start_ns <= t_ns + tolerance_ns; ++i) {
    const TimelineSpan& s = l.spans[i];
    const std::int64_t distance =
        t_ns < s.start_ns ? s.start_ns - t_ns : (t_ns > s.end_ns ? t_ns - s.end_ns : 0);
    if (distance > tolerance_ns) continue;
    if (distance < best_distance ||
        (distance == best_distance && s.duration_ns() < best_duration)) {
      best = static_cast<int>(i);
      best_distance = distance;
      best_duration = s.duration_ns();
    }
  }
  return best;
}

std::vector<DeviceTotals> totals_between(const TimelineData& timeline, std::int64_t t0_ns,
                                         std::int64_t t1_ns) {
  std::vector<DeviceTotals> totals(static_cast<std::size_t>(timeline.devices()));
  auto inside = [&](std::int64_t start, std::int64_t end) {
    return std::max<std::int64_t>(0, std::min(end, t1_ns) - std::max(start, t0_ns));
  };
  for (int d = 0; d < timeline.devices(); ++d) {
    DeviceTotals& row = totals[static_cast<std::size_t>(d)];
    row.device = d;
    if (t1_ns <= t0_ns) continue;
    const TimelineLane& lane = timeline.lanes()[static_cast<std::size_t>(timeline.device_lane(d))];
    for (std::size_t i = first_visible_span(lane, t0_ns);
         i < lane.spans.size() && lane.spans[i].start_ns < t1_ns; ++i) {
      const TimelineSpan& span = lane.spans[i];
      if (span.end_ns < t0_ns) continue;  // an earlier, longer span kept the prefix maximum up
      ++row.spans;
      const std::int64_t part = inside(span.start_ns, span.end_ns);
      switch (span.phase) {
        case Phase::kExpert:
        case Phase::kSharedExpert:
          row.expert_ns += part;
          break;
        case Phase::kDispatch:
        case Phase::kCombine:
          row.transfer_ns += part;
          break;
        case Phase::kGating:
        case Phase::kPolicy:
          row.host_ns += part;
          break;
        case Phase::kWait:
          row.idle_ns += part;
          break;
      }
    }
    for (const IdleBlock& block : timeline.idle(d)) {
      if (block.start_ns >= t1_ns) break;
      row.idle_ns += inside(block.start_ns, block.end_ns);
    }
  }
  return totals;
}

std::size_t first_visible_span(const TimelineLane& lane, std::int64_t t0_ns) {
  return static_cast<std::size_t>(
      std::upper_bound(lane.max_end.begin(), lane.max_end.end(), t0_ns) - lane.max_end.begin());
}

void fold_spans(const TimelineLane& lane, std::int64_t t0_ns, std::int64_t t1_ns, double width_px,
                std::vector<DrawItem>& out, const LodOptions& options) {
  out.clear();
  if (t1_ns <= t0_ns) return;
  const double ns_per_px = static_cast<double>(t1_ns - t0_ns) / std::max(width_px, 1.0);
  auto threshold = [&](double px) { return static_cast<std::int64_t>(std::ceil(px * ns_per_px)); };
  const std::int64_t min_width = threshold(options.min_span_px);
  const std::int64_t max_gap = threshold(options.max_gap_px);
  const std::int64_t max_fold = threshold(options.max_fold_px);

  const auto& s = lane.spans;
  const std::size_t n = s.size();
  std::size_t i = first_visible_span(lane, t0_ns);
  while (i < n && s[i].start_ns < t1_ns) {
    DrawItem item{s[i].start_ns, s[i].end_ns, s[i].duration_ns(), static_cast<std::int32_t>(i), 1,
                  false};
    if (s[i].duration_ns() >= min_width) {
      out.push_back(item);
      ++i;
      continue;
    }
    const std::int64_t limit = std::min(s[i].start_ns + max_fold, t1_ns);
    std::size_t j = i + 1;
    while (j < n) {
      if (j % kFoldChunk == 0 && j + kFoldChunk <= n) {
        const FoldChunk& c = lane.chunks[j / kFoldChunk];
        if (c.max_duration_ns < min_width && c.max_gap_ns < max_gap &&
            s[j + kFoldChunk - 1].start_ns < limit) {
          item.end_ns = std::max(item.end_ns, c.max_end_ns);
          item.busy_ns = profiler::saturating_add(item.busy_ns, c.busy_ns);
          item.count += static_cast<std::int32_t>(kFoldChunk);
          j += kFoldChunk;
          continue;
        }
      }
      const TimelineSpan& next = s[j];
      if (next.duration_ns() >= min_width || next.start_ns >= limit ||
          next.start_ns - lane.max_end[j - 1] >= max_gap) {
        break;
      }
      item.end_ns = std::max(item.end_ns, next.end_ns);
      item.busy_ns = profiler::saturating_add(item.busy_ns, next.duration_ns());
      ++item.count;
      ++j;
    }
    // A lone narrow span keeps its own colour.
    item.folded = item.count > 1;
    out.push_back(item);
    i = j;
  }
}

std::vector<DrawItem> fold_spans(const TimelineLane& lane, std::int64_t t0_ns, std::int64_t t1_ns,
                                 double width_px, const LodOptions& options) {
  std::vector<DrawItem> out;
  fold_spans(lane, t0_ns, t1_ns, width_px, out, options);
  return out;
}

}  // namespace moescope::viewdata
