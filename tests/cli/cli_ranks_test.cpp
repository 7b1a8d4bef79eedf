// `run --ranks` as a user runs it: under mpirun, real processes, a real session. Rank 0 alone
// writes; the runs are measured and give the single-process run's outputs; bad input is one
// line; a killed rank leaves no run marked complete.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/session/session_store.h"
#include "tests/cli/cli_runner.h"

namespace moescope::test {
namespace {

// mpirun as root needs Open MPI's opt-in; a 2-core machine needs oversubscription for 3 ranks;
// -q keeps mpirun's own banner about a failed job out of what the user sees.
std::string mpirun(int ranks) {
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
         MOESCOPE_MPIEXEC + " -q -np " + std::to_string(ranks) + " --oversubscribe";
}

std::vector<std::string> small_compare(const std::string& session) {
  return {"run",      "--preset", "olmoe-1b-7b", "--scale", "32",        "--tokens",  "128",
          "--layers", "0,3",      "--repeats",   "2",       "--compare", "--session", session};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(CliRanks, MeasuredRunsEqualTheSingleProcessOnes) {
  for (int ranks : {2, 3}) {
    const std::string ranked = temp_path("ranked" + std::to_string(ranks) + ".moescope");
    const std::string single = temp_path("single" + std::to_string(ranks) + ".moescope");
    const CliResult r = run_cli_with(mpirun(ranks), with(small_compare(ranked), {"--ranks"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("timeline: measured"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(std::to_string(ranks) + " ranks over "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Measured against composed from the same durations"), std::string::npos)
        << r.out;
    // One table: rank 0 prints, the others stay quiet.
    EXPECT_EQ(r.out.find("MoEScope run:"), r.out.rfind("MoEScope run:")) << r.out;
    const CliResult s = run_cli(with(small_compare(single), {"--devices", std::to_string(ranks)}));
    ASSERT_EQ(s.exit_code, 0) << s.err;

    SessionStore a(ranked, SessionStore::Access::kRead);
    SessionStore b(single, SessionStore::Access::kRead);
    const auto runs = a.runs();
    ASSERT_EQ(runs.size(), 4u);
    ASSERT_EQ(b.runs().size(), 4u);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const StoredRun& run = runs[i];
      EXPECT_EQ(run.status, "complete");
      EXPECT_EQ(run.timing, "measured");
      EXPECT_EQ(run.devices, ranks);
      const auto la = a.layer_stats(run.id);
      const auto lb = b.layer_stats(b.runs()[i].id);
      ASSERT_EQ(la.size(), lb.size());
      for (std::size_t l = 0; l < la.size(); ++l) {
        // The same bits give the same error against the baseline.
        EXPECT_EQ(la[l].output_error, lb[l].output_error) << run.policy << ", layer row " << l;
      }
      const auto spans = a.spans(run.id);
      for (int d = 0; d < ranks; ++d) {
        int waits = 0, experts = 0;
        for (const auto& e : spans) {
          if (e.device != d) continue;
          waits += e.phase == profiler::Phase::kWait;
          experts += e.phase == profiler::Phase::kExpert;
        }
        EXPECT_GT(waits, 0) << run.policy << ", rank " << d;
        EXPECT_GT(experts, 0) << run.policy << ", rank " << d;
      }
    }
  }
}

TEST(CliRanks, TheDryRunsLineRunsTheRanks) {
  const std::string session = temp_path("dry run.moescope");  // a space, quoted in the line
  const CliResult dry =
      run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "32", "--tokens", "64", "--layers", "0",
               "--devices", "2", "--session", session, "--dry-run", "--hostfile", "hosts.txt"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out.rfind("mpirun -q -np 2 --hostfile hosts.txt ", 0), 0u) << dry.out;
  EXPECT_NE(dry.out.find(" --ranks\n"), std::string::npos) << dry.out;
  EXPECT_FALSE(std::filesystem::exists(session)) << "a dry run ran";
  // The same line without the hostfile (one machine), run as printed.
  const CliResult line =
      run_cli({"run", "--preset", "olmoe-1b-7b", "--scale", "32", "--tokens", "64", "--layers", "0",
               "--devices", "2", "--session", session, "--dry-run"});
  ASSERT_EQ(line.exit_code, 0) << line.err;
  const std::string command = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " +
                              line.out.substr(0, line.out.size() - 1) + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  SessionStore store(session, SessionStore::Access::kRead);
  ASSERT_EQ(store.runs().size(), 2u);
  EXPECT_EQ(store.runs().front().timing, "measured");
  EXPECT_EQ(store.runs().front().status, "complete");
}

void expect_one_error_line(const CliResult& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "more than one line:\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliRanks, BadInputIsOneLineFromRankZeroAndStoresNothing) {
  const std::string session = temp_path("bad.moescope");
  expect_one_error_line(
      run_cli_with(mpirun(2), with(small_compare(session), {"--ranks", "--devices", "3"})),
      "--devices 3 with 2 ranks");
  expect_one_error_line(
      run_cli_with(mpirun(2), with(small_compare(session), {"--ranks", "--gamma", "-1"})), "gamma");
  expect_one_error_line(
      run_cli_with(mpirun(2), with(small_compare(session), {"--ranks", "--threads-per-rank", "0"})),
      "--threads-per-rank must be from 1 to 1024");
  expect_one_error_line(
      run_cli_with(mpirun(2), with(small_compare(session), {"--ranks", "--replicas", "2"})),
      "replicated experts (--replicas) are not yet supported with --ranks");
  expect_one_error_line(
      run_cli_with(mpirun(2), with(small_compare(session), {"--ranks", "--timing", "modeled"})),
      "--timing modeled runs without --ranks");
  expect_one_error_line(
      run_cli_with(mpirun(3), with(small_compare(session), {"--ranks", "--placement", "0,1"})),
      "placement");
  expect_one_error_line(
      run_cli_with(mpirun(2), with(small_compare("/proc/ranks.moescope"), {"--ranks"})), "/proc");
  // Two ranks asked for different runs (MPMD: one command line per rank).
  const std::string first = mpirun(1) + " " + MOESCOPE_CLI_PATH + " " +
                            "run --preset olmoe-1b-7b "
                            "--scale 32 --tokens 64 --layers 0 --ranks --session " +
                            shell_quote(session) + " : -np 1";
  expect_one_error_line(
      run_cli_with(first, {"run", "--preset", "olmoe-1b-7b", "--scale", "32", "--tokens", "32",
                           "--layers", "0", "--ranks", "--session", session}),
      "rank 1 was asked for another run than rank 0");
  EXPECT_FALSE(std::filesystem::exists(session));
}

TEST(CliRanks, AKilledRankEndsTheRunWithoutStoringItComplete) {
  const std::string session = temp_path("killed.moescope");
  const std::string err = temp_path("killed.err");
  // A run of many steps under `timeout 60`; once its ranks compute, the last rank is killed.
  // mpirun then ends the others and exits with the killed rank's status (137), well within the
  // minute, or timeout ends it with 124.
  const std::string command =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 " +
      std::string(MOESCOPE_MPIEXEC) + " -np 2 --oversubscribe " + MOESCOPE_CLI_PATH +
      " run --preset olmoe-1b-7b --scale 8 --tokens 512 --steps 200 --repeats 5 --ranks "
      "--session " +
      shell_quote(session) + " > /dev/null 2> " + shell_quote(err) +
      " & launcher=$!; "
      "ranks() { pgrep -P \"$(pgrep -P $launcher | head -n 1)\"; }; "
      "for i in $(seq 1 300); do [ \"$(ranks | wc -l)\" -ge 2 ] && break; sleep 0.1; done; "
      "sleep 2; kill -9 $(ranks | tail -n 1); wait $launcher";
  const int status = std::system(("/bin/sh -c " + shell_quote(command)).c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(WEXITSTATUS(status), 124) << "mpirun did not end within 60 s of the kill";
  ASSERT_TRUE(std::filesystem::exists(session));
  SessionStore store(session, SessionStore::Access::kRead);
  const auto runs = store.runs();
  ASSERT_FALSE(runs.empty());
  for (const auto& run : runs)
    EXPECT_NE(run.status, "complete") << run.id;
}

}  // namespace
}  // namespace moescope::test
