// The interface every compute backend implements (CPU here; CUDA in kernels/).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/cancel.h"
#include "core/model/expert_weights.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"
#include "profiler/event.h"

namespace moescope {

// What one layer's execution produced: the output and how long each part took.
struct LayerExecution {
  std::vector<float> output;            // [T, H]
  std::vector<std::int64_t> expert_ns;  // [E] each expert's compute, measured in isolation
  std::int64_t dispatch_ns = 0;         // gathering the rows of every expert
  std::int64_t shared_ns = 0;           // the shared experts over all tokens
  std::int64_t combine_ns = 0;          // the weighted sum back into token order
  // Every kernel and copy as the GPU ran it (CUPTI), with its name, in ns from the first of
  // the layer; empty for the other collectors.
  std::vector<profiler::Event> gpu_kernels;
  std::vector<std::string> gpu_kernel_names;
  // Ranks only: every rank's spans as they happened (device = rank), on rank 0's clock, in ns
  // from the layer's first span; empty for single-process runs.
  std::vector<profiler::Event> measured_spans;
};

// When one group of rows was computed (profiler::now_ns()).
struct GroupSpan {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // A line for reports: the device(s) and library, e.g. "CPU (OpenBLAS, 2 threads)".
  virtual std::string describe() const = 0;
  // The hardware and kernels the times come from, stable across runs ("AMD EPYC, OpenBLAS
  // Cooperlake kernels, 2 threads"): a cost model fitted on one machine serves only it.
  virtual std::string machine() const = 0;
  virtual profiler::Timing timing() const = 0;
  // What measured the times: "cpu-timer", "cuda-events" or "cupti" (stored with every run).
  virtual std::string collector() const = 0;
  // Called before each layer, so that a backend can tag what it records with the step, the
  // layer and the device of each expert. Throws Error when it cannot tag them.
  virtual void begin_layer(int /*step*/, int /*layer*/, const Placement& /*placement*/) {}
  // Throws Error, before anything runs, when the backend cannot compute this model's experts.
  virtual void check_model(const ModelSpec& /*spec*/) const {}

  // Gating and the capacity policy. The defaults run core's router and policies on the host;
  // a backend may do them itself (the CUDA backend does, on the GPU) and must then keep the
  // same pairs. Both throw Error on bad input, as route() and apply_policy() do.
  virtual RouterOutput route(const float* logits, int tokens, int experts, int top_k,
                             const RouterConfig& router, const float* selection_bias, int layer);
  virtual PolicyOutcome apply_policy(const RouterOutput& router, const PolicyConfig& config,
                                     const Placement& placement);
  // y = sum over kept pairs of w * Expert_e(x) + shared experts. `weights` are the pair
  // weights in outcome order (`plan.pair_row` maps them to rows).
  virtual LayerExecution run_layer(const float* hidden_states, const ExpertWeights& weights,
                                   const PolicyOutcome& outcome, const DispatchPlan& plan,
                                   const CancelFlag* cancel) = 0;

  // The stages of a layer apart, for ranks (core/ranks/), which put an all-to-all between
  // them. run_layer combines each token's pairs device by device in device order (a partial sum
  // per device, added to the shared experts' output in device order), so that ranks, which
  // add one partial sum per rank, give its bits. A backend without stages throws Error.
  virtual bool has_stages() const { return false; }
  // Before the clocks start: whatever run_expert_groups for `groups` of `layer_plan` and
  // run_shared_experts on `shared_rows` rows will need (weights in the compute precision, the
  // products' code), so that their spans time computing only.
  virtual void prepare_stages(const ExpertWeights& /*w*/, const DispatchPlan& /*layer_plan*/,
                              const std::vector<int>& /*groups*/, std::int64_t /*shared_rows*/) {}
  // The experts of `groups` (groups of `layer_plan`, increasing) on their rows, given in fp32
  // one group after the other ([sum of their rows, H]); the outputs go to `rows_out` in the same
  // layout. The kernels are the ones run_layer chooses for the whole `layer_plan`, so a group's
  // rows come out with run_layer's bits. Returns each group's span.
  virtual std::vector<GroupSpan> run_expert_groups(const float* rows_in, const ExpertWeights& w,
                                                   const DispatchPlan& layer_plan,
                                                   const std::vector<int>& groups, float* rows_out,
                                                   const CancelFlag* cancel);
  // The shared experts on `tokens` rows of `x`, added into `y` ([tokens, H]), with the kernels
  // a layer of `layer_tokens` tokens chooses.
  virtual void run_shared_experts(const float* x, std::int64_t tokens, std::int64_t layer_tokens,
                                  const ExpertWeights& w, float* y);
};

}  // namespace moescope
