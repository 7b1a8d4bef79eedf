#include "tests/cli/cli_runner.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace moescope::test {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

namespace {

// The pid alone repeats across test runs (a sanitizer run after a plain one reuses pids, and a
// crashed test leaves its files): a random tag per process keeps each run's files its own.
const std::string& process_tag() {
  static const std::string tag = [] {
    std::random_device device;
    char text[32];
    std::snprintf(text, sizeof text, "%d_%08x", static_cast<int>(getpid()), device());
    return std::string(text);
  }();
  return tag;
}

}  // namespace

std::string temp_path(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (std::filesystem::temp_directory_path() /
          ("moescope_cli_" + process_tag() + "_" + info->name() + suffix))
      .string();
}

CliResult run_cli(const std::vector<std::string>& args) {
  return run_cli_with("", args);
}

CliResult run_cli_with(const std::string& shell_prefix, const std::vector<std::string>& args,
                       const std::string& program) {
  const std::string out_path = temp_path(".stdout");
  const std::string err_path = temp_path(".stderr");
  // Runs without --session go to the default session: keep that out of the user's home.
  const auto data_home =
      std::filesystem::temp_directory_path() / ("moescope_cli_xdg_" + process_tag());
  std::string command = shell_prefix + " env XDG_DATA_HOME=" + shell_quote(data_home.string()) +
                        " " + shell_quote(program);
  for (const auto& a : args)
    command += " " + shell_quote(a);
  command += " >" + shell_quote(out_path) + " 2>" + shell_quote(err_path) + " </dev/null";
  const int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

int start_cli(const std::vector<std::string>& args, const std::string& err_path) {
  std::vector<std::string> argv_text = {"moescope-cli"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  const auto data_home =
      std::filesystem::temp_directory_path() / ("moescope_cli_xdg_" + process_tag());
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : argv_text)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    setenv("XDG_DATA_HOME", data_home.c_str(), 1);
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr))
      _exit(126);
    execv(MOESCOPE_CLI_PATH, argv.data());
    _exit(127);
  }
  return pid;
}

int wait_cli(int pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace moescope::test
