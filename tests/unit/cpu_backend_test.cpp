#include "core/exec/cpu_backend.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>

#include "core/base/random.h"
#include "core/exec/skinny_matmul.h"
#include "core/inputs/routing_source.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/router.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

// One expert on one token, the plain way: no BLAS, double accumulation.
std::vector<double> reference_ffn(const float* x, const float* gate_up, const float* down, int F,
                                  int H) {
  std::vector<double> act(static_cast<std::size_t>(F));
  for (int f = 0; f < F; ++f) {
    double g = 0, u = 0;
    for (int h = 0; h < H; ++h) {
      g += static_cast<double>(gate_up[static_cast<std::size_t>(f * H + h)]) * x[h];
      u += static_cast<double>(gate_up[static_cast<std::size_t>((F + f) * H + h)]) * x[h];
    }
    act[static_cast<std::size_t>(f)] = g / (1.0 + std::exp(-g)) * u;
  }
  std::vector<double> y(static_cast<std::size_t>(H));
  for (int h = 0; h < H; ++h) {
    for (int f = 0; f < F; ++f) {
      y[static_cast<std::size_t>(h)] +=
          static_cast<double>(down[static_cast<std::size_t>(h * F + f)]) *
          act[static_cast<std::size_t>(f)];
    }
  }
  return y;
}

std::vector<double> reference_layer(const std::vector<float>& x, const ExpertWeights& w,
                                    const PolicyOutcome& outcome, int T) {
  const int H = w.hidden;
  std::vector<double> y(static_cast<std::size_t>(T * H), 0.0);
  for (const auto& p : outcome.kept) {
    const float* xt = &x[static_cast<std::size_t>(p.token * H)];
    const auto ye =
        reference_ffn(xt, w.expert_gate_up(p.expert), w.expert_down(p.expert), w.ffn, H);
    for (int h = 0; h < H; ++h)
      y[static_cast<std::size_t>(p.token * H + h)] += p.weight * ye[static_cast<std::size_t>(h)];
  }
  const auto Fs = static_cast<std::size_t>(w.shared_ffn);
  const auto Hs = static_cast<std::size_t>(H);
  for (int t = 0; t < T; ++t) {
    const float* xt = &x[static_cast<std::size_t>(t * H)];
    for (int s = 0; s < w.shared_experts; ++s) {
      const auto ys =
          reference_ffn(xt, &w.shared_gate_up[static_cast<std::size_t>(s) * 2 * Fs * Hs],
                        &w.shared_down[static_cast<std::size_t>(s) * Hs * Fs], w.shared_ffn, H);
      double scale = 1.0;
      if (w.shared_gate_sigmoid) {
        double g = 0;
        for (int h = 0; h < H; ++h)
          g += static_cast<double>(w.shared_gate[static_cast<std::size_t>(h)]) * xt[h];
        scale = 1.0 / (1.0 + std::exp(-g));
      }
      for (int h = 0; h < H; ++h)
        y[static_cast<std::size_t>(t * H + h)] += scale * ys[static_cast<std::size_t>(h)];
    }
  }
  return y;
}

struct LayerCase {
  std::string preset;
  int scale;
  int tokens;
  PolicyKind policy;
};

void PrintTo(const LayerCase& c, std::ostream* os) {
  *os << c.preset << "/" << c.scale << " T=" << c.tokens << " " << policy_name(c.policy);
}

class CpuBackendMatchesReference : public ::testing::TestWithParam<LayerCase> {};

