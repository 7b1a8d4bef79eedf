#include "core/base/error.h"
#include "core/moe/routing_math.h"
#include "kernels/gating.h"

namespace moescope::kernels {

namespace {

constexpr int kWarp = 32;
constexpr int kPerLane = kMaxGatingExperts / kWarp;
constexpr int kWarpsPerBlock = 8;
constexpr unsigned kAllLanes = 0xffffffffu;

// The router's settings as the kernel reads them.
struct GatingRule {
  bool sigmoid_scoring;
  int groups;
  int topk_groups;
  bool top2_sum;
  bool normalize;
  float scale;
};

// The two largest of a multiset, merged across lanes: the merge is commutative and
// associative, so the order of the warp's reduction cannot change the result.
struct TopTwo {
  float first = -INFINITY;
  float second = -INFINITY;
  __device__ void add(float v) {
    if (v > first) {
      second = first;
      first = v;
    } else if (v > second) {
      second = v;
    }
  }
};

__device__ TopTwo warp_top_two(TopTwo mine) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float other_first = __shfl_xor_sync(kAllLanes, mine.first, offset);
    const float other_second = __shfl_xor_sync(kAllLanes, mine.second, offset);
    mine.add(other_first);
    mine.add(other_second);
  }
  return mine;
}

// Each lane holds experts lane, lane + 32, ...; every arg-max is a warp reduction under
// routing::expert_outranks on the selection score q, so no order of reduction changes the
// winner. p is the affinity the weights use, q = p + bias chooses (shared/ALGORITHMS.md).
__global__ void gating_kernel(const float* logits, const float* bias, std::int64_t tokens,
                              int experts, int top_k, GatingRule rule, float* probs,
                              int* topk_experts, float* topk_weights, float* topk_sum) {
  const std::int64_t t =
      blockIdx.x * static_cast<std::int64_t>(kWarpsPerBlock) + threadIdx.x / kWarp;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  if (t >= tokens) return;  // whole warps leave together
  const float* z = logits + t * experts;

  float p[kPerLane];
  if (rule.sigmoid_scoring) {
    for (int i = 0; i < kPerLane; ++i) {
      const int e = lane + i * kWarp;
      p[i] = e < experts ? routing::sigmoid(z[e]) : 0.0f;
    }
  } else {
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
    for (int i = 0; i < kPerLane; ++i)
      p[i] *= inv;
  }
  float q[kPerLane];
  for (int i = 0; i < kPerLane; ++i) {
    const int e = lane + i * kWarp;
    if (e < experts) probs[t * experts + e] = p[i];
    q[i] = e < experts ? p[i] + (bias != nullptr ? bias[e] : 0.0f) : -INFINITY;
  }

  if (rule.groups > 1) {
    // Every lane ends with every group's score, and so decides eligibility alone.
    const int group_size = experts / rule.groups;
    float group_scores[kMaxGatingGroups];
    for (int g = 0; g < rule.groups; ++g) {
      TopTwo mine;
      for (int i = 0; i < kPerLane; ++i) {
        const int e = lane + i * kWarp;
        if (e < experts && e / group_size == g) mine.add(q[i]);
      }
      const TopTwo all = warp_top_two(mine);
      group_scores[g] = rule.top2_sum ? all.first + all.second : all.first;
    }
    for (int i = 0; i < kPerLane; ++i) {
      const int e = lane + i * kWarp;
      if (e < experts &&
          !routing::group_is_eligible(group_scores, rule.groups, rule.topk_groups, e / group_size))
        q[i] = -INFINITY;
    }
  }

  // k rounds of a warp-wide arg-max; the winner is taken out of the running.
  bool taken[kPerLane] = {};
  float chosen_sum = 0.0f;
  float chosen_p[kMaxGatingTopK];
  int chosen_e[kMaxGatingTopK];
  for (int j = 0; j < top_k; ++j) {
    float best_q = -INFINITY;
    float best_p = 0.0f;
    int best_e = experts;
    for (int i = 0; i < kPerLane; ++i) {
      const int e = lane + i * kWarp;
      if (e < experts && !taken[i] && routing::expert_outranks(q[i], e, best_q, best_e)) {
        best_q = q[i];
        best_p = p[i];
        best_e = e;
      }
    }
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      const float other_q = __shfl_xor_sync(kAllLanes, best_q, offset);
      const float other_p = __shfl_xor_sync(kAllLanes, best_p, offset);
      const int other_e = __shfl_xor_sync(kAllLanes, best_e, offset);
      if (routing::expert_outranks(other_q, other_e, best_q, best_e)) {
        best_q = other_q;
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
      topk_weights[t * top_k + j] =
          routing::router_weight(chosen_p[j], chosen_sum, rule.normalize, rule.scale);
    }
    topk_sum[t] = chosen_sum;
  }
}

}  // namespace

void launch_gating(const float* logits, const float* selection_bias, std::int64_t tokens,
                   int experts, int top_k, const RouterConfig& router, float* probs,
                   int* topk_experts, float* topk_weights, float* topk_sum, cudaStream_t stream) {
  if (experts < 1 || experts > kMaxGatingExperts) {
    throw Error("GPU gating handles 1.." + std::to_string(kMaxGatingExperts) + " experts, got " +
                std::to_string(experts));
  }
  if (top_k < 1 || top_k > experts || top_k > kMaxGatingTopK) {
    throw Error("GPU gating handles top-k 1.." + std::to_string(kMaxGatingTopK) +
                " (and at most E), got " + std::to_string(top_k));
  }
  if (router.groups > kMaxGatingGroups) {
    throw Error("GPU gating handles up to " + std::to_string(kMaxGatingGroups) +
                " expert groups, got " + std::to_string(router.groups));
  }
  validate(router, experts, top_k);
  if (tokens == 0) return;
  const GatingRule rule{router.scoring == RouterScoring::kSigmoid,
                        router.groups,
                        router.topk_groups,
                        router.group_score == GroupScore::kTop2Sum,
                        router.normalizes(),
                        static_cast<float>(router.routed_scaling_factor)};
  const auto blocks = static_cast<unsigned>((tokens + kWarpsPerBlock - 1) / kWarpsPerBlock);
  gating_kernel<<<blocks, kWarpsPerBlock * kWarp, 0, stream>>>(
      logits, selection_bias, tokens, experts, top_k, rule, probs, topk_experts, topk_weights,
      topk_sum);
}

}  // namespace moescope::kernels
