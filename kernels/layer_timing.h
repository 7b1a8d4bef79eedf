// How the backend times a layer. CUPTI traces every kernel and copy, each carrying the tag
// (step, layer, device, expert, phase) pushed around its launch; CUDA events mark the stream
// between the spans. A layer is timed by CUPTI when CUPTI kept every one of its records whole,
// else by the events, so that a lost record never shortens an expert.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/exec/backend.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/placement.h"
#include "profiler/cuda_event_timer.h"
#include "profiler/cupti_collector.h"
#include "profiler/event.h"
#include "profiler/nvtx_range.h"

namespace moescope::kernels {

// Where a timed span starts and ends, as indices of the events marked on the stream.
struct MarkSpan {
  std::size_t start = 0;
  std::size_t end = 0;
};

struct LayerMarks {
  MarkSpan dispatch;
  std::vector<MarkSpan> experts;        // [E], of the experts with rows (one GEMM pair each)
  std::optional<MarkSpan> all_experts;  // the grouped GEMMs, when the experts ran grouped
  std::optional<MarkSpan> shared;       // when the layer has shared experts
  MarkSpan combine;
};

class LayerTiming {
 public:
  // CUPTI only when `use_cupti` and it can start; why it is not used goes into describe().
  LayerTiming(cudaStream_t stream, bool use_cupti);
  LayerTiming(const LayerTiming&) = delete;
  LayerTiming& operator=(const LayerTiming&) = delete;

  std::string collector() const { return cupti_ ? "cupti" : "cuda-events"; }
  // "timed by <collector>", and what kept CUPTI from timing some or all layers.
  std::string describe() const;

  // Throws Error when the layer's tags cannot hold its step, layer, devices or experts.
  void begin_layer(int step, int layer, const Placement& placement);

  void reset_marks() { events_.reset(); }
  // Marks the stream before and after the work `launch` enqueues.
  template <typename Launch>
  MarkSpan span(Launch&& launch) {
    MarkSpan s;
    s.start = events_.mark();
    launch();
    s.end = events_.mark();
    return s;
  }

  // Drops what CUPTI recorded of a layer that did not finish, so it is not counted in the next.
  void discard_records();

  // Once the layer's work is finished: its phase and expert times into `out`, and under CUPTI
  // its kernel records.
  void collect(const LayerMarks& marks, const DispatchPlan& plan, int experts, LayerExecution& out);

  // An NVTX range and, under CUPTI, the tag every kernel launched inside it carries.
  class Tagged {
   public:
    Tagged(LayerTiming& timing, profiler::Phase phase, int expert, const std::string& label);
    ~Tagged();
    Tagged(const Tagged&) = delete;
    Tagged& operator=(const Tagged&) = delete;

   private:
    LayerTiming& timing_;
    profiler::NvtxRange range_;
  };

 private:
  void keep_kernel_records(const profiler::AttributedActivity& activity, LayerExecution& out) const;

  // Declared before cupti_, so that CUPTI stops before the events go.
  profiler::CudaEventTimer events_;
  std::unique_ptr<profiler::CuptiCollector> cupti_;
  std::string cupti_unavailable_;
  std::int64_t cupti_dropped_ = 0;
  std::int64_t layers_timed_by_events_ = 0;
  int step_ = 0;
  int layer_ = 0;
  std::vector<int> device_of_expert_;
};

}  // namespace moescope::kernels
