#include "tests/gpu/gpu_test_support.h"

#include <algorithm>
#include <cmath>

#include "core/base/random.h"
#include "core/moe/placement.h"
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
  s.spec.router.norm_topk_prob = top_k > 1 && top_k % 2 == 0;
  validate(s.spec);
  s.tokens = tokens;
  s.x.resize(static_cast<std::size_t>(tokens) * static_cast<std::size_t>(s.spec.hidden));
  Rng rng({seed});
  fill_uniform(s.x.data(), s.x.size(), 1.0f, rng);  // unit variance
  s.logits = random_logits(tokens, experts, 1.0, seed + 1);
  s.router = route(s.logits.data(), tokens, experts, top_k, s.spec.router.norm_topk_prob);
  s.outcome = apply_policy(s.router, policy, balanced_placement(experts, std::min(4, experts)));
  s.plan = make_dispatch_plan(s.outcome, experts, tokens);
  s.weights = make_synthetic_weights(s.spec, seed + 2);
  return s;
}

void expect_same_outcome(const PolicyOutcome& got, const PolicyOutcome& want,
                         const std::string& where) {
  EXPECT_EQ(got.capacity, want.capacity) << where;
  ASSERT_EQ(got.kept.size(), want.kept.size()) << where;
  for (std::size_t i = 0; i < want.kept.size(); ++i) {
    const auto& g = got.kept[i];
    const auto& w = want.kept[i];
    ASSERT_EQ(g.token, w.token) << where << " pair " << i;
    ASSERT_EQ(g.expert, w.expert) << where << " pair " << i;
    ASSERT_EQ(g.weight, w.weight) << where << " pair " << i;  // the same float operations
    ASSERT_EQ(g.in_topk, w.in_topk) << where << " pair " << i;
  }
}

std::vector<PolicyConfig> all_policy_configs() {
  std::vector<PolicyConfig> out;
  for (double gamma : {0.5, 1.0, 1.5}) {
    for (CapacityScope scope :
         {CapacityScope::kGlobal, CapacityScope::kSource, CapacityScope::kDevice}) {
      for (bool renormalize : {false, true}) {
        PolicyConfig c;
        c.gamma = gamma;
        c.capacity_scope = scope;
        c.renormalize = renormalize;
        c.seed = 99;
        c.kind = PolicyKind::kNone;
        out.push_back(c);
        c.kind = PolicyKind::kDrop;
        for (DropPriority p :
             {DropPriority::kScore, DropPriority::kPosition, DropPriority::kRandom}) {
          c.priority = p;
          out.push_back(c);
        }
        c.priority = DropPriority::kScore;
        c.kind = PolicyKind::kExpanded;
        for (int m : {0, 1, 3, 100}) {
          c.m = m;
          out.push_back(c);
        }
        c.m = 0;
        c.kind = PolicyKind::kReroute;
        for (RerouteScope r : {RerouteScope::kAny, RerouteScope::kLocal}) {
          c.reroute_scope = r;
          out.push_back(c);
        }
      }
    }
  }
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

}  // namespace moescope::test
