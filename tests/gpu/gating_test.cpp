// The GPU gating kernel against core's router on the same logits: the same experts in the
// same slots, and probabilities and weights within fp32 rounding.
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

TEST_F(Gating, MatchesTheHostRouter) {
  for (int experts : {8, 60, 64, 256}) {
    for (int top_k : {1, 2, 4, 6, 8}) {
      for (int tokens : {1, 33, 4096}) {
        for (bool norm : {false, true}) {
          const auto logits = test::random_logits(tokens, experts, 1.0, 7);
          const RouterOutput host = route(logits.data(), tokens, experts, top_k, norm);
          const auto T = static_cast<std::size_t>(tokens);
          const auto E = static_cast<std::size_t>(experts);
          const auto K = static_cast<std::size_t>(top_k);
          DeviceBuffer z("logits"), p("probs"), te("experts"), tw("weights"), ts("sums");
          z.reserve(T * E * 4);
          p.reserve(T * E * 4);
          te.reserve(T * K * 4);
          tw.reserve(T * K * 4);
          ts.reserve(T * 4);
          check_cuda(cudaMemcpy(z.data(), logits.data(), T * E * 4, cudaMemcpyHostToDevice), "up");
          launch_gating(z.as<float>(), tokens, experts, top_k, norm, p.as<float>(), te.as<int>(),
                        tw.as<float>(), ts.as<float>(), nullptr);
          check_cuda(cudaDeviceSynchronize(), "gating");
          const auto probs = download<float>(p, T * E);
          const auto chosen = download<int>(te, T * K);
          const auto weights = download<float>(tw, T * K);
          const std::string where = "E=" + std::to_string(experts) + " k=" + std::to_string(top_k) +
                                    " T=" + std::to_string(tokens);
          for (std::size_t i = 0; i < probs.size(); ++i)
            ASSERT_NEAR(probs[i], host.probs[i], 1e-6f * std::max(1.0f, host.probs[i])) << where;
          // The ranking is the shared code's, exactly, on the GPU's own probabilities. Against
          // the host's (a few ulp apart: device expf, another summation order) it may differ
          // only where two experts are that close.
          std::vector<int> ranked(K);
          std::vector<float> best(K);
          for (std::size_t t = 0; t < T; ++t) {
            routing::top_k_row(&probs[t * E], experts, top_k, ranked.data(), best.data());
            for (std::size_t j = 0; j < K; ++j) {
              ASSERT_EQ(chosen[t * K + j], ranked[j]) << where << " token " << t;
              const int h = host.topk_experts[t * K + j];
              if (h != ranked[j]) {
                EXPECT_NEAR(host.probs[t * E + static_cast<std::size_t>(h)],
                            host.probs[t * E + static_cast<std::size_t>(ranked[j])], 1e-6f)
                    << where << " token " << t << ": a rank changed without a near-tie";
              }
            }
          }
          for (std::size_t t = 0; t < T; ++t) {
            for (std::size_t j = 0; j < K; ++j) {
              const float expected =
                  host.weight(static_cast<std::int64_t>(t), host.topk_experts[t * K + j]);
              ASSERT_NEAR(weights[t * K + j], expected, 1e-6f) << where << " token " << t;
            }
          }
        }
      }
    }
  }
}

TEST_F(Gating, TiesGoToTheLowerExpert) {
  const int tokens = 2, experts = 64, top_k = 4;
  std::vector<float> logits(static_cast<std::size_t>(tokens * experts), 0.0f);  // all tied
  DeviceBuffer z("logits"), p("probs"), te("experts"), tw("weights"), ts("sums");
  z.reserve(logits.size() * 4);
  p.reserve(logits.size() * 4);
  te.reserve(tokens * top_k * 4);
  tw.reserve(tokens * top_k * 4);
  ts.reserve(tokens * 4);
  check_cuda(cudaMemcpy(z.data(), logits.data(), logits.size() * 4, cudaMemcpyHostToDevice), "up");
  launch_gating(z.as<float>(), tokens, experts, top_k, false, p.as<float>(), te.as<int>(),
                tw.as<float>(), ts.as<float>(), nullptr);
  check_cuda(cudaDeviceSynchronize(), "gating");
  EXPECT_EQ(download<int>(te, tokens * top_k), (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3}));
}

TEST_F(Gating, RefusesShapesBeyondTheKernel) {
  EXPECT_THROW(
      launch_gating(nullptr, 1, 257, 2, false, nullptr, nullptr, nullptr, nullptr, nullptr), Error);
  EXPECT_THROW(launch_gating(nullptr, 1, 8, 9, false, nullptr, nullptr, nullptr, nullptr, nullptr),
               Error);
}

}  // namespace
}  // namespace moescope::kernels