TEST_P(CpuBackendMatchesReference, OnSyntheticInputs) {
  const LayerCase c = GetParam();
  const ModelSpec spec = scaled(preset(c.preset), c.scale);
  auto source = make_synthetic_routing(spec, {c.tokens, 3, 1.0});
  const LayerInput in = source->layer(0, 0);
  const RouterOutput r =
      route(in.logits.data(), c.tokens, spec.experts, spec.top_k, spec.norm_topk_prob);
  PolicyConfig cfg;
  cfg.kind = c.policy;
  cfg.m = 1;
  const PolicyOutcome outcome =
      apply_policy(r, cfg, balanced_placement(spec.experts, std::min(4, spec.experts)));
  const ExpertWeights w = make_synthetic_weights(spec, 11);
  const DispatchPlan plan = make_dispatch_plan(outcome, spec.experts, c.tokens);
  auto backend = make_cpu_backend();
  const LayerExecution run = backend->run_layer(in.hidden_states.data(), w, outcome, plan, nullptr);
  const auto ref = reference_layer(in.hidden_states, w, outcome, c.tokens);
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff += (run.output[i] - ref[i]) * (run.output[i] - ref[i]);
    norm += ref[i] * ref[i];
  }
  ASSERT_GT(norm, 0.0);
  EXPECT_LT(std::sqrt(diff / norm), 1e-5);
  // Same input, same bits: the combine has a fixed order.
  const LayerExecution again =
      backend->run_layer(in.hidden_states.data(), w, outcome, plan, nullptr);
  EXPECT_EQ(again.output, run.output);
  for (int e = 0; e < spec.experts; ++e) {
    if (plan.rows_of(e) == 0) {
      EXPECT_EQ(run.expert_ns[static_cast<std::size_t>(e)], 0);
    } else {
      EXPECT_GT(run.expert_ns[static_cast<std::size_t>(e)], 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuBackendMatchesReference,
    ::testing::Values(LayerCase{"olmoe-1b-7b", 32, 40, PolicyKind::kNone},
                      LayerCase{"olmoe-1b-7b", 32, 600, PolicyKind::kDrop},
                      LayerCase{"mixtral-8x7b", 128, 33, PolicyKind::kExpanded},
                      LayerCase{"deepseek-v2-lite", 32, 17, PolicyKind::kReroute},
                      LayerCase{"qwen1.5-moe-a2.7b", 32, 1, PolicyKind::kDrop}),
    [](const ::testing::TestParamInfo<LayerCase>& param_info) {
      std::string name = param_info.param.preset + "_T" + std::to_string(param_info.param.tokens) +
                         "_" + policy_name(param_info.param.policy);
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(CpuBackend, CancelStopsBetweenExperts) {
  const ModelSpec spec = scaled(preset("olmoe-1b-7b"), 64);
  auto source = make_synthetic_routing(spec, {32, 0, 1.0});
  const LayerInput in = source->layer(0, 0);
  const RouterOutput r = route(in.logits.data(), 32, spec.experts, spec.top_k, false);
  const PolicyOutcome o = apply_policy(r, PolicyConfig{}, balanced_placement(spec.experts, 1));
  const ExpertWeights w = make_synthetic_weights(spec, 0);
  CancelFlag cancel{true};
  EXPECT_THROW(make_cpu_backend()->run_layer(in.hidden_states.data(), w, o,
                                             make_dispatch_plan(o, spec.experts, 32), &cancel),
               Cancelled);
}

TEST(DispatchPlan, RowsAreGroupedByExpertInTokenOrder) {
  PolicyOutcome o;
  o.kept = {{0, 2, .5f, true}, {0, 0, .5f, true}, {1, 2, 1.f, true}, {3, 0, 1.f, true}};
  const DispatchPlan plan = make_dispatch_plan(o, 3, 4);
  EXPECT_EQ(plan.offsets, (std::vector<std::int64_t>{0, 2, 2, 4}));
  EXPECT_EQ(plan.row_token, (std::vector<std::int64_t>{0, 3, 0, 1}));
  EXPECT_EQ(plan.pair_row, (std::vector<std::int64_t>{2, 0, 3, 1}));
}

}  // namespace
}  // namespace moescope

namespace moescope {
namespace {

// Row counts on both sides of the skinny path, and sizes with a remainder after 8 lanes.
TEST(SwigluFfn, MatchesTheReferenceForEveryRowCount) {
  const int H = 37, F = 300;
  Rng rng({5});
  std::vector<float> gate_up(static_cast<std::size_t>(2 * F * H));
  std::vector<float> down(static_cast<std::size_t>(H * F));
  fill_uniform(gate_up.data(), gate_up.size(), 0.2f, rng);
  fill_uniform(down.data(), down.size(), 0.1f, rng);
  for (int rows = 1; rows <= kSkinnyMaxRows + 2; ++rows) {
    std::vector<float> x(static_cast<std::size_t>(rows * H));
    fill_uniform(x.data(), x.size(), 1.0f, rng);
    std::vector<float> y(static_cast<std::size_t>(rows * H));
    swiglu_ffn(x.data(), rows, gate_up.data(), down.data(), F, H, y.data());
    for (int r = 0; r < rows; ++r) {
      const auto ref =
          reference_ffn(&x[static_cast<std::size_t>(r * H)], gate_up.data(), down.data(), F, H);
      for (int h = 0; h < H; ++h) {
        ASSERT_NEAR(y[static_cast<std::size_t>(r * H + h)], ref[static_cast<std::size_t>(h)], 1e-4)
            << "rows " << rows << " row " << r << " column " << h;
      }
    }
  }
}

}  // namespace
}  // namespace moescope
