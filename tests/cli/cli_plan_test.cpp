// `moescope-cli plan`: EPLB replica plans from a stored run or an engine's load counts, as a
// user runs it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_runner.h"

namespace moescope::test {
namespace {

using nlohmann::json;

// A 4-step run of 2 Mixtral layers on 4 devices whose hot experts move one expert per step.
std::string drifting_run() {
  const std::string session = temp_path(".moescope");
  const CliResult r = run_cli({"run",       "--preset",  "mixtral-8x7b",
                               "--scale",   "32",        "--tokens",
                               "256",       "--steps",   "4",
                               "--layers",  "0,1",       "--repeats",
                               "1",         "--policy",  "none",
                               "--devices", "4",         "--drift",
                               "1",         "--backend", "cpu",
                               "--session", session});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return session;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Plan, FromAStoredRunWithALaggingWindowAndSglangsFile) {
  const std::string session = drifting_run();
  const std::string out = temp_path(".json");
  const CliResult r = run_cli({"plan", "1", "--session", session, "--replicas", "4", "--window",
                               "2", "--out", out, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["slots"], 12);
  EXPECT_EQ(j["devices"], 4);
  EXPECT_EQ(j["algorithm"], "global");
  EXPECT_EQ(j["window_steps"], 2);
  ASSERT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][0]["slot_expert"].size(), 12u);
  EXPECT_EQ(j["balancedness"]["later_steps"].size(), 2u);  // steps 2 and 3
  EXPECT_GT(j["balancedness"]["window_with"]["mean"].get<double>(),
            j["balancedness"]["window_without"]["mean"].get<double>());
  EXPECT_GT(j["replica_weight_bytes"].get<double>(), 0);
  // SGLang passes the file's keys on as arguments: exactly one key, one row per layer.
  const json file = json::parse(read_file(out));
  ASSERT_EQ(file.size(), 1u);
  EXPECT_EQ(file["physical_to_logical_map"],
            json::array({j["layers"][0]["slot_expert"], j["layers"][1]["slot_expert"]}));
  const CliResult table = run_cli({"plan", "1", "--session", session, "--replicas", "4"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("8 experts + 4 replicas = 12 slots on 4 devices"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("window, with the plan"), std::string::npos) << table.out;
}

TEST(Plan, FromEngineCountsEvaluatedOnARun) {
  const std::string session = drifting_run();
  const std::string counts = temp_path(".json");
  std::ofstream(counts) << R"({"logical_count": [[90, 10, 10, 10, 10, 10, 10, 10],
                                                  [10, 10, 10, 10, 10, 10, 10, 90]]})";
  const CliResult r = run_cli({"plan", "1", "--session", session, "--loads", counts, "--replicas",
                               "4", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["layers"][0]["replica_count"][0], 5);  // 90 > 45 > 30 > 22.5 > 10
  EXPECT_EQ(j["layers"][1]["replica_count"][7], 5);
  EXPECT_EQ(j["balancedness"]["later_steps"].size(), 4u);  // every step of the run
}

TEST(Plan, ARunOnReplicasStoresItsPlansAndShowsThem) {
  const std::string session = temp_path(".moescope");
  const CliResult r = run_cli({"run",         "--preset",  "mixtral-8x7b",
                               "--scale",     "32",        "--tokens",
                               "256",         "--steps",   "3",
                               "--layers",    "0,1",       "--repeats",
                               "1",           "--devices", "4",
                               "--replicas",  "4",         "--replica-choice",
                               "local_first", "--backend", "cpu",
                               "--session",   session});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("replicas: 4 redundant slots, 12 on 4 devices (EPLB global, spread, "
                       "local_first), plans from the routed loads of step 0"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Device balance by step"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run 1 (none), 2 (replicate), 3 (drop(gamma=1)), 4 "
                       "(drop(gamma=1,per-device)), 5 (drop(gamma=1)+replicas)"),
            std::string::npos)
      << r.out;
  const CliResult shown = run_cli({"show", "2", "--session", session});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("replicated experts: 12 slots on 4 devices per layer"),
            std::string::npos)
      << shown.out;
  const std::string out = temp_path(".json");
  const CliResult used = run_cli({"plan", "2", "--used", "--session", session, "--out", out});
  ASSERT_EQ(used.exit_code, 0) << used.err;
  const json file = json::parse(read_file(out));
  ASSERT_EQ(file["physical_to_logical_map"].size(), 2u);
  EXPECT_EQ(file["physical_to_logical_map"][0].size(), 12u);
  // The export holds every slot of every step and layer.
  const CliResult exported =
      run_cli({"export", "5", "--session", session, "--format", "json", "--out", out});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(json::parse(read_file(out))["replica_slots"].size(), 3u * 2u * 12u);
  // The baseline ran on no replicas.
  const CliResult none = run_cli({"plan", "1", "--used", "--session", session});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("stored no replica slots"), std::string::npos) << none.err;
  // Replicas that do not fit are refused before anything runs.
  const CliResult bad =
      run_cli({"run", "--preset", "mixtral-8x7b", "--scale", "32", "--tokens", "64", "--devices",
               "4", "--replicas", "3", "--backend", "cpu", "--session", session});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("11 slots do not split evenly over 4 devices"), std::string::npos)
      << bad.err;
}

