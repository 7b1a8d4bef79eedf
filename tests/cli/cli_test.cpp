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

#include "core/base/error.h"
#include "core/inputs/safetensors.h"
#include "core/session/session_store.h"
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

// A scale that does not divide the sizes runs at the sizes it rounds to, and says so.
TEST(CliRun, ScaleThatDoesNotDivideSaysWhatItRounded) {
  const CliResult r = run_cli({"run", "--preset", "mixtral-8x7b", "--scale", "3", "--tokens", "16",
                               "--layers", "0", "--repeats", "1", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: scale 3 does not divide the model's sizes: hidden 4096 ÷ 3 rounded "
                       "down to 1365, expert_ffn 14336 ÷ 3 rounded down to 4778"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("\"hidden\": 1365"), std::string::npos) << r.out.substr(0, 2000);
  const CliResult divides = run_cli({"run", "--preset", "mixtral-8x7b", "--scale", "64", "--tokens",
                                     "16", "--layers", "0", "--repeats", "1"});
  ASSERT_EQ(divides.exit_code, 0) << divides.err;
  EXPECT_EQ(divides.err.find("note:"), std::string::npos) << divides.err;
}

TEST(CliRun, SpecFileAndReplayedLogits) {
  const std::string spec = temp_path(".json");
  CliResult r = run_cli({"spec", "--preset", "olmoe-1b-7b", "--scale", "32", "--out", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string logits = temp_path(".safetensors");
  write_safetensors(
      logits, {{"model.layers.0.router_logits", {16, 64}, std::vector<float>(16 * 64, 0.25f)}});
  const std::string session = temp_path(".moescope");
  r = run_cli({"run", "--spec", spec, "--logits", logits, "--layers", "0", "--format", "json",
               "--session", session});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["tokens"], 16);
  EXPECT_NE(j["routing"].get<std::string>().find("replay"), std::string::npos);
  // --tokens that the file does not hold is refused, not ignored; the file's count is accepted.
  r = run_cli({"run", "--spec", spec, "--logits", logits, "--layers", "0", "--tokens", "64",
               "--session", session});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("64 asked for, but " + logits + " holds 16 tokens per layer"),
            std::string::npos)
      << r.err;
  r = run_cli({"run", "--spec", spec, "--logits", logits, "--layers", "0", "--tokens", "16",
               "--session", session});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove(spec);
  std::filesystem::remove(logits);
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(session + suffix);
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

// Starts a long run in a child process; returns its pid.
pid_t start_long_run(const std::string& session, const std::string& err_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen(err_path.c_str(), "w", stderr);
    execl(MOESCOPE_CLI_PATH, "moescope-cli", "run", "--preset", "olmoe-1b-7b", "--scale", "4",
          "--tokens", "2048", "--steps", "1000", "--compare", "--session", session.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class CliSession : public ::testing::Test {
 protected:
  std::string session_ = temp_path(".moescope");
  void TearDown() override {
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(session_ + suffix);
  }
  void small_run(const std::string& policy) {
    const CliResult r =
        run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "64", "--tokens", "64", "--layers",
                 "0,1", "--policy", policy, "--session", session_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

TEST_F(CliSession, CtrlCStopsCleanlyAndMarksTheRunIncomplete) {
  small_run("drop");
  const std::string err_path = temp_path(".stderr");
  const pid_t pid = start_long_run(session_, err_path);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  const std::string err = read_file(err_path);
  std::filesystem::remove(err_path);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal instead of stopping cleanly";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_EQ(err, "error: interrupted; unfinished runs are kept in the session as incomplete\n");
  SessionStore store(session_, SessionStore::Access::kRead);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 6u);  // 2 finished earlier, 4 interrupted
  EXPECT_EQ(runs[1].status, "complete");
  for (std::size_t i = 2; i < 6; ++i)
    EXPECT_EQ(runs[i].status, "incomplete");
}

TEST_F(CliSession, KillNineLeavesTheSessionReadableAndEarlierRunsIntact) {
  small_run("drop");
  SessionStore before(session_, SessionStore::Access::kRead);
  const auto loads_before = before.expert_loads(2);
  const auto events_before = before.spans(2);
  const std::string err_path = temp_path(".stderr");
  const pid_t pid = start_long_run(session_, err_path);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  std::filesystem::remove(err_path);

  SessionStore after(session_, SessionStore::Access::kRead);
  const auto runs = after.runs();
  ASSERT_EQ(runs.size(), 6u);
  EXPECT_EQ(runs[0].status, "complete");
  EXPECT_EQ(runs[1].status, "complete");
  for (std::size_t i = 2; i < 6; ++i) {
    EXPECT_EQ(runs[i].status, "incomplete");
    EXPECT_TRUE(after.expert_loads(runs[i].id).empty());
  }
  const auto loads_after = after.expert_loads(2);
  ASSERT_EQ(loads_after.size(), loads_before.size());
  for (std::size_t i = 0; i < loads_after.size(); ++i) {
    EXPECT_EQ(loads_after[i].kept, loads_before[i].kept);
  }
  EXPECT_EQ(after.spans(2).size(), events_before.size());
  // And the session still takes new runs.
  small_run("reroute");
  EXPECT_EQ(SessionStore(session_, SessionStore::Access::kRead).runs().back().status, "complete");
}

TEST_F(CliSession, SweepStoresEveryGridPoint) {
  const CliResult r = run_cli({"sweep",
                               "--preset",
                               "olmoe-1b-7b",
                               "--scale",
                               "64",
                               "--tokens",
                               "128",
                               "--layers",
                               "0",
                               "--policies",
                               "none,drop,expanded",
                               "--gamma",
                               "1,2",
                               "--m",
                               "0,1",
                               "--devices",
                               "4,8",
                               "--format",
                               "json",
                               "--session",
                               session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  // Per devices value: the baseline, drop x 2 gammas, expanded x 2 gammas x 2 m.
  ASSERT_EQ(j["points"].size(), 2u * (1 + 2 + 4));
  SessionStore store(session_, SessionStore::Access::kRead);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 14u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, "complete");
    EXPECT_EQ(run.group, runs.front().group);
    if (run.policy_kind != "none") {
      ASSERT_TRUE(run.baseline_run.has_value());
      EXPECT_EQ(store.run(*run.baseline_run).devices, run.devices);
    }
  }
  EXPECT_EQ(runs[2].policy, "drop(gamma=2)");
  EXPECT_EQ(runs[3].policy, "expanded(gamma=1,m=0)");
}

TEST_F(CliSession, CtrlCStopsASweepKeepingFinishedPoints) {
  const std::string err_path = temp_path(".stderr");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen(err_path.c_str(), "w", stderr);
    execl(MOESCOPE_CLI_PATH, "moescope-cli", "sweep", "--preset", "olmoe-1b-7b", "--scale", "16",
          "--tokens", "1024", "--layers", "0,1,2,3", "--policies", "drop,expanded,reroute",
          "--gamma", "0.5,1,1.5,2,3", "--devices", "2,4", "--session", session_.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // The points of one device count run together (one pass over the layers, the baseline once):
  // interrupt once the first device count is stored, reading the session while the sweep
  // writes it.
  bool stored = false;
  for (int i = 0; i < 3000 && !stored; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      for (const auto& run : SessionStore(session_, SessionStore::Access::kRead).runs()) {
        stored = stored || run.status == "complete";
      }
    } catch (const Error&) {
      // The session does not exist yet.
    }
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  std::filesystem::remove(err_path);
  ASSERT_TRUE(stored) << "no point finished within 150 s";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  // 16 runs per device count (the baseline, drop and reroute at 5 gammas, expanded at 5): the
  // first count's are kept complete, the second's are marked incomplete.
  const auto runs = SessionStore(session_, SessionStore::Access::kRead).runs();
  ASSERT_EQ(runs.size(), 32u);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].status, i < 16 ? "complete" : "incomplete") << "run " << runs[i].id;
    EXPECT_EQ(runs[i].devices, i < 16 ? 2 : 4);
  }
}

TEST_F(CliSession, RerunReproducesAStoredRunIntoAnySession) {
  small_run("expanded");
  const std::string other = temp_path(".other.moescope");
  CliResult r = run_cli({"rerun", "2", "--session", session_, "--into", other, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["session"], other);
  ASSERT_EQ(j["policies"].size(), 2u);
  EXPECT_EQ(j["policies"][1]["label"], "expanded(gamma=1,m=1)");
  SessionStore before(session_, SessionStore::Access::kRead);
  SessionStore after(other, SessionStore::Access::kRead);
  const auto old_loads = before.expert_loads(2);
  const auto new_loads = after.expert_loads(j["policies"][1]["run_id"].get<std::int64_t>());
  ASSERT_EQ(new_loads.size(), old_loads.size());
  for (std::size_t i = 0; i < old_loads.size(); ++i) {
    EXPECT_EQ(new_loads[i].kept, old_loads[i].kept);
    EXPECT_EQ(new_loads[i].added, old_loads[i].added);
  }
  // The same request runs again from a file too.
  const std::string request = temp_path(".request.json");
  { std::ofstream(request) << before.run(2).request_json; }
  r = run_cli({"run", "--request", request, "--session", other, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["policies"][1]["label"], "expanded(gamma=1,m=1)");
  r = run_cli({"run", "--request", request, "--tokens", "5", "--session", other});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--tokens cannot be combined with --request"), std::string::npos) << r.err;
  r = run_cli({"rerun", "99", "--session", session_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no run 99"), std::string::npos) << r.err;
  std::filesystem::remove(request);
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(other + suffix);
}

// A modeled run: the cost model calibrated first (or by `calibrate`), then every run of the
// comparison modeled from its loads, with the composed latency beside it.
TEST_F(CliSession, CalibrateThenAModeledComparison) {
  CliResult r = run_cli({"calibrate", "--preset", "olmoe-1b-7b", "--scale", "64", "--tokens", "128",
                         "--backend", "cpu", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json model = json::parse(r.out);
  EXPECT_EQ(model["backend"], "cpu");
  EXPECT_GT(model["expert"]["slope_ns"].get<double>(), 0);
  EXPECT_TRUE(std::filesystem::exists(model["file"].get<std::string>()));
  r = run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "64", "--tokens", "128", "--layers",
               "0,1", "--compare", "--timing", "modeled", "--backend", "cpu", "--format", "json",
               "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["timing"], "modeled");
  for (const auto& p : j["policies"]) {
    EXPECT_TRUE(p["summary"].contains("modeled_latency_ns")) << p["label"];
    EXPECT_TRUE(p["summary"].contains("composed_latency_ns"));
    // The run's latency is the modeled one: exact, no interval.
    EXPECT_EQ(p["summary"]["latency_ns"]["mean"], p["summary"]["modeled_latency_ns"]["mean"]);
    EXPECT_FALSE(p["summary"]["latency_ns"].contains("low"));
  }
  r = run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "64", "--tokens", "128", "--layers",
               "0", "--backend", "cpu", "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Modeled against composed"), std::string::npos) << r.out;
}

TEST_F(CliSession, PrintRequestRunsNothing) {
  const CliResult r = run_cli({"sweep", "--preset", "olmoe-1b-7b", "--gamma", "1,2", "--devices",
                               "4,8", "--print-request", "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["policies"]["gamma"], json({1.0, 2.0}));
  EXPECT_EQ(j["policies"]["kinds"], json({"drop", "expanded", "reroute"}));
  EXPECT_EQ(j["devices"], json({4, 8}));
  EXPECT_FALSE(std::filesystem::exists(session_));
}

TEST_F(CliSession, ListShowRenameRemoveAndExport) {
  small_run("expanded");
  CliResult r = run_cli({"sessions", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("expanded(gamma=1,m=1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("complete"), std::string::npos);
  r = run_cli({"show", "2", "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("drop_rate"), std::string::npos);
  EXPECT_NE(r.out.find("baseline: run 1"), std::string::npos);
  r = run_cli({"show", "2", "--kernels", "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no GPU kernel records: run 2 was timed by cpu-timer"), std::string::npos)
      << r.out;
  ASSERT_EQ(run_cli({"rename", "2", "first try", "--session", session_}).exit_code, 0);
  r = run_cli({"sessions", "--session", session_, "--json"});
  EXPECT_EQ(json::parse(r.out)[1]["name"], "first try");
  const std::string trace = temp_path(".trace.json");
  r = run_cli({"export", "2", "--format", "chrome-trace", "--out", trace, "--session", session_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(json::parse(read_file(trace))["traceEvents"].empty());
  std::filesystem::remove(trace);
  ASSERT_EQ(run_cli({"rm", "2", "--session", session_}).exit_code, 0);
  EXPECT_EQ(json::parse(run_cli({"sessions", session_, "--json"}).out).size(), 1u);
}

TEST_F(CliSession, RefusedOptionsStoreNothing) {
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--backend", "tpu"}, {"--devices", "65"}, {"--tokens", "100000000"}}) {
    std::vector<std::string> args = {"run", "--preset", "olmoe-1b-7b", "--session", session_};
    args.insert(args.end(), bad.begin(), bad.end());
    EXPECT_EQ(run_cli(args).exit_code, 1) << bad[0];
  }
  EXPECT_TRUE(SessionStore(session_, SessionStore::Access::kWrite).runs().empty());
}

TEST_F(CliSession, BadSessionsAndRuns) {
  CliResult r = run_cli({"sessions", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no session file"), std::string::npos) << r.err;
  { std::ofstream(session_) << "id,name\n1,run\n"; }
  r = run_cli(
      {"run", "--preset", "olmoe-1b-7b", "--scale", "64", "--tokens", "16", "--session", session_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a MoEScope session"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(session_), "id,name\n1,run\n");
  std::filesystem::remove(session_);
  small_run("drop");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"show", "9", "--session", session_},
           {"rm", "9", "--session", session_},
           {"rename", "9", "x", "--session", session_},
           {"export", "9", "--format", "csv", "--out", "/tmp/x.csv", "--session", session_},
           {"export", "1", "--format", "xml", "--out", "/tmp/x.xml", "--session", session_}}) {
    r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << args[0];
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  }
}

}  // namespace
}  // namespace moescope::test

namespace moescope::test {
namespace {

TEST(CliRoute, AHugeGammaKeepsEveryPair) {
  const std::string path = write_worked_example();
  const CliResult r = run_cli({"route", "--logits", path, "--top-k", "1", "--policy", "drop",
                               "--gamma", "1e300", "--format", "json"});
  std::filesystem::remove(path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["drop_rate"], 0.0);
  EXPECT_EQ(j["capacity"], 9007199254740992);
}

TEST(CliRun, ReplayedHiddenStatesMustBeFinite) {
  const std::string path = temp_path(".safetensors");
  std::vector<float> hidden(16 * 64, 0.5f);
  hidden[3 * 64 + 5] = std::nanf("");
  write_safetensors(path,
                    {{"model.layers.0.router_logits", {16, 64}, std::vector<float>(16 * 64, 0.f)},
                     {"model.layers.0.hidden_states", {16, 64}, hidden}});
  const CliResult r = run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "32", "--layers", "0",
                               "--logits", path, "--session", temp_path(".moescope")});
  std::filesystem::remove(path);
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(temp_path(".moescope") + suffix);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: hidden states of layer 0, token 3 are NaN\n");
}

}  // namespace
}  // namespace moescope::test
