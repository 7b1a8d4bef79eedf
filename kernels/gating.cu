#include "core/base/error.h"
#include "core/moe/routing_math.h"
#include "kernels/gating.h"

namespace moescope::kernels {

namespace {

constexpr int kWarp = 32;
constexpr int kPerLane = kMaxGatingExperts / kWarp;
constexpr int kWarpsPerBlock = 8;
constexpr unsigned kAllLanes = 0xffffffffu;

// Each lane holds experts lane, lane + 32, ...; a warp reduction finds the best (p, e) under
// routing::expert_outranks, so the order of the reduction cannot change the winner.
__global__ void gating_kernel(const float* logits, std::int64_t tokens, int experts, int top_k,
                              bool norm_topk_prob, float* probs, int* topk_experts,
                              float* topk_weights, float* topk_sum) {
  const std::int64_t t =
      blockIdx.x * static_cast<std::int64_t>(kWarpsPerBlock) + threadIdx.x / kWarp;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  if (t >= tokens) return;  // whole warps leave together
  const float* z = logits + t * experts;

  float p[kPerLane];
  float max_logit = -INFINITY;
  for (int i = 0; i < kPerLane; ++i) {
    const int e = lane + i * kWarp;
    p[i] = e < experts ? z[e] : -INFINITY;
    max_logit = fmaxf(max_logit, p[i]);
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    max_logit = fmaxf(max_logit, __shfl_xor_sync(kAllLanes, max_logit, offset));
  float sum = 0.0f;
  for (int i = 0; i < kPerLane; ++i) {
    const int e = lane + i * kWarp;
    p[i] = e < experts ? expf(p[i] - max_logit) : 0.0f;
    sum += p[i];
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    sum += __shfl_xor_sync(kAllLanes, sum, offset);
  const float inv = 1.0f / sum;
  for (int i = 0; i < kPerLane; ++i) {
    const int e = lane + i * kWarp;
    p[i] *= inv;
    if (e < experts) probs[t * experts + e] = p[i];
  }

  // k rounds of a warp-wide arg-max; the winner is taken out of the running.
  bool taken[kPerLane] = {};
  float chosen_sum = 0.0f;
  float chosen_p[kMaxGatingTopK];
  int chosen_e[kMaxGatingTopK];
  for (int j = 0; j < top_k; ++j) {
    float best_p = -1.0f;
    int best_e = experts;
    for (int i = 0; i < kPerLane; ++i) {
      const int e = lane + i * kWarp;
      if (e < experts && !taken[i] && routing::expert_outranks(p[i], e, best_p, best_e)) {
        best_p = p[i];
        best_e = e;
      }
    }
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      const float other_p = __shfl_xor_sync(kAllLanes, best_p, offset);
      const int other_e = __shfl_xor_sync(kAllLanes, best_e, offset);
      if (routing::expert_outranks(other_p, other_e, best_p, best_e)) {
        best_p = other_p;
        best_e = other_e;
      }
    }
    if (best_e < experts && best_e % kWarp == lane) taken[best_e / kWarp] = true;
    chosen_p[j] = best_p;
    chosen_e[j] = best_e;
    chosen_sum += best_p;
  }
  if (lane == 0) {
    for (int j = 0; j < top_k; ++j) {
      topk_experts[t * top_k + j] = chosen_e[j];
      topk_weights[t * top_k + j] = routing::router_weight(chosen_p[j], chosen_sum, norm_topk_prob);
    }
    topk_sum[t] = chosen_sum;
  }
}

}  // namespace

void launch_gating(const float* logits, std::int64_t tokens, int experts, int top_k,
                   bool norm_topk_prob, float* probs, int* topk_experts, float* topk_weights,
                   float* topk_sum, cudaStream_t stream) {
  if (experts < 1 || experts > kMaxGatingExperts) {
    throw Error("GPU gating handles 1.." + std::to_string(kMaxGatingExperts) + " experts, got " +
                std::to_string(experts));
  }
  if (top_k < 1 || top_k > experts || top_k > kMaxGatingTopK) {
    throw Error("GPU gating handles top-k 1.." + std::to_string(kMaxGatingTopK) +
                " (and at most E), got " + std::to_string(top_k));
  }
  if (tokens == 0) return;
  const auto blocks = static_cast<unsigned>((tokens + kWarpsPerBlock - 1) / kWarpsPerBlock);
  gating_kernel<<<blocks, kWarpsPerBlock * kWarp, 0, stream>>>(
      logits, tokens, experts, top_k, norm_topk_prob, probs, topk_experts, topk_weights, topk_sum);
}

}  // namespace moescope::kernels
