// Hugging Face's routers as the oracle: for every architecture MoEScope reads, a tiny randomly
// initialised transformers model recorded its router's logits, its selection bias and its
// choices (tests/data/hf_routers, written by scripts/make_router_fixtures.py). The spec read
// from the model's config.json must route those logits to the same experts with the same
// weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "core/inputs/replay_routing.h"
#include "core/inputs/safetensors.h"
#include "core/model/hf_config.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

const std::string kFixtures = std::string(MOESCOPE_TEST_DATA) + "/hf_routers/";

struct Agreement {
  int tokens = 0;
  int same_experts = 0;
  int moved_by_groups = 0;  // tokens whose choice the group rule changed
};

Agreement check_architecture(const std::string& name) {
  const std::string folder = kFixtures + name;
  const ModelSpec spec = load_hf_config(folder);
  const SafetensorsFile file(folder + "/routing.safetensors");
  Agreement agreement;
  for (int layer = 0; layer < spec.layers; ++layer) {
    const std::string where = name + " layer " + std::to_string(layer);
    const TensorInfo* logits_info = file.find(logits_tensor_name(layer));
    EXPECT_NE(logits_info, nullptr) << where;
    if (logits_info == nullptr) continue;
    const std::vector<float> logits = file.read_f32(*logits_info);
    std::vector<float> bias;
    if (const TensorInfo* b = file.find(bias_tensor_name(layer))) bias = file.read_f32(*b);
    const std::string hf = "hf.layers." + std::to_string(layer);
    const std::vector<float> hf_experts = file.read_f32(*file.find(hf + ".topk_indices"));
    const std::vector<float> hf_weights = file.read_f32(*file.find(hf + ".topk_weights"));
    const int tokens = static_cast<int>(logits_info->shape[0]);
    const int k = spec.top_k;
    const RouterOutput r = route(logits.data(), tokens, spec.experts, k, spec.router,
                                 bias.empty() ? nullptr : bias.data(), layer);
    RouterConfig ungrouped_config = spec.router;
    ungrouped_config.groups = ungrouped_config.topk_groups = 1;
    const RouterOutput ungrouped = route(logits.data(), tokens, spec.experts, k, ungrouped_config,
                                         bias.empty() ? nullptr : bias.data(), layer);
    for (int t = 0; t < tokens; ++t) {
      std::map<int, float> theirs;  // HF's slots are unordered (topk sorted=False)
      for (int j = 0; j < k; ++j) {
        const auto i = static_cast<std::size_t>(t * k + j);
        theirs[static_cast<int>(hf_experts[i])] = hf_weights[i];
      }
      std::map<int, float> ours;
      std::vector<int> ours_ungrouped;
      for (int j = 0; j < k; ++j) {
        ours[r.topk_expert(t, j)] = r.weight(t, r.topk_expert(t, j));
        ours_ungrouped.push_back(ungrouped.topk_expert(t, j));
      }
      ++agreement.tokens;
      std::vector<int> ours_sorted;
      for (const auto& [e, w] : ours)
        ours_sorted.push_back(e);
      std::sort(ours_ungrouped.begin(), ours_ungrouped.end());
      if (ours_sorted != ours_ungrouped) ++agreement.moved_by_groups;
      bool same = ours.size() == theirs.size();
      for (const auto& [e, w] : theirs) {
        const auto it = ours.find(e);
        if (it == ours.end()) {
          same = false;
          continue;
        }
        EXPECT_NEAR(it->second, w, 1e-6 * std::max(1.0f, std::fabs(w)))
            << where << " token " << t << " expert " << e;
      }
      if (same) ++agreement.same_experts;
      EXPECT_TRUE(same) << where << " token " << t << ": not the experts HF chose";
    }
  }
  return agreement;
}

TEST(HfRouterOracle, EveryArchitectureChoosesAsTransformersDoes) {
  for (const std::string name :
       {"mixtral", "olmoe", "qwen2_moe", "qwen3_moe", "deepseek_v2", "deepseek_v3", "kimi_k2"}) {
    const Agreement a = check_architecture(name);
    EXPECT_EQ(a.tokens, name == "kimi_k2" ? 32 : 64) << name;
    EXPECT_EQ(a.same_experts, a.tokens) << name;
  }
}

TEST(HfRouterOracle, TheFixturesExerciseTheGroupRule) {
  // Were no token's choice changed by the groups, the oracle could not tell them apart.
  EXPECT_GT(check_architecture("deepseek_v2").moved_by_groups, 0);
  EXPECT_GT(check_architecture("deepseek_v3").moved_by_groups, 0);
}

TEST(HfRouterOracle, ReplayReadsTheSelectionBias) {
  const std::string folder = kFixtures + "deepseek_v3";
  const ModelSpec spec = load_hf_config(folder);
  auto source = make_replay_routing(spec, folder + "/routing.safetensors", 0);
  const LayerInput in = source->layer(0, 1);
  ASSERT_EQ(in.selection_bias.size(), static_cast<std::size_t>(spec.experts));
  EXPECT_NE(in.bias_or_null(), nullptr);
  EXPECT_EQ(in.hidden_states.size(), static_cast<std::size_t>(32 * spec.hidden));
}

}  // namespace
}  // namespace moescope
