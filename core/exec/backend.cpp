#include "core/exec/backend.h"

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

}  // namespace moescope
