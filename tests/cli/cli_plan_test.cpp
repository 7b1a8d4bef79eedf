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
