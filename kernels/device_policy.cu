#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system/system_error.h>

#include <cmath>

#include "core/base/error.h"
#include "kernels/device_policy.h"
#include "kernels/policy_pipeline.cuh"

namespace moescope::kernels {

namespace {

// `none` ignores gamma but, like apply_policy, reports the capacity gamma implies when valid.
bool gamma_valid(const PolicyConfig& config) {
  return std::isfinite(config.gamma) && config.gamma > 0;
}

std::vector<std::int64_t> capacities(const RouterOutput& router, const PolicyConfig& config,
                                     const Placement& placement) {
  return scope_capacities(router.tokens, router.top_k, router.experts, placement.devices,
                          gamma_valid(config) ? config.gamma : 1.0, config.capacity_scope);
}

// The pipeline wants one capacity per competition group (pipeline::GroupIndex's numbering).
std::vector<std::int64_t> capacity_per_group(const std::vector<std::int64_t>& per_scope,
                                             CapacityScope scope, int experts) {
  if (scope == CapacityScope::kDevice) return per_scope;
  std::vector<std::int64_t> out;
  for (std::int64_t c : per_scope)
    out.insert(out.end(), static_cast<std::size_t>(experts), c);
  return out;
}

template <template <typename...> class Vec>
pipeline::PolicyInput<Vec> make_input(const RouterOutput& router, const Placement& placement,
                                      const PolicyConfig& config,
                                      const std::vector<std::int64_t>& per_scope) {
  const auto capacity = capacity_per_group(per_scope, config.capacity_scope, router.experts);
  pipeline::PolicyInput<Vec> in;
  in.tokens = router.tokens;
  in.experts = router.experts;
  in.top_k = router.top_k;
  in.devices = placement.devices;
  in.norm_topk_prob = router.norm_topk_prob;
  in.routed_scaling_factor = router.routed_scaling_factor;
  in.probs = Vec<float>(router.probs.begin(), router.probs.end());
  in.topk_experts = Vec<int>(router.topk_experts.begin(), router.topk_experts.end());
  in.topk_sum = Vec<float>(router.topk_sum.begin(), router.topk_sum.end());
  in.device_of_expert =
      Vec<int>(placement.device_of_expert.begin(), placement.device_of_expert.end());
  in.capacity = Vec<std::int64_t>(capacity.begin(), capacity.end());
  return in;
}

PolicyOutcome to_outcome(const pipeline::KeptPairs& pairs, const PolicyConfig& config,
                         std::vector<std::int64_t> capacity) {
  PolicyOutcome out;
  if (gamma_valid(config)) out.capacity = std::move(capacity);
  out.kept.resize(pairs.token.size());
  for (std::size_t i = 0; i < pairs.token.size(); ++i)
    out.kept[i] = {pairs.token[i], pairs.expert[i], pairs.weight[i], pairs.in_topk[i] != 0};
  return out;
}

}  // namespace

PolicyOutcome apply_policy_pipeline_on_host(const RouterOutput& router, const PolicyConfig& config,
                                            const Placement& placement) {
  check_policy_input(router, config, placement);
  const auto capacity = capacities(router, config, placement);
  const auto in = make_input<thrust::host_vector>(router, placement, config, capacity);
  return to_outcome(pipeline::run_policy(thrust::host, in, config), config, capacity);
}

PolicyOutcome apply_policy_on_gpu(const RouterOutput& router, const PolicyConfig& config,
                                  const Placement& placement, cudaStream_t stream) {
  check_policy_input(router, config, placement);
  const auto capacity = capacities(router, config, placement);
  try {
    const auto in = make_input<thrust::device_vector>(router, placement, config, capacity);
    return to_outcome(pipeline::run_policy(thrust::cuda::par.on(stream), in, config), config,
                      capacity);
  } catch (const thrust::system_error& e) {
    throw Error(std::string("the capacity policy on the GPU failed: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw Error("the GPU is out of memory for the capacity policy; use fewer tokens");
  }
}

}  // namespace moescope::kernels
