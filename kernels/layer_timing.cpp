#include "kernels/layer_timing.h"

#include <algorithm>
#include <exception>

#include "core/base/error.h"

namespace moescope::kernels {

namespace {

// One time for all experts, shared by rows: each expert's share of the FLOPs. An expert
// with rows gets at least 1 ns, so that "it ran" stays visible.
void apportion(std::int64_t total_ns, const DispatchPlan& plan, LayerExecution& out) {
  const auto rows = static_cast<std::int64_t>(plan.row_token.size());
  if (rows == 0) return;
  for (int e = 0; e < plan.experts; ++e) {
    if (plan.rows_of(e) == 0) continue;
    out.expert_ns[static_cast<std::size_t>(e)] =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(total_ns) *
                                                            static_cast<double>(plan.rows_of(e)) /
                                                            static_cast<double>(rows)));
  }
}

}  // namespace

LayerTiming::LayerTiming(cudaStream_t stream, bool use_cupti) : events_(stream) {
  if (use_cupti) {
    try {
      cupti_ = profiler::CuptiCollector::start();
    } catch (const std::exception& e) {
      cupti_unavailable_ = e.what();
    }
  } else {
    cupti_unavailable_ = "CUDA events were asked for";
  }
}

std::string LayerTiming::describe() const {
  std::string d = "timed by " + collector();
  if (!cupti_) d += "; CUPTI unavailable: " + cupti_unavailable_;
  if (cupti_dropped_ > 0) {
    d += "; CUPTI dropped " + std::to_string(cupti_dropped_) + " records, " +
         std::to_string(layers_timed_by_events_) + " layers timed by CUDA events instead";
  }
  return d;
}

void LayerTiming::begin_layer(int step, int layer, const Placement& placement) {
  if (step > profiler::kMaxTagStep || layer > profiler::kMaxTagLayer ||
      placement.devices - 1 > profiler::kMaxTagDevice ||
      placement.experts() - 1 > profiler::kMaxTagExpert) {
    throw Error("the CUDA backend tags kernels with steps up to " +
                std::to_string(profiler::kMaxTagStep) + ", layers up to " +
                std::to_string(profiler::kMaxTagLayer) + ", devices up to " +
                std::to_string(profiler::kMaxTagDevice) + " and experts up to " +
                std::to_string(profiler::kMaxTagExpert) + "; this run goes beyond");
  }
  step_ = step;
  layer_ = layer;
  device_of_expert_ = placement.device_of_expert;
}

void LayerTiming::discard_records() {
  if (cupti_) cupti_->flush();
}

void LayerTiming::collect(const LayerMarks& marks, const DispatchPlan& plan, int experts,
                          LayerExecution& out) {
  out.expert_ns.assign(static_cast<std::size_t>(experts), 0);
  std::optional<profiler::LayerGpuTimes> gpu;
  if (cupti_) {
    const profiler::AttributedActivity activity = cupti_->flush();
    cupti_dropped_ += activity.counts.dropped + activity.counts.invalid;
    if (activity.counts.dropped == 0 && activity.counts.invalid == 0) {
      gpu = profiler::sum_layer_times(activity.events, step_, layer_, experts);
      keep_kernel_records(activity, out);
    } else {
      ++layers_timed_by_events_;
    }
  }
  if (gpu) {
    out.dispatch_ns = gpu->dispatch_ns;
    out.shared_ns = gpu->shared_ns;
    out.combine_ns = gpu->combine_ns;
    out.expert_ns = gpu->expert_ns;
    if (marks.all_experts) apportion(gpu->all_experts_ns, plan, out);
    return;
  }
  out.dispatch_ns = events_.elapsed_ns(marks.dispatch.start, marks.dispatch.end);
  out.combine_ns = events_.elapsed_ns(marks.combine.start, marks.combine.end);
  if (marks.shared) out.shared_ns = events_.elapsed_ns(marks.shared->start, marks.shared->end);
  if (marks.all_experts) {
    apportion(events_.elapsed_ns(marks.all_experts->start, marks.all_experts->end), plan, out);
    return;
  }
  for (std::size_t e = 0; e < marks.experts.size(); ++e) {
    if (plan.rows_of(static_cast<int>(e)) > 0) {
      out.expert_ns[e] = events_.elapsed_ns(marks.experts[e].start, marks.experts[e].end);
    }
  }
}

// The layer's kernels and copies, from its first, for the session store.
void LayerTiming::keep_kernel_records(const profiler::AttributedActivity& activity,
                                      LayerExecution& out) const {
  std::int64_t first = 0;
  bool any = false;
  for (const auto& e : activity.events) {
    if (e.step != step_ || e.layer != layer_) continue;
    first = any ? std::min(first, e.start_ns) : e.start_ns;
    any = true;
  }
  for (std::size_t i = 0; i < activity.events.size(); ++i) {
    profiler::Event e = activity.events[i];
    if (e.step != step_ || e.layer != layer_) continue;
    e.start_ns -= first;
    e.end_ns -= first;
    out.gpu_kernels.push_back(e);
    out.gpu_kernel_names.push_back(activity.names[i]);
  }
}

LayerTiming::Tagged::Tagged(LayerTiming& timing, profiler::Phase phase, int expert,
                            const std::string& label)
    : timing_(timing), range_(label) {
  if (!timing_.cupti_) return;
  const auto& devices = timing_.device_of_expert_;
  const int device = expert >= 0 && static_cast<std::size_t>(expert) < devices.size()
                         ? devices[static_cast<std::size_t>(expert)]
                         : 0;
  timing_.cupti_->push({timing_.step_, timing_.layer_, device, expert, phase});
}

LayerTiming::Tagged::~Tagged() {
  if (!timing_.cupti_) return;
  try {
    timing_.cupti_->pop();
  } catch (const std::exception&) {
    // A destructor must not throw; the layer's flush then finds the launches untagged.
  }
}

}  // namespace moescope::kernels
