// The router variants of shared/ALGORITHMS.md (Router), hand-checked: sigmoid scores with a
// selection bias that chooses but does not weigh, DeepSeek's groups by max or top-2 sum, the
// routed scaling factor, softmax after top-k, and the refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/base/error.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

std::vector<int> chosen(const RouterOutput& r, int token) {
  std::vector<int> out;
  for (int j = 0; j < r.top_k; ++j)
    out.push_back(r.topk_expert(token, j));
  return out;
}

// Logits whose softmax is exactly proportional to `p`.
std::vector<float> logits_for(const std::vector<double>& p) {
  std::vector<float> z;
  for (double v : p)
    z.push_back(static_cast<float>(std::log(v)));
  return z;
}

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

TEST(RouterVariants, SigmoidBiasChoosesButTheWeightsUseTheAffinity) {
  RouterConfig router;
  router.scoring = RouterScoring::kSigmoid;
  router.norm_topk_prob = true;
  router.routed_scaling_factor = 2.5;
  const std::vector<float> z = {2.0f, 1.0f, 0.0f, -1.0f};
  const std::vector<float> bias = {0.0f, 0.0f, 0.5f, 0.0f};
  const RouterOutput r = route(z.data(), 1, 4, 2, router, bias.data());
  // q = p + bias = {0.881, 0.731, 1.0, 0.269}: expert 2 first, then expert 0.
  EXPECT_EQ(chosen(r, 0), (std::vector<int>{2, 0}));
  EXPECT_NEAR(r.prob(0, 2), 0.5, 1e-7);  // p, not q
  const double sum = sigmoid(0.0) + sigmoid(2.0);
  EXPECT_NEAR(r.topk_sum[0], sum, 1e-6);
  EXPECT_NEAR(r.weight(0, 2), 0.5 / sum * 2.5, 1e-6);
  EXPECT_NEAR(r.weight(0, 0), sigmoid(2.0) / sum * 2.5, 1e-6);
  // Without the bias the two largest affinities win.
  const RouterOutput plain = route(z.data(), 1, 4, 2, router, nullptr);
  EXPECT_EQ(chosen(plain, 0), (std::vector<int>{0, 1}));
}

// p = {.30 .02 | .20 .19 | .21 .02 | .04 .02}, four groups of two, two groups stay, k = 3.
const std::vector<double> kGroupedProbs = {0.30, 0.02, 0.20, 0.19, 0.21, 0.02, 0.04, 0.02};

TEST(RouterVariants, GroupsByTheirLargestScoreLimitTheChoice) {
  RouterConfig router;
  router.groups = 4;
  router.topk_groups = 2;
  router.group_score = GroupScore::kMax;
  const auto z = logits_for(kGroupedProbs);
  // Group maxima .30 .20 .21 .04: groups 0 and 2. Expert 2 (.20) is outside them, so the third
  // choice is the tie between experts 1 and 5 (.02), to the lower index.
  EXPECT_EQ(chosen(route(z.data(), 1, 8, 3, router, nullptr), 0), (std::vector<int>{0, 4, 1}));
  const RouterOutput ungrouped = route(z.data(), 1, 8, 3, RouterConfig{}, nullptr);
  EXPECT_EQ(chosen(ungrouped, 0), (std::vector<int>{0, 4, 2}));
}

TEST(RouterVariants, GroupsByTheirTopTwoSum) {
  RouterConfig router;
  router.groups = 4;
  router.topk_groups = 2;
  router.group_score = GroupScore::kTop2Sum;
  const auto z = logits_for(kGroupedProbs);
  // Group sums .32 .39 .23 .06: groups 1 and 0.
  EXPECT_EQ(chosen(route(z.data(), 1, 8, 3, router, nullptr), 0), (std::vector<int>{0, 2, 3}));
}

TEST(RouterVariants, TiedGroupsGoToTheLowerGroup) {
  RouterConfig router;
  router.groups = 4;
  router.topk_groups = 2;
  const std::vector<float> z(8, 0.0f);
  EXPECT_EQ(chosen(route(z.data(), 1, 8, 3, router, nullptr), 0), (std::vector<int>{0, 1, 2}));
  router.group_score = GroupScore::kTop2Sum;
  EXPECT_EQ(chosen(route(z.data(), 1, 8, 4, router, nullptr), 0), (std::vector<int>{0, 1, 2, 3}));
}

