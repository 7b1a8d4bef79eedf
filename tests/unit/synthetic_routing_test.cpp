#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/base/error.h"
#include "core/inputs/replay_routing.h"
#include "core/inputs/routing_source.h"
#include "core/inputs/safetensors.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/moe/load_metrics.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

ModelSpec small_olmoe() {
  return scaled(preset("olmoe-1b-7b"), 16);
}

double max_over_mean(const ModelSpec& spec, double skew, int tokens, int layer,
                     std::uint64_t seed = 0) {
  auto source = make_synthetic_routing(spec, {tokens, seed, skew});
  const LayerInput in = source->layer(0, layer);
  const RouterOutput r = route(in.logits.data(), tokens, spec.experts, spec.top_k, false);
  const Placement p = balanced_placement(spec.experts, 8);
  return compute_load_metrics(r, apply_policy(r, PolicyConfig{}, p), p).imbalance_routed;
}

TEST(SyntheticRouting, SameSeedSameInputs) {
  const ModelSpec spec = small_olmoe();
  auto a = make_synthetic_routing(spec, {64, 5, 1.0});
  auto b = make_synthetic_routing(spec, {64, 5, 1.0});
  EXPECT_EQ(a->layer(1, 2).logits, b->layer(1, 2).logits);
  EXPECT_EQ(a->layer(1, 2).hidden_states, b->layer(1, 2).hidden_states);
  EXPECT_NE(a->layer(1, 2).logits, a->layer(1, 3).logits);
  auto c = make_synthetic_routing(spec, {64, 6, 1.0});
  EXPECT_NE(a->layer(0, 0).logits, c->layer(0, 0).logits);
}

// The calibration README.md tabulates (OLMoE shape, T = 4096, mean over 16 layers); the test
// checks the documented points with a tolerance that covers layer-to-layer spread.
TEST(SyntheticRouting, SkewMapsToTheDocumentedMaxOverMean) {
  const ModelSpec spec = small_olmoe();
  auto mean_ratio = [&](double skew) {
    double sum = 0;
    for (int layer = 0; layer < 16; ++layer)
      sum += max_over_mean(spec, skew, 4096, layer);
    return sum / 16;
  };
  const double none = mean_ratio(0.0);
  const double mild = mean_ratio(0.25);
  const double realistic = mean_ratio(0.5);
  const double strong = mean_ratio(1.0);
  const double extreme = mean_ratio(2.0);
  EXPECT_LT(none, 1.3);  // only sampling noise
  EXPECT_NEAR(mild, 2.11, 0.3);
  EXPECT_NEAR(realistic, 3.40, 0.4);
  EXPECT_NEAR(strong, 5.68, 0.5);
  EXPECT_NEAR(extreme, 7.60, 0.3);  // E / k = 8 is the ceiling
  EXPECT_LT(none, mild);
  EXPECT_LT(mild, realistic);
  EXPECT_LT(realistic, strong);
  EXPECT_LT(strong, extreme);
}

TEST(SyntheticRouting, RejectsBadParameters) {
  EXPECT_THROW(make_synthetic_routing(small_olmoe(), {0, 0, 1.0}), Error);
  EXPECT_THROW(make_synthetic_routing(small_olmoe(), {16, 0, -1.0}), Error);
  EXPECT_THROW(make_synthetic_routing(small_olmoe(), {16, 0, std::nan("")}), Error);
}

class ReplayRoutingTest : public ::testing::Test {
 protected:
  std::string path_ =
      (std::filesystem::temp_directory_path() / "moescope_replay.safetensors").string();
  void TearDown() override { std::filesystem::remove(path_); }
};

TEST_F(ReplayRoutingTest, ReplaysLogitsAndHiddenStates) {
  ModelSpec spec = small_olmoe();
  spec.layer_subset = {0, 3};
  const int T = 10;
  std::vector<float> logits(static_cast<std::size_t>(T * spec.experts), 0.5f);
  std::vector<float> hidden(static_cast<std::size_t>(T * spec.hidden), 0.25f);
  write_safetensors(path_, {{logits_tensor_name(0), {T, spec.experts}, logits, "BF16"},
                            {logits_tensor_name(3), {T, spec.experts}, logits, "F32"},
                            {hidden_tensor_name(3), {T, spec.hidden}, hidden, "F16"}});
  auto source = make_replay_routing(spec, path_, 0);
  EXPECT_EQ(source->tokens(), T);
  EXPECT_EQ(source->layer(0, 0).logits, logits);
  EXPECT_EQ(source->layer(0, 3).hidden_states, hidden);
  EXPECT_EQ(source->layer(0, 0).hidden_states.size(), hidden.size());  // synthetic
}

TEST_F(ReplayRoutingTest, RefusesMissingLayersAndWrongShapes) {
  ModelSpec spec = small_olmoe();
  spec.layer_subset = {0, 1};
  std::vector<float> logits(static_cast<std::size_t>(4 * spec.experts), 0.0f);
  write_safetensors(path_, {{logits_tensor_name(0), {4, spec.experts}, logits}});
  try {
    make_replay_routing(spec, path_, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.router_logits"), std::string::npos);
  }
  spec.layer_subset = {0};
  write_safetensors(path_, {{logits_tensor_name(0), {2, 2, spec.experts}, logits}});
  EXPECT_THROW(make_replay_routing(spec, path_, 0), Error);
  write_safetensors(path_, {{logits_tensor_name(0), {8, spec.experts / 2}, logits}});
  EXPECT_THROW(make_replay_routing(spec, path_, 0), Error);
}

}  // namespace
}  // namespace moescope
