// Gating on the GPU: softmax over the E experts and the top k per token, a warp per token,
// with the ranking and weight rules of core/routing_math.h (ties to the lower expert).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moescope::kernels {

constexpr int kMaxGatingExperts = 256;
constexpr int kMaxGatingTopK = 32;

// logits [T, E] -> probs [T, E], topk_experts and topk_weights [T, k] in slot order,
// topk_sum [T]. Throws Error when E or k is beyond what the kernel holds in registers.
void launch_gating(const float* logits, std::int64_t tokens, int experts, int top_k,
                   bool norm_topk_prob, float* probs, int* topk_experts, float* topk_weights,
                   float* topk_sum, cudaStream_t stream);

}  // namespace moescope::kernels
