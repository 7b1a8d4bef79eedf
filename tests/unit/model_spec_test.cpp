#include "core/model/model_spec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"

namespace moescope {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Presets, HaveTheRealShapes) {
  const ModelSpec mixtral = preset("mixtral-8x7b");
  EXPECT_EQ(mixtral.layers, 32);
  EXPECT_EQ(mixtral.hidden, 4096);
  EXPECT_EQ(mixtral.expert_ffn, 14336);
  EXPECT_EQ(mixtral.experts, 8);
  EXPECT_EQ(mixtral.top_k, 2);
  EXPECT_TRUE(mixtral.router.norm_topk_prob);
  const ModelSpec olmoe = preset("olmoe-1b-7b");
  EXPECT_EQ(olmoe.layers, 16);
  EXPECT_EQ(olmoe.experts, 64);
  EXPECT_EQ(olmoe.top_k, 8);
  EXPECT_FALSE(olmoe.router.norm_topk_prob);
  const ModelSpec deepseek = preset("deepseek-v2-lite");
  EXPECT_EQ(deepseek.layers, 26);
  EXPECT_EQ(deepseek.shared_experts, 2);
  EXPECT_EQ(deepseek.shared_ffn, 1408);
  const ModelSpec qwen = preset("qwen1.5-moe-a2.7b");
  EXPECT_EQ(qwen.experts, 60);
  EXPECT_EQ(qwen.top_k, 4);
  EXPECT_EQ(qwen.shared_ffn, 5632);
  EXPECT_TRUE(qwen.shared_gate_sigmoid);
  for (const auto& name : preset_names())
    EXPECT_NO_THROW(validate(preset(name)));
}

TEST(Presets, UnknownNameListsTheKnownOnes) {
  const std::string m = message_of([] { preset("gpt-5"); });
  EXPECT_NE(m.find("gpt-5"), std::string::npos);
  EXPECT_NE(m.find("olmoe-1b-7b"), std::string::npos);
}

TEST(ModelSpec, ScaleDividesHiddenAndFfnOnly) {
  const ModelSpec s = scaled(preset("qwen1.5-moe-a2.7b"), 8);
  EXPECT_EQ(s.hidden, 256);
  EXPECT_EQ(s.expert_ffn, 176);
  EXPECT_EQ(s.shared_ffn, 704);
  EXPECT_EQ(s.experts, 60);
  EXPECT_EQ(scaled(preset("olmoe-1b-7b"), 100000).hidden, 1);
  EXPECT_THROW(scaled(preset("olmoe-1b-7b"), 0), Error);
}

TEST(ModelSpec, ValidateNamesTheBadField) {
  ModelSpec s = preset("olmoe-1b-7b");
  s.top_k = 65;
  EXPECT_NE(message_of([&] { validate(s); }).find("'top_k'"), std::string::npos);
  s = preset("olmoe-1b-7b");
  s.hidden = 0;
  EXPECT_NE(message_of([&] { validate(s); }).find("'hidden'"), std::string::npos);
  s = preset("olmoe-1b-7b");
  s.layer_subset = {3, 16};
  EXPECT_NE(message_of([&] { validate(s); }).find("layer 16"), std::string::npos);
  s.layer_subset = {3, 3};
  EXPECT_NE(message_of([&] { validate(s); }).find("twice"), std::string::npos);
  s = preset("olmoe-1b-7b");
  s.shared_experts = 1;
  EXPECT_NE(message_of([&] { validate(s); }).find("'shared_ffn'"), std::string::npos);
}

TEST(SpecJson, RoundTripsEveryField) {
  ModelSpec s = preset("qwen1.5-moe-a2.7b");
  s.layer_subset = {0, 5, 23};
  const ModelSpec back = spec_from_json(spec_to_json(s), "test");
  EXPECT_EQ(spec_to_json(back), spec_to_json(s));
  EXPECT_EQ(back.layer_subset, s.layer_subset);
}

TEST(SpecJson, RoundTripsTheExpertActivation) {
  ModelSpec s = preset("gpt-oss-20b");
  s.mlp.swiglu_alpha = 1.5;
  s.mlp.swiglu_limit = 0.1;  // not exact in binary: must still come back equal
  const nlohmann::json j = spec_to_json(s);
  EXPECT_EQ(j["activation"], "clamped_swiglu");
  EXPECT_EQ(j["expert_biases"], true);
  EXPECT_EQ(spec_from_json(j, "test"), s);
  // A plain SwiGLU spec writes none of these fields, so older files read as before.
  EXPECT_FALSE(spec_to_json(preset("mixtral-8x7b")).contains("activation"));
  EXPECT_FALSE(spec_to_json(preset("mixtral-8x7b")).contains("expert_biases"));
  auto bad = j;
  bad["activation"] = "gelu";
  EXPECT_NE(message_of([&] { spec_from_json(bad, "f.json"); })
                .find("f.json: unknown expert activation 'gelu' (expected one of: swiglu, "
                      "clamped_swiglu)"),
            std::string::npos);
  bad = j;
  bad["swiglu_limit"] = 0;
  EXPECT_NE(message_of([&] { spec_from_json(bad, "f.json"); }).find("'swiglu_limit' must be"),
            std::string::npos);
  bad = j;
  bad["expert_biases"] = "yes";
  EXPECT_NE(message_of([&] {
              spec_from_json(bad, "f.json");
            }).find("'expert_biases' must be true or false"),
            std::string::npos);
}

TEST(SpecJson, RejectsBadDocumentsByField) {
  auto j = spec_to_json(preset("olmoe-1b-7b"));
  auto bad = j;
  bad["top_k"] = "eight";
  EXPECT_NE(message_of([&] { spec_from_json(bad, "f.json"); }).find("'top_k' must be an integer"),
            std::string::npos);
  bad = j;
  bad.erase("experts");
  EXPECT_NE(message_of([&] { spec_from_json(bad, "f.json"); }).find("missing field 'experts'"),
            std::string::npos);
  bad = j;
  bad["expert"] = 3;
  EXPECT_NE(message_of([&] { spec_from_json(bad, "f.json"); }).find("unknown field 'expert'"),
            std::string::npos);
  bad = j;
  bad["hidden"] = 1e12;
  EXPECT_THROW(spec_from_json(bad, "f.json"), Error);
  bad = j;
  bad["top_k"] = 100;
  EXPECT_NE(message_of([&] { spec_from_json(bad, "f.json"); }).find("f.json: model spec: 'top_k'"),
            std::string::npos);
  EXPECT_THROW(spec_from_json(nlohmann::json::array(), "f.json"), Error);
}

TEST(SpecJson, FilesThatAreMissingEmptyOrNotJson) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string path = (dir / "moescope_spec_test.json").string();
  EXPECT_NE(message_of([&] { load_spec_file(path + ".missing"); }).find("cannot open"),
            std::string::npos);
  { std::ofstream(path) << "  \n"; }
  EXPECT_NE(message_of([&] { load_spec_file(path); }).find("empty"), std::string::npos);
  { std::ofstream(path) << "\x89PNG\r\n"; }
  EXPECT_NE(message_of([&] { load_spec_file(path); }).find("not valid JSON"), std::string::npos);
  save_spec_file(preset("deepseek-v2-lite"), path);
  EXPECT_EQ(load_spec_file(path).shared_experts, 2);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace moescope