TEST(RouterVariants, ScalingFactorMultipliesEveryWeight) {
  const auto z = logits_for(kGroupedProbs);
  RouterConfig router;
  router.routed_scaling_factor = 16.0;
  const RouterOutput scaled = route(z.data(), 1, 8, 3, router, nullptr);
  const RouterOutput plain = route(z.data(), 1, 8, 3, RouterConfig{}, nullptr);
  for (int e : chosen(plain, 0))
    EXPECT_FLOAT_EQ(scaled.weight(0, e), 16.0f * plain.weight(0, e));
}

TEST(RouterVariants, RenormalizedWeightsSumToTheScalingFactor) {
  RouterConfig router;
  router.scoring = RouterScoring::kSigmoid;
  router.norm_topk_prob = true;
  router.routed_scaling_factor = 2.5;
  const std::vector<float> z = {2.0f, 1.0f, 0.0f, -1.0f, 0.5f, 1.5f, -0.5f, 0.2f};
  const RouterOutput r = route(z.data(), 2, 4, 2, router, nullptr);
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  drop.gamma = 0.5;  // C = 1: one of the two tokens loses a pair
  drop.renormalize = true;
  const PolicyOutcome out = apply_policy(r, drop, balanced_placement(4, 1));
  std::vector<double> sum(2, 0.0);
  for (const auto& pair : out.kept)
    sum[static_cast<std::size_t>(pair.token)] += pair.weight;
  EXPECT_NEAR(sum[0], 2.5, 1e-6);
  EXPECT_NEAR(sum[1], 2.5, 1e-6);
  EXPECT_LT(out.kept.size(), 4u);
}

TEST(RouterVariants, SoftmaxAfterTopKIsTheNormalizedSoftmax) {
  const auto z = logits_for(kGroupedProbs);
  RouterConfig after;
  after.softmax_after_topk = true;
  RouterConfig norm;
  norm.norm_topk_prob = true;
  const RouterOutput a = route(z.data(), 1, 8, 3, after, nullptr);
  const RouterOutput b = route(z.data(), 1, 8, 3, norm, nullptr);
  EXPECT_EQ(chosen(a, 0), chosen(b, 0));
  // The softmax of the selected logits .30 .21 .20 is each over their sum .71.
  EXPECT_NEAR(a.weight(0, 0), 0.30 / 0.71, 1e-6);
  EXPECT_NEAR(a.weight(0, 4), 0.21 / 0.71, 1e-6);
}

void expect_refused(RouterConfig router, int experts, int top_k, const std::string& needle) {
  try {
    validate(router, experts, top_k);
    ADD_FAILURE() << "accepted: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(RouterVariants, ImpossibleSettingsAreRefusedNamingTheField) {
  RouterConfig r;
  r.groups = 3, r.topk_groups = 1;
  expect_refused(r, 8, 2, "'n_group' (3) must be a positive divisor of the 8 experts");
  r.groups = 4, r.topk_groups = 5;
  expect_refused(r, 8, 2, "'topk_group' (5) must be between 1 and 'n_group' (4)");
  r.topk_groups = 1;
  expect_refused(r, 8, 3, "the 1 eligible groups of 2 experts hold fewer than top_k (3)");
  r.groups = 8, r.topk_groups = 4, r.group_score = GroupScore::kTop2Sum;
  expect_refused(r, 8, 2, "top2_sum needs at least 2 experts per group");
  RouterConfig s;
  s.scoring = RouterScoring::kSigmoid, s.softmax_after_topk = true;
  expect_refused(s, 8, 2, "'softmax_after_topk' needs softmax scoring");
  for (double bad : {0.0, -1.0, std::nan(""), 1e300, 1e-50}) {
    RouterConfig f;
    f.routed_scaling_factor = bad;
    expect_refused(f, 8, 2, "'routed_scaling_factor' must be a finite number > 0");
  }
}

TEST(RouterVariants, NonFiniteBiasIsNamedByLayerAndExpert) {
  const std::vector<float> z = {0.0f, 1.0f, 2.0f, 3.0f};
  const std::vector<float> bias = {0.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f};
  RouterConfig router;
  router.scoring = RouterScoring::kSigmoid;
  try {
    route(z.data(), 1, 4, 2, router, bias.data(), 3);
    ADD_FAILURE() << "a NaN bias was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "the selection bias of layer 3, expert 1 is NaN");
  }
}

}  // namespace
}  // namespace moescope
