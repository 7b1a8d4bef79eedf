#include "core/exec/backend.h"

#include "core/base/error.h"

namespace moescope {

// The defaults: core's router and policies, on the host.
RouterOutput Backend::route(const float* logits, int tokens, int experts, int top_k,
                            const RouterConfig& router, const float* selection_bias, int layer) {
  return moescope::route(logits, tokens, experts, top_k, router, selection_bias, layer);
}

PolicyOutcome Backend::apply_policy(const RouterOutput& router, const PolicyConfig& config,
                                    const Placement& placement) {
  return moescope::apply_policy(router, config, placement);
}

std::vector<GroupSpan> Backend::run_expert_groups(const float*, const ExpertWeights&,
                                                  const DispatchPlan&, const std::vector<int>&,
                                                  float*, const CancelFlag*) {
  throw Error("the " + name() + " backend cannot run a layer's stages apart (ranks need that)");
}

void Backend::run_shared_experts(const float*, std::int64_t, std::int64_t, const ExpertWeights&,
                                 float*) {
  throw Error("the " + name() + " backend cannot run a layer's stages apart (ranks need that)");
}

}  // namespace moescope
