#include "tests/cli/cli_runner.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace moescope::test {

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string temp_path(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (std::filesystem::temp_directory_path() /
          ("moescope_cli_" + std::to_string(getpid()) + "_" + info->name() + suffix))
      .string();
}

CliResult run_cli(const std::vector<std::string>& args) {
  const std::string out_path = temp_path(".stdout");
  const std::string err_path = temp_path(".stderr");
  // Runs without --session go to the default session: keep that out of the user's home.
  const auto data_home =
      std::filesystem::temp_directory_path() / ("moescope_cli_xdg_" + std::to_string(getpid()));
  std::string command =
      "XDG_DATA_HOME=" + quote(data_home.string()) + " " + quote(MOESCOPE_CLI_PATH);
  for (const auto& a : args)
    command += " " + quote(a);
  command += " >" + quote(out_path) + " 2>" + quote(err_path) + " </dev/null";
  const int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace moescope::test
