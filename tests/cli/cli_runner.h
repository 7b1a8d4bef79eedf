// Runs moescope-cli as a child process and captures what a user would see.
#pragma once

#include <string>
#include <vector>

namespace moescope::test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CliResult run_cli(const std::vector<std::string>& args);

// A path in the temporary directory, unique to the running test.
std::string temp_path(const std::string& suffix);

}  // namespace moescope::test
