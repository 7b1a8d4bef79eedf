#include "tests/gpu/gpu_test_support.h"

#include <algorithm>
#include <cmath>

#include "core/placement.h"
#include "core/random.h"
#include "kernels/cuda_device.h"
#include "tests/unit/test_support.h"

namespace moescope::test {

void GpuTest::SetUp() {
  if (kernels::cuda_device_count() == 0) {
    GTEST_SKIP() << "no CUDA GPU on this machine (run scripts/gpu_check.sh on one)";
  }
}

LayerSetup make_layer(int experts, int top_k, int tokens, bool shared, bool sigmoid_shared,
                      const PolicyConfig& policy, std::uint64_t seed) {
  LayerSetup s;
  s.spec.name = "gpu-test";
  s.spec.layers = 1;
  s.spec.hidden = 256;
  s.spec.expert_ffn = 192;
  s.spec.experts = experts;
  s.spec.top_k = top_k;
  s.spec.shared_experts = shared ? 2 : 0;
  s.spec.shared_ffn = shared ? 128 : 0;
  s.spec.shared_gate_sigmoid = shared && sigmoid_shared;
  s.spec.norm_topk_prob = top_k > 1 && top_k % 2 == 0;
  validate(s.spec);
  s.tokens = tokens;
  s.x.resize(static_cast<std::size_t>(tokens) * static_cast<std::size_t>(s.spec.hidden));
  Rng rng({seed});
  fill_uniform(s.x.data(), s.x.size(), 1.0f, rng);  // unit variance
  s.logits = random_logits(tokens, experts, 1.0, seed + 1);
  s.router = route(s.logits.data(), tokens, experts, top_k, s.spec.norm_topk_prob);
  s.outcome = apply_policy(s.router, policy, balanced_placement(experts, std::min(4, experts)));
  s.plan = make_dispatch_plan(s.outcome, experts, tokens);
  s.weights = make_synthetic_weights(s.spec, seed + 2);
  return s;
}

double relative_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0;
  double norm = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(b[i]) * b[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

}  // namespace moescope::test
