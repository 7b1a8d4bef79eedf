#include "core/run/layer_timeline.h"

#include <algorithm>
#include <numeric>

#include "core/moe/routing_math.h"

namespace moescope {

namespace {

using profiler::Event;
using profiler::Phase;

std::int64_t share(std::int64_t total_ns, std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return 0;
  return static_cast<std::int64_t>(static_cast<double>(total_ns) * static_cast<double>(part) /
                                   static_cast<double>(whole));
}

}  // namespace

LayerTimeline compose_layer_timeline(const LayerExecution& execution, const Placement& placement,
                                     const std::vector<std::int64_t>& kept_pairs_per_device,
                                     std::int64_t tokens, int step, int layer) {
  const int D = placement.devices;
  const std::int64_t total_pairs =
      std::accumulate(kept_pairs_per_device.begin(), kept_pairs_per_device.end(), std::int64_t{0});
  std::vector<std::int64_t> tokens_of(static_cast<std::size_t>(D), 0);
  for (std::int64_t t = 0; t < tokens; ++t) {
    ++tokens_of[static_cast<std::size_t>(routing::source_of_token(t, D, tokens))];
  }

  LayerTimeline out;
  out.device_busy_ns.assign(static_cast<std::size_t>(D), 0);
  auto span = [&](int device, int stream, int expert, Phase phase, std::int64_t start,
                  std::int64_t duration) {
    if (duration <= 0) return;
    out.events.push_back({start, start + duration, device, stream, step, layer, expert, phase});
  };

  for (int d = 0; d < D; ++d) {
    const auto ns = share(execution.dispatch_ns, kept_pairs_per_device[static_cast<std::size_t>(d)],
                          total_pairs);
    span(d, 0, -1, Phase::kDispatch, 0, ns);
    out.dispatch_ns = std::max(out.dispatch_ns, ns);
  }

  std::vector<std::int64_t> device_end(static_cast<std::size_t>(D), 0);
  for (int d = 0; d < D; ++d) {
    std::int64_t clock = out.dispatch_ns;
    const auto shared = share(execution.shared_ns, tokens_of[static_cast<std::size_t>(d)], tokens);
    span(d, 0, -1, Phase::kSharedExpert, clock, shared);
    clock += shared;
    for (int e : placement.experts_on(d)) {
      const auto ns = execution.expert_ns[static_cast<std::size_t>(e)];
      span(d, 0, e, Phase::kExpert, clock, ns);
      clock += ns;
      out.device_busy_ns[static_cast<std::size_t>(d)] += ns;
    }
    device_end[static_cast<std::size_t>(d)] = clock;
  }
  const auto slowest = std::max_element(device_end.begin(), device_end.end());
  out.straggler_device = static_cast<int>(slowest - device_end.begin());
  out.expert_phase_ns = *slowest - out.dispatch_ns;
  std::int64_t slowest_expert_ns = -1;
  for (int e : placement.experts_on(out.straggler_device)) {
    if (execution.expert_ns[static_cast<std::size_t>(e)] > slowest_expert_ns) {
      slowest_expert_ns = execution.expert_ns[static_cast<std::size_t>(e)];
      out.straggler_expert = e;
    }
  }

  for (int d = 0; d < D; ++d) {
    const auto ns = share(execution.combine_ns, tokens_of[static_cast<std::size_t>(d)], tokens);
    span(d, 0, -1, Phase::kCombine, *slowest, ns);
    out.combine_ns = std::max(out.combine_ns, ns);
  }
  out.latency_ns = out.dispatch_ns + out.expert_phase_ns + out.combine_ns;

  const auto max_busy = *std::max_element(out.device_busy_ns.begin(), out.device_busy_ns.end());
  const double mean_busy =
      static_cast<double>(
          std::accumulate(out.device_busy_ns.begin(), out.device_busy_ns.end(), std::int64_t{0})) /
      D;
  out.straggler_margin_ns = max_busy - static_cast<std::int64_t>(mean_busy);
  return out;
}

LayerTimeline measured_layer_timeline(const std::vector<profiler::Event>& spans, int devices) {
  LayerTimeline out;
  out.events = spans;
  const auto D = static_cast<std::size_t>(devices);
  out.device_busy_ns.assign(D, 0);
  std::vector<std::int64_t> dispatch_end(D, 0), expert_end(D, 0);
  std::int64_t end = 0;
  for (const Event& e : spans) {
    const auto d = static_cast<std::size_t>(e.device);
    if (d >= D) continue;
    end = std::max(end, e.end_ns);
    if (e.phase == Phase::kDispatch) dispatch_end[d] = std::max(dispatch_end[d], e.end_ns);
    if (e.phase == Phase::kExpert || e.phase == Phase::kSharedExpert) {
      expert_end[d] = std::max(expert_end[d], e.end_ns);
      if (e.phase == Phase::kExpert) out.device_busy_ns[d] += e.duration_ns();
    }
  }
  out.dispatch_ns = *std::max_element(dispatch_end.begin(), dispatch_end.end());
  const auto slowest = std::max_element(expert_end.begin(), expert_end.end());
  out.straggler_device = static_cast<int>(slowest - expert_end.begin());
  out.expert_phase_ns = std::max<std::int64_t>(0, *slowest - out.dispatch_ns);
  out.latency_ns = end;
  out.combine_ns = std::max<std::int64_t>(0, end - out.dispatch_ns - out.expert_phase_ns);
  std::int64_t slowest_expert_ns = -1;
  for (const Event& e : spans) {
    if (e.phase == Phase::kExpert && e.device == out.straggler_device &&
        e.duration_ns() > slowest_expert_ns) {
      slowest_expert_ns = e.duration_ns();
      out.straggler_expert = e.expert;
    }
  }
  const auto max_busy = *std::max_element(out.device_busy_ns.begin(), out.device_busy_ns.end());
  const double mean_busy =
      static_cast<double>(
          std::accumulate(out.device_busy_ns.begin(), out.device_busy_ns.end(), std::int64_t{0})) /
      devices;
  out.straggler_margin_ns = max_busy - static_cast<std::int64_t>(mean_busy);
  return out;
}

}  // namespace moescope
