// Instantiates core's shared routing functions in device code: the gating kernel of issue 4
// will call exactly these. One thread per token: softmax, top-k and the router weights.
#include "core/routing_math.h"

namespace moescope::kernels {

constexpr int kMaxExperts = 256;
constexpr int kMaxTopK = 16;

__global__ void route_tokens_reference(const float* logits, int tokens, int experts, int top_k,
                                       bool norm_topk_prob, int* topk_experts,
                                       float* topk_weights) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= tokens || experts > kMaxExperts || top_k > kMaxTopK) return;
  float probs[kMaxExperts];
  float best[kMaxTopK];
  routing::softmax_row(logits + static_cast<long long>(t) * experts, experts, probs);
  routing::top_k_row(probs, experts, top_k, topk_experts + static_cast<long long>(t) * top_k, best);
  float sum = 0.0f;
  for (int j = 0; j < top_k; ++j)
    sum += best[j];
  for (int j = 0; j < top_k; ++j) {
    topk_weights[static_cast<long long>(t) * top_k + j] =
        routing::router_weight(best[j], sum, norm_topk_prob);
  }
}

}  // namespace moescope::kernels
