// Gating on the GPU: the router's scores over the E experts, the eligible groups and the top k
// per token, a warp per token, with the ranking and weight rules of core/moe/routing_math.h
// (ties to the lower expert, then group).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/model/router_config.h"

namespace moescope::kernels {

constexpr int kMaxGatingExperts = 512;
constexpr int kMaxGatingTopK = 32;
constexpr int kMaxGatingGroups = 64;

// logits [T, E] (and the selection bias [E], or null) -> probs [T, E], topk_experts and
// topk_weights [T, k] in slot order, topk_sum [T]. Throws Error when E, k or the groups are
// beyond what the kernel holds in registers, or the router does not fit E and k.
void launch_gating(const float* logits, const float* selection_bias, std::int64_t tokens,
                   int experts, int top_k, const RouterConfig& router, float* probs,
                   int* topk_experts, float* topk_weights, float* topk_sum, cudaStream_t stream);

}  // namespace moescope::kernels