TEST(Plan, ARunPlannedFromAnotherRunOrAnEnginesCounts) {
  const std::string session = drifting_run();  // 2 layers (0, 1) of Mixtral, 8 experts
  const auto run = [&](const std::vector<std::string>& extra, const std::string& layers = "0,1") {
    std::vector<std::string> args = {
        "run",      "--preset", "mixtral-8x7b", "--scale",   "32",        "--tokens",  "128",
        "--layers", layers,     "--repeats",    "1",         "--devices", "4",         "--replicas",
        "4",        "--policy", "none",         "--backend", "cpu",       "--session", session};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  };
  const CliResult from_run = run({"--plan-from", "1"});
  ASSERT_EQ(from_run.exit_code, 0) << from_run.err;
  EXPECT_NE(from_run.out.find("plans from run 1 of " + session), std::string::npos) << from_run.out;
  const std::string counts = temp_path(".json");
  std::ofstream(counts) << R"({"logical_count": [[90, 10, 10, 10, 10, 10, 10, 10],
                                                  [10, 10, 10, 10, 10, 10, 10, 90]]})";
  const CliResult from_file = run({"--plan-loads", counts, "--format", "json"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  const json j = json::parse(from_file.out);
  EXPECT_EQ(j["policies"][1]["replica_plans"][0]["replica_count"][0], 5);
  EXPECT_EQ(j["policies"][1]["replica_plans"][1]["replica_count"][7], 5);
  // Balancedness as the engines log it, per step (this run has one).
  ASSERT_EQ(j["policies"][1]["balancedness_by_step"].size(), 1u);
  EXPECT_GT(j["policies"][1]["balancedness_by_step"][0]["mean"].get<double>(),
            j["policies"][0]["balancedness_by_step"][0]["mean"].get<double>());
  // Loads that do not fit the model or the layers are refused, naming them.
  std::ofstream(counts) << "[[1, 2, 3, 4], [1, 2, 3, 4]]";
  const CliResult other_model = run({"--plan-loads", counts});
  EXPECT_NE(other_model.exit_code, 0);
  EXPECT_NE(other_model.err.find("4 experts in layer 0, the model has 8"), std::string::npos)
      << other_model.err;
  const CliResult missing_layer = run({"--plan-from", "1"}, "0,5");
  EXPECT_NE(missing_layer.err.find("have none for layer 5"), std::string::npos)
      << missing_layer.err;
  const CliResult no_run = run({"--plan-from", "99"});
  EXPECT_NE(no_run.err.find("no run 99"), std::string::npos) << no_run.err;
}

TEST(Plan, RefusesWhatCannotBePlacedNamingTheMismatch) {
  const std::string session = drifting_run();
  const auto error_of = [&](const std::vector<std::string>& args) {
    const CliResult r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << r.out;
    return r.err;
  };
  EXPECT_NE(error_of({"plan", "1", "--session", session, "--replicas", "3"}).find("(E + R) % D"),
            std::string::npos);
  EXPECT_NE(error_of({"plan", "7", "--session", session, "--replicas", "4"}).find("7"),
            std::string::npos);
  EXPECT_NE(error_of({"plan", "--replicas", "4", "--session", session}).find("--loads"),
            std::string::npos);
  const std::string counts = temp_path(".json");
  std::ofstream(counts) << "[[1, 2, 3, 4], [1, 2, 3, 4]]";
  EXPECT_NE(error_of({"plan", "1", "--session", session, "--loads", counts, "--replicas", "4"})
                .find("4 experts, the run to evaluate on 8"),
            std::string::npos);
  EXPECT_NE(error_of({"plan", "1", "--session", session, "--replicas", "4", "--window", "9"})
                .find("window of 9 steps"),
            std::string::npos);
  EXPECT_NE(error_of({"plan", "1", "--session", session, "--replicas", "4", "--algorithm", "best"})
                .find("auto, hierarchical, global"),
            std::string::npos);
}

}  // namespace
}  // namespace moescope::test
