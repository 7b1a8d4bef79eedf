// Specs from Hugging Face config.json files: every preset equals the spec read from its model's
// published config (the MoE fields of each, in tests/data/hf_configs), and every bad config is
// refused naming the file and the field.
#include "core/model/hf_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/model/json_file.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"

namespace moescope {
namespace {

const std::string kConfigs = std::string(MOESCOPE_TEST_DATA) + "/hf_configs/";

TEST(HfConfig, EveryPresetIsItsPublishedConfig) {
  for (const auto& name : preset_names()) {
    ModelSpec from_config = load_hf_config(kConfigs + name + ".json");
    from_config.name = name;
    EXPECT_EQ(from_config, preset(name)) << name << ":\n"
                                         << json_text(spec_to_json(from_config), 2) << "\n"
                                         << json_text(spec_to_json(preset(name)), 2);
  }
}

TEST(HfConfig, DenseLeadingAndSkippedLayersAreNotMoeLayers) {
  nlohmann::json qwen = read_json_file(kConfigs + "qwen3-30b-a3b.json", "config");
  qwen["num_hidden_layers"] = 8;
  qwen["decoder_sparse_step"] = 2;  // layers 1, 3, 5, 7
  qwen["mlp_only_layers"] = {3};
  EXPECT_EQ(spec_from_hf_config(qwen, "c").layers, 3);
  nlohmann::json v3 = read_json_file(kConfigs + "deepseek-v3.json", "config");
  EXPECT_EQ(spec_from_hf_config(v3, "c").layers, 58);
}

TEST(HfConfig, AFolderIsReadThroughItsConfigAndNamedAfterIt) {
  const auto folder = std::filesystem::temp_directory_path() / "moescope-hf-Kimi-K2-Instruct";
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(kConfigs + "kimi-k2.json", folder / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  const ModelSpec spec = load_model_file(folder.string());
  EXPECT_EQ(spec.name, "moescope-hf-Kimi-K2-Instruct");
  EXPECT_EQ(spec.experts, 384);
  std::filesystem::remove(folder / "config.json");
  try {
    load_model_file(folder.string());
    ADD_FAILURE() << "a folder without config.json was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no config.json"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(folder);
}

TEST(HfConfig, AMoescopeSpecStillLoadsThroughTheSameEntry) {
  const auto path = std::filesystem::temp_directory_path() / "moescope-spec-entry.json";
  save_spec_file(preset("deepseek-v3"), path.string());
  EXPECT_EQ(load_model_file(path.string()), preset("deepseek-v3"));
  std::filesystem::remove(path);
}

void expect_refused(const std::string& base, const std::function<void(nlohmann::json&)>& edit,
                    const std::string& needle) {
  nlohmann::json config = read_json_file(kConfigs + base, "config");
  edit(config);
  try {
    spec_from_hf_config(config, "config.json");
    ADD_FAILURE() << "accepted: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("config.json: ", 0), 0u) << e.what();
  }
}

TEST(HfConfig, BadConfigsAreRefusedNamingTheField) {
  expect_refused(
      "mixtral-8x7b.json", [](auto& c) { c["model_type"] = "llama"; },
      "model_type 'llama' is not an MoE architecture MoEScope reads (mixtral, olmoe");
  expect_refused(
      "gpt-oss-20b.json", [](auto& c) { c["swiglu_limit"] = -1; },
      "'swiglu_limit' must be a finite number > 0");
  expect_refused(
      "gpt-oss-20b.json", [](auto& c) { c["swiglu_alpha"] = "fast"; },
      "field 'swiglu_alpha' must be a number, got \"fast\"");
  expect_refused(
      "mixtral-8x7b.json", [](auto& c) { c.erase("model_type"); }, "field 'model_type' is missing");
  expect_refused(
      "deepseek-v3.json", [](auto& c) { c.erase("n_group"); },
      "field 'n_group' is missing (the deepseek_v3 architecture needs it)");
  expect_refused(
      "qwen3-30b-a3b.json", [](auto& c) { c["num_experts"] = "128"; },
      "field 'num_experts' must be an integer, got \"128\"");
  expect_refused(
      "qwen3-30b-a3b.json", [](auto& c) { c["norm_topk_prob"] = 1; },
      "field 'norm_topk_prob' must be true or false");
  expect_refused(
      "deepseek-v3.json", [](auto& c) { c["first_k_dense_replace"] = 61; },
      "'first_k_dense_replace' leaves no MoE layer of the 61 decoder layers");
  expect_refused(
      "deepseek-v3.json", [](auto& c) { c["moe_layer_freq"] = 2; }, "'moe_layer_freq' is not 1");
  expect_refused(
      "deepseek-v3.json", [](auto& c) { c["scoring_func"] = "softmax"; },
      "'scoring_func' is 'softmax'; this architecture computes 'sigmoid'");
  expect_refused(
      "deepseek-v2.json", [](auto& c) { c["topk_method"] = "noaux_tc"; },
      "'topk_method' is 'noaux_tc' (expected greedy or group_limited_greedy)");
  expect_refused(
      "deepseek-v3.json", [](auto& c) { c["n_group"] = 7; },
      "'n_group' (7) must be a positive divisor of the 256 experts");
  expect_refused(
      "deepseek-v3.json", [](auto& c) { c["routed_scaling_factor"] = -1; },
      "'routed_scaling_factor' must be a finite number > 0");
  expect_refused(
      "olmoe-1b-7b.json", [](auto& c) { c["num_experts_per_tok"] = 65; },
      "'top_k' (65) must not exceed 'experts' (64)");
  expect_refused(
      "olmoe-1b-7b.json", [](auto& c) { c["hidden_act"] = "gelu"; }, "'hidden_act' is 'gelu'");
  expect_refused(
      "olmoe-1b-7b.json", [](auto& c) { c = nlohmann::json::array(); }, "must be a JSON object");
  expect_refused(
      "olmoe-1b-7b.json", [](auto& c) { c["hidden_act"] = 7; },
      "field 'hidden_act' must be a string, got 7");
  expect_refused(
      "qwen3-30b-a3b.json", [](auto& c) { c["mlp_only_layers"] = {1099511627776}; },
      "field 'mlp_only_layers' must be a list of layer indices, got 1099511627776");
}

TEST(HfConfig, AHugeLayerCountIsRefusedBeforeAnythingIsBuilt) {
  nlohmann::json c = read_json_file(kConfigs + "mixtral-8x7b.json", "config");
  c["num_hidden_layers"] = 2147483647;
  try {
    spec_from_hf_config(c, "config.json");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'num_hidden_layers' must be from 1 to 65536"),
              std::string::npos)
        << e.what();
  }
}

TEST(HfConfig, TransformersDefaultsAndDeepSeekV2sOwnWeightRule) {
  nlohmann::json qwen = read_json_file(kConfigs + "qwen3-30b-a3b.json", "config");
  qwen.erase("norm_topk_prob");  // transformers' default: false
  EXPECT_FALSE(spec_from_hf_config(qwen, "c").router.norm_topk_prob);
  // DeepSeek-V2's code normalizes or scales, never both.
  nlohmann::json v2 = read_json_file(kConfigs + "deepseek-v2.json", "config");
  v2["norm_topk_prob"] = true;
  const RouterConfig r = spec_from_hf_config(v2, "c").router;
  EXPECT_TRUE(r.norm_topk_prob);
  EXPECT_EQ(r.routed_scaling_factor, 1.0);
}

// A spec read from a config, written as MoEScope's JSON and read back, is the same spec: a rerun
// or a --spec file of a Kimi-K2 run (one group) still matches its checkpoint.
TEST(HfConfig, SpecsRoundTripThroughTheirJson) {
  for (const auto& name : preset_names()) {
    const ModelSpec spec = load_hf_config(kConfigs + name + ".json");
    EXPECT_EQ(spec_from_json(spec_to_json(spec), "round trip"), spec) << name;
  }
}

TEST(HfConfig, AFileOfAnotherFormatIsRefusedNamingIt) {
  const std::string safetensors =
      std::string(MOESCOPE_TEST_DATA) + "/hf_routers/mixtral/routing.safetensors";
  try {
    load_hf_config(safetensors);
    ADD_FAILURE() << "a safetensors file was read as a config";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(safetensors), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moescope
