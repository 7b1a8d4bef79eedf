#include "core/exec/backend.h"

namespace moescope {

// The defaults: core's router and policies, on the host.
RouterOutput Backend::route(const float* logits, int tokens, int experts, int top_k,
                            bool norm_topk_prob, int layer) {
  return moescope::route(logits, tokens, experts, top_k, norm_topk_prob, layer);
}

PolicyOutcome Backend::apply_policy(const RouterOutput& router, const PolicyConfig& config,
                                    const Placement& placement) {
  return moescope::apply_policy(router, config, placement);
}

}  // namespace moescope
