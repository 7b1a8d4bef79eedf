// Hugging Face as the oracle: for every architecture MoEScope reads, a tiny randomly
// initialised transformers model recorded each MoE block's input and output and its router's
// logits, selection bias and choices (tests/data/hf_routers, written by
// scripts/make_router_fixtures.py, with the blocks' weights as a bf16 checkpoint). The spec read
// from the model's config.json must route those logits to the same experts with the same
// weights, and the CPU layer with the checkpoint's weights must give the block's output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/checkpoint_weights.h"
#include "core/inputs/replay_routing.h"
#include "core/inputs/safetensors.h"
#include "core/model/hf_config.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

const std::string kFixtures = std::string(MOESCOPE_TEST_DATA) + "/hf_routers/";
const char* const kArchitectures[] = {"mixtral",     "olmoe",       "qwen2_moe", "qwen3_moe",
                                      "deepseek_v2", "deepseek_v3", "kimi_k2",   "gpt_oss"};

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
  for (const std::string name : kArchitectures) {
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

TEST(HfRouterOracle, ANonFiniteSelectionBiasIsRefusedBeforeTheRun) {
  const std::string path =
      ::testing::TempDir() + "nan-bias-" + std::to_string(::getpid()) + ".safetensors";
  write_safetensors(path,
                    {{"model.layers.0.router_logits", {2, 4}, std::vector<float>(8, 0.0f)},
                     {"model.layers.0.e_score_correction_bias", {4}, {0.0f, 0.0f, NAN, 0.0f}}});
  ModelSpec spec;
  spec.layers = 1, spec.hidden = 8, spec.expert_ffn = 8, spec.experts = 4, spec.top_k = 2;
  try {
    make_replay_routing(spec, path, 0);
    ADD_FAILURE() << "a NaN bias was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "tensor 'model.layers.0.e_score_correction_bias' is NaN at expert 2"),
              std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
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

// The baseline layer (every top-k pair kept) of `layer` with the checkpoint's weights against
// the block's recorded output: relative L2 of the difference.
double block_error(const std::string& name, int layer, CpuPrecision precision) {
  const std::string folder = kFixtures + name;
  const ModelSpec spec = load_hf_config(folder);
  const CheckpointWeights checkpoint(folder, spec);
  auto source = make_replay_routing(spec, folder + "/routing.safetensors", 0);
  const LayerInput in = source->layer(0, layer);
  const RouterOutput router = route(in.logits.data(), in.tokens, spec.experts, spec.top_k,
                                    spec.router, in.bias_or_null(), layer);
  const PolicyOutcome outcome =
      apply_policy(router, PolicyConfig{}, balanced_placement(spec.experts, 1));
  const DispatchPlan plan = make_dispatch_plan(outcome, spec.experts, in.tokens);
  const ExpertWeights weights = checkpoint.layer(layer);
  auto backend = make_cpu_backend(precision);
  const LayerExecution run =
      backend->run_layer(in.hidden_states.data(), weights, outcome, plan, nullptr);
  const SafetensorsFile file(folder + "/routing.safetensors");
  const std::vector<float> expected =
      file.read_f32(*file.find("hf.layers." + std::to_string(layer) + ".moe_output"));
  EXPECT_EQ(run.output.size(), expected.size()) << name;
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < expected.size() && i < run.output.size(); ++i) {
    diff += (run.output[i] - expected[i]) * static_cast<double>(run.output[i] - expected[i]);
    norm += expected[i] * static_cast<double>(expected[i]);
  }
  EXPECT_GT(norm, 0.0) << name;
  return std::sqrt(diff / norm);
}

TEST(HfBlockOracle, TheBaselineLayerIsTransformersBlock) {
  for (const std::string name : kArchitectures) {
    const int layers = load_hf_config(kFixtures + name).layers;
    for (int layer = 0; layer < layers; ++layer) {
      EXPECT_LT(block_error(name, layer, CpuPrecision::kFp32), 1e-5) << name << " layer " << layer;
    }
  }
}

TEST(HfBlockOracle, WrongWeightsAreSeen) {
  // The oracle can fail: another layer's weights give another output.
  const std::string folder = kFixtures + "qwen2_moe";
  const ModelSpec spec = load_hf_config(folder);
  const CheckpointWeights checkpoint(folder, spec);
  EXPECT_NE(checkpoint.layer(0).gate_up, checkpoint.layer(1).gate_up);
  EXPECT_NE(checkpoint.layer(0).shared_gate, checkpoint.layer(1).shared_gate);
}

}  // namespace
}  // namespace moescope
