// Real models at the command line: specs from Hugging Face configs, the router variants of
// `route` against transformers' own choices, and runs of a model folder with its captured
// routing (tests/data/hf_routers, scripts/make_router_fixtures.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/inputs/safetensors.h"
#include "tests/cli/cli_runner.h"

namespace moescope {
namespace {

using nlohmann::json;
using test::CliResult;
using test::run_cli;
using test::temp_path;

const std::string kRouters = std::string(MOESCOPE_TEST_DATA) + "/hf_routers/";

TEST(CliRealModels, SpecFromHfPrintsTheRouter) {
  const CliResult r = run_cli({"spec", "--from-hf", kRouters + "deepseek_v3/config.json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["scoring"], "sigmoid");
  EXPECT_EQ(j["n_group"], 8);
  EXPECT_EQ(j["topk_group"], 4);
  EXPECT_EQ(j["group_score"], "top2_sum");
  EXPECT_EQ(j["routed_scaling_factor"], 2.5);
  EXPECT_EQ(j["layers"], 2);            // 3 decoder layers, the first dense
  EXPECT_EQ(j["name"], "deepseek_v3");  // the folder's name
}

TEST(CliRealModels, SpecFromHfRefusesAnotherFormatInOneLine) {
  const CliResult r = run_cli({"spec", "--from-hf", kRouters + "mixtral/routing.safetensors"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("routing.safetensors"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  const CliResult neither = run_cli({"spec"});
  EXPECT_NE(neither.exit_code, 0);
  EXPECT_NE(neither.err.find("--preset NAME or --from-hf CONFIG"), std::string::npos);
}

TEST(CliRealModels, PresetsListTheRouters) {
  const CliResult r = run_cli({"presets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sigmoid, 8 groups top-4 (top2_sum), normalized, x2.5"), std::string::npos)
      << r.out;
  for (const char* name : {"deepseek-v3", "deepseek-r1", "kimi-k2", "deepseek-v2", "qwen3-30b-a3b",
                           "qwen3-235b-a22b", "mixtral-8x22b", "gpt-oss-20b", "gpt-oss-120b"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  EXPECT_NE(r.out.find("experts clamped SwiGLU (alpha 1.702, limit 7) with biases"),
            std::string::npos)
      << r.out;
}

// gpt-oss runs with its checkpoint's experts and says which activation they compute; a spec
// that is the same model with plain SwiGLU experts is not its checkpoint's model.
TEST(CliRealModels, GptOssRunsWithItsOwnExperts) {
  const std::string session = temp_path(".moescope");
  const std::string folder = kRouters + "gpt_oss";
  const CliResult r = run_cli({"run", "--model", folder, "--weights", folder, "--logits",
                               folder + "/routing.safetensors", "--compare", "--backend", "cpu",
                               "--session", session});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("experts clamped SwiGLU (alpha 1.702, limit 0.02) with biases"),
            std::string::npos)
      << r.out;
  const CliResult spec = run_cli({"spec", "--from-hf", folder});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  json plain = json::parse(spec.out);
  EXPECT_EQ(plain["activation"], "clamped_swiglu");
  for (const char* field : {"activation", "swiglu_alpha", "swiglu_limit"})
    plain.erase(field);
  const std::string plain_path = temp_path("-plain.json");
  std::ofstream(plain_path) << plain.dump();
  const CliResult wrong = run_cli({"run", "--spec", plain_path, "--weights", folder, "--logits",
                                   folder + "/routing.safetensors", "--session", session});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("the checkpoint's config describes"), std::string::npos) << wrong.err;
  std::filesystem::remove(session);
  std::filesystem::remove(plain_path);
}

// `route` with DeepSeek-V3's router keeps, under `none`, exactly the pairs transformers chose.
TEST(CliRealModels, RouteWithTheV3RouterChoosesAsTransformers) {
  const std::string file = kRouters + "deepseek_v3/routing.safetensors";
  const std::vector<std::string> v3_router = {"route",
                                              "--logits",
                                              file,
                                              "--tensor",
                                              "model.layers.1.router_logits",
                                              "--top-k",
                                              "8",
                                              "--policy",
                                              "none",
                                              "--scoring",
                                              "sigmoid",
                                              "--n-group",
                                              "8",
                                              "--topk-group",
                                              "4",
                                              "--group-score",
                                              "top2_sum",
                                              "--norm-topk",
                                              "--routed-scaling-factor",
                                              "2.5"};
  std::vector<std::string> with_bias = v3_router;
  with_bias.insert(with_bias.end(), {"--bias-tensor", "model.layers.1.e_score_correction_bias"});
  const CliResult r = run_cli(with_bias);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const SafetensorsFile fixture(file);
  const auto experts = fixture.read_f32(*fixture.find("hf.layers.1.topk_indices"));
  const auto weights = fixture.read_f32(*fixture.find("hf.layers.1.topk_weights"));
  std::map<std::pair<int, int>, float> theirs;
  for (std::size_t i = 0; i < experts.size(); ++i)
    theirs[{static_cast<int>(i / 8), static_cast<int>(experts[i])}] = weights[i];
  const json pairs = json::parse(r.out)["pairs"];
  ASSERT_EQ(pairs.size(), theirs.size());
  for (const auto& p : pairs) {
    const auto it = theirs.find({p[0].get<int>(), p[1].get<int>()});
    ASSERT_NE(it, theirs.end()) << p.dump();
    EXPECT_NEAR(p[2].get<double>(), it->second, 1e-6) << p.dump();
  }
  // Without the bias the choice differs: the option is not ignored.
  const CliResult unbiased = run_cli(v3_router);
  ASSERT_EQ(unbiased.exit_code, 0) << unbiased.err;
  EXPECT_NE(json::parse(unbiased.out)["pairs"], pairs);
}

TEST(CliRealModels, RouteRefusesABadRouterNamingIt) {
  const std::string file = kRouters + "deepseek_v3/routing.safetensors";
  const std::vector<std::string> base = {
      "route",   "--logits", file,       "--tensor", "model.layers.0.router_logits",
      "--top-k", "8",        "--policy", "none"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  };
  CliResult r = with({"--bias-tensor", "nope"});
  EXPECT_NE(r.err.find("no tensor named 'nope' (--bias-tensor)"), std::string::npos) << r.err;
  r = with({"--bias-tensor", "model.layers.0.router_logits"});
  EXPECT_NE(r.err.find("must be 1-D with the 32 experts"), std::string::npos) << r.err;
  r = with({"--n-group", "5"});
  EXPECT_NE(r.err.find("'n_group' (5) must be a positive divisor of the 32 experts"),
            std::string::npos)
      << r.err;
  r = with({"--scoring", "tanh"});
  EXPECT_NE(r.err.find("unknown scoring function 'tanh' (expected one of: softmax, sigmoid)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.exit_code, 0);
}

// A model folder and its captured routing run through every policy, the spec's router and the
// recorded bias included, and the session keeps the router.
TEST(CliRealModels, RunAModelFolderOnItsCapturedRouting) {
  const std::string session = temp_path(".moescope");
  const std::string folder = kRouters + "deepseek_v3";
  const CliResult r =
      run_cli({"run", "--model", folder, "--logits", folder + "/routing.safetensors", "--compare",
               "--backend", "cpu", "--session", session, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  const json spec = j["model"];
  EXPECT_EQ(spec["scoring"], "sigmoid") << spec.dump();
  EXPECT_EQ(spec["routed_scaling_factor"], 2.5);
  const CliResult shown = run_cli({"show", "1", "--session", session});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("router sigmoid, 8 groups top-4 (top2_sum), normalized, x2.5"),
            std::string::npos)
      << shown.out;
  std::filesystem::remove(session);
  const CliResult both = run_cli({"run", "--model", folder, "--preset", "olmoe-1b-7b"});
  EXPECT_NE(both.exit_code, 0);
}

// With the checkpoint's weights the policies' output error is the real one; a checkpoint of
// another model is refused before anything is stored.
TEST(CliRealModels, RunWithCheckpointWeights) {
  const std::string session = temp_path(".moescope");
  const std::string folder = kRouters + "qwen2_moe";
  const CliResult r = run_cli({"run", "--model", folder, "--weights", folder, "--logits",
                               folder + "/routing.safetensors", "--compare", "--backend", "cpu",
                               "--session", session, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["weights"], "checkpoint(" + folder + ")");
  EXPECT_EQ(j["weights_shared_across_layers"], false);
  ASSERT_GE(j["policies"].size(), 4u);
  const CliResult table = run_cli({"run", "--model", folder, "--weights", folder, "--logits",
                                   folder + "/routing.safetensors", "--policy", "drop", "--backend",
                                   "cpu", "--session", session});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("weights: checkpoint(" + folder + ")"), std::string::npos);

  const std::string other = temp_path("-other.moescope");
  const CliResult wrong =
      run_cli({"run", "--model", kRouters + "qwen3_moe", "--weights", kRouters + "olmoe",
               "--logits", kRouters + "qwen3_moe/routing.safetensors", "--session", other});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("the checkpoint's config describes"), std::string::npos) << wrong.err;
  const CliResult listed = run_cli({"sessions", other, "--json"});
  EXPECT_TRUE(listed.exit_code != 0 || json::parse(listed.out).empty()) << listed.out;
  std::filesystem::remove(session);
  std::filesystem::remove(other);
}

}  // namespace
}  // namespace moescope
