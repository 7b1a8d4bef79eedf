// The GPU gating kernel against core's router on the same logits, for every router variant
// (softmax or sigmoid, bias, groups by max or top-2 sum, normalization, scaling): the same
// experts in the same slots, and probabilities and weights within fp32 rounding.
#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"
#include "core/moe/router.h"
#include "core/moe/routing_math.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/gating.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/unit/test_support.h"

namespace moescope::kernels {
namespace {

class Gating : public test::GpuTest {};

template <typename T>
std::vector<T> download(const DeviceBuffer& b, std::size_t n) {
  std::vector<T> out(n);
  check_cuda(cudaMemcpy(out.data(), b.data(), n * sizeof(T), cudaMemcpyDeviceToHost), "download");
  return out;
}

struct GpuGating {
  std::vector<float> probs;
  std::vector<int> chosen;
  std::vector<float> weights;
};

GpuGating gate_on_gpu(const std::vector<float>& logits, const std::vector<float>& bias, int tokens,
                      int experts, int top_k, const RouterConfig& router) {
  const auto T = static_cast<std::size_t>(tokens);
  const auto E = static_cast<std::size_t>(experts);
  const auto K = static_cast<std::size_t>(top_k);
  DeviceBuffer z("logits"), b("bias"), p("probs"), te("experts"), tw("weights"), ts("sums");
  z.reserve(T * E * 4);
  b.reserve(E * 4);
  p.reserve(T * E * 4);
  te.reserve(T * K * 4);
  tw.reserve(T * K * 4);
  ts.reserve(T * 4);
  check_cuda(cudaMemcpy(z.data(), logits.data(), T * E * 4, cudaMemcpyHostToDevice), "up");
  if (!bias.empty()) {
    check_cuda(cudaMemcpy(b.data(), bias.data(), E * 4, cudaMemcpyHostToDevice), "up");
  }
  launch_gating(z.as<float>(), bias.empty() ? nullptr : b.as<float>(), tokens, experts, top_k,
                router, p.as<float>(), te.as<int>(), tw.as<float>(), ts.as<float>(), nullptr);
  check_cuda(cudaDeviceSynchronize(), "gating");
  return {download<float>(p, T * E), download<int>(te, T * K), download<float>(tw, T * K)};
}

std::vector<RouterConfig> variants() {
  std::vector<RouterConfig> out;
  for (bool norm : {false, true}) {
    RouterConfig softmax;
    softmax.norm_topk_prob = norm;
    out.push_back(softmax);
  }
  RouterConfig v2;  // DeepSeek-V2
  v2.groups = 8, v2.topk_groups = 3, v2.routed_scaling_factor = 16.0;
  out.push_back(v2);
  RouterConfig v3;  // DeepSeek-V3
  v3.scoring = RouterScoring::kSigmoid, v3.groups = 8, v3.topk_groups = 4;
  v3.group_score = GroupScore::kTop2Sum, v3.norm_topk_prob = true, v3.routed_scaling_factor = 2.5;
  out.push_back(v3);
  RouterConfig k2 = v3;  // Kimi-K2: one group
  k2.groups = 1, k2.topk_groups = 1, k2.routed_scaling_factor = 2.827;
  out.push_back(k2);
  return out;
}

TEST_F(Gating, MatchesTheHostRouter) {
  for (const RouterConfig& router : variants()) {
    for (int experts : {8, 64, 256, 384}) {
      for (int top_k : {1, 2, 6, 8}) {
        if (experts % router.groups != 0 ||
            top_k > router.topk_groups * (experts / router.groups) ||
            (router.groups > 1 && experts / router.groups < 2))
          continue;
        for (int tokens : {1, 33, 4096}) {
          const auto logits = test::random_logits(tokens, experts, 1.0, 7);
          std::vector<float> bias;
          if (router.scoring == RouterScoring::kSigmoid) {
            bias = test::random_logits(1, experts, 0.1, 11);  // a small bias, as trained ones are
          }
          const RouterOutput host = route(logits.data(), tokens, experts, top_k, router,
                                          bias.empty() ? nullptr : bias.data());
          const GpuGating gpu = gate_on_gpu(logits, bias, tokens, experts, top_k, router);
          const std::string where = describe(router) + " E=" + std::to_string(experts) +
                                    " k=" + std::to_string(top_k) + " T=" + std::to_string(tokens);
          for (std::size_t i = 0; i < gpu.probs.size(); ++i) {
            ASSERT_NEAR(gpu.probs[i], host.probs[i], 1e-6f * std::max(1.0f, host.probs[i]))
                << where;
          }
          // The slots agree except where the host's selection scores of the two experts are
          // within the few ulp that separate device expf from the host's.
          const auto E = static_cast<std::size_t>(experts);
          const auto K = static_cast<std::size_t>(top_k);
          for (std::size_t t = 0; t < static_cast<std::size_t>(tokens); ++t) {
            for (std::size_t j = 0; j < K; ++j) {
              const int g = gpu.chosen[t * K + j];
              const int h = host.topk_experts[t * K + j];
              if (g != h) {
                const float bg = bias.empty() ? 0.0f : bias[static_cast<std::size_t>(g)];
                const float bh = bias.empty() ? 0.0f : bias[static_cast<std::size_t>(h)];
                EXPECT_NEAR(host.probs[t * E + static_cast<std::size_t>(g)] + bg,
                            host.probs[t * E + static_cast<std::size_t>(h)] + bh, 1e-6f)
                    << where << " token " << t << ": a rank changed without a near-tie";
                continue;
              }
              const float expected = host.weight(static_cast<std::int64_t>(t), h);
              ASSERT_NEAR(gpu.weights[t * K + j], expected,
                          1e-6f * std::max(1.0f, std::fabs(expected)))
                  << where << " token " << t;
            }
          }
        }
      }
    }
  }
}

TEST_F(Gating, TiesGoToTheLowerExpert) {
  const int tokens = 2, experts = 64, top_k = 4;
  const std::vector<float> logits(static_cast<std::size_t>(tokens * experts), 0.0f);  // all tied
  const GpuGating gpu = gate_on_gpu(logits, {}, tokens, experts, top_k, RouterConfig{});
  EXPECT_EQ(gpu.chosen, (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3}));
  // Tied groups go to the lower group too: groups 0 and 1 of 8 stay eligible.
  RouterConfig grouped;
  grouped.groups = 8, grouped.topk_groups = 2;
  const GpuGating in_groups = gate_on_gpu(logits, {}, tokens, experts, 8, grouped);
  for (int slot = 0; slot < 8; ++slot)
    EXPECT_LT(in_groups.chosen[static_cast<std::size_t>(slot)], 16);
}

TEST_F(Gating, RefusesShapesBeyondTheKernel) {
  const RouterConfig plain;
  EXPECT_THROW(launch_gating(nullptr, nullptr, 1, kMaxGatingExperts + 1, 2, plain, nullptr, nullptr,
                             nullptr, nullptr, nullptr),
               Error);
  EXPECT_THROW(
      launch_gating(nullptr, nullptr, 1, 8, 9, plain, nullptr, nullptr, nullptr, nullptr, nullptr),
      Error);
  RouterConfig many_groups;
  many_groups.groups = 128, many_groups.topk_groups = 4;
  EXPECT_THROW(launch_gating(nullptr, nullptr, 1, 256, 2, many_groups, nullptr, nullptr, nullptr,
                             nullptr, nullptr),
               Error);
}

}  // namespace
}  // namespace moescope::kernels
