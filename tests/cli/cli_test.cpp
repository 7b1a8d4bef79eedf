// moescope-cli used as documented in README.md.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/cli/cli_runner.h"

namespace moescope::test {
namespace {

using nlohmann::json;

// The worked example of shared/ALGORITHMS.md as logits: log(p) gives back p under softmax.
std::string write_worked_example(const std::string& dtype = "F32") {
  const std::vector<int> top = {0, 0, 0, 0, 1, 2, 0, 3};
  const std::vector<float> score = {.9f, .5f, .7f, .6f, .8f, .9f, .95f, .4f};
  std::vector<float> logits;
  for (std::size_t t = 0; t < top.size(); ++t) {
    for (int e = 0; e < 4; ++e) {
      logits.push_back(std::log(e == top[t] ? score[t] : (1 - score[t]) / 3));
    }
  }
  const std::string path = temp_path(".safetensors");
  write_safetensors(path, {{"model.layers.0.router_logits", {8, 4}, logits, dtype}});
  return path;
}

TEST(CliRoute, WorkedExampleDropByScore) {
  const std::string path = write_worked_example();
  const CliResult r = run_cli({"route", "--logits", path, "--top-k", "1", "--policy", "drop",
                               "--gamma", "1.0", "--format", "json"});
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["tokens"], 8);
  EXPECT_EQ(j["experts"], 4);
  EXPECT_EQ(j["top_k"], 1);
  EXPECT_EQ(j["capacity"], 2);
  EXPECT_EQ(j["routed_load"], json({5, 1, 1, 1}));
  EXPECT_EQ(j["kept_load"], json({2, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(j["drop_rate"].get<double>(), 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(j["tokens_fully_dropped"].get<double>(), 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(j["imbalance_routed"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(j["imbalance_kept"].get<double>(), 1.6);
  ASSERT_EQ(j["pairs"].size(), 5u);
  const std::vector<std::pair<int, int>> expected = {{0, 0}, {4, 1}, {5, 2}, {6, 0}, {7, 3}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(j["pairs"][i][0], expected[i].first);
    EXPECT_EQ(j["pairs"][i][1], expected[i].second);
  }
  EXPECT_NEAR(j["pairs"][3][2].get<double>(), .95, 1e-5);
  EXPECT_TRUE(j.contains("gate_mass_kept"));
}

TEST(CliRoute, PositionPrioritySourceScopeAndHalfPrecision) {
  const std::string path = write_worked_example("BF16");
  CliResult r = run_cli({"route", "--logits", path, "--top-k", "1", "--policy", "drop",
                         "--priority", "position", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["pairs"][1][0], 1);  // tokens 0 and 1 keep expert 0
  r = run_cli({"route", "--logits", path, "--top-k", "1", "--policy", "reroute", "--devices", "2",
               "--capacity-scope", "source", "--reroute-scope", "local", "--norm-topk",
               "--renormalize", "--format", "json"});
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["capacity"], json({1, 1}));  // per source device: ceil(4 * 1 / 4)
  for (const auto& pair : j["pairs"])
    EXPECT_NEAR(pair[2].get<double>(), 1.0, 1e-6);
}

TEST(CliRoute, PicksTheTensorByName) {
  const std::string path = temp_path(".safetensors");
  write_safetensors(path, {{"a", {2, 4}, std::vector<float>(8, 0.f)},
                           {"b", {3, 4}, std::vector<float>(12, 0.f)}});
  const CliResult r = run_cli({"route", "--logits", path, "--tensor", "b", "--top-k", "2",
                               "--policy", "none", "--format", "json"});
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["tokens"], 3);
}

TEST(CliRun, CompareRunsEveryPolicyAsJson) {
  const CliResult r =
      run_cli({"run", "--preset", "deepseek-v2-lite", "--scale", "32", "--tokens", "256",
               "--layers", "0,3", "--steps", "2", "--compare", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["policies"].size(), 4u);
  EXPECT_EQ(j["policies"][0]["label"], "none");
  EXPECT_EQ(j["policies"][2]["label"], "expanded(gamma=1,m=1)");
  EXPECT_EQ(j["devices"], 8);
  EXPECT_EQ(j["timing"], "composed");
  for (const auto& p : j["policies"]) {
    EXPECT_EQ(p["layers"].size(), 2u);
    EXPECT_GT(p["summary"]["latency_ns"]["mean"].get<double>(), 0.0);
  }
}

TEST(CliRun, TableNamesThePoliciesAndDevices) {
  const CliResult r = run_cli({"run", "--preset", "mixtral-8x7b", "--scale", "64", "--tokens", "64",
                               "--layers", "1", "--policy", "reroute", "--per-layer"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reroute(gamma=1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("composed"), std::string::npos);
  EXPECT_NE(r.out.find("Per layer"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << "no progress line when stderr is not a terminal: " << r.err;
}

TEST(CliRun, SpecFileAndReplayedLogits) {
  const std::string spec = temp_path(".json");
  CliResult r = run_cli({"spec", "--preset", "olmoe-1b-7b", "--scale", "32", "--out", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string logits = temp_path(".safetensors");
  write_safetensors(
      logits, {{"model.layers.0.router_logits", {16, 64}, std::vector<float>(16 * 64, 0.25f)}});
  r = run_cli({"run", "--spec", spec, "--logits", logits, "--layers", "0", "--format", "json"});
  std::filesystem::remove(spec);
  std::filesystem::remove(logits);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["tokens"], 16);
  EXPECT_NE(j["routing"].get<std::string>().find("replay"), std::string::npos);
}

TEST(CliPresets, ListsEveryPreset) {
  const CliResult r = run_cli({"presets"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* name :
       {"mixtral-8x7b", "olmoe-1b-7b", "deepseek-v2-lite", "qwen1.5-moe-a2.7b"}) {
    EXPECT_NE(r.out.find(name), std::string::npos);
  }
}

}  // namespace
}  // namespace moescope::test

namespace moescope::test {
namespace {

TEST(CliRun, CtrlCStopsCleanlyBetweenLayers) {
  const std::string err_path = temp_path(".stderr");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen(err_path.c_str(), "w", stderr);
    execl(MOESCOPE_CLI_PATH, "moescope-cli", "run", "--preset", "olmoe-1b-7b", "--scale", "4",
          "--tokens", "2048", "--steps", "1000", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(err_path);
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_path);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal instead of stopping cleanly";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_EQ(err, "error: interrupted; nothing was written\n");
}

}  // namespace
}  // namespace moescope::test
