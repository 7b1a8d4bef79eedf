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

// The same with shell words before it, run by /bin/sh: limits ("ulimit -f 0;"), another user
// ("runuser -u nobody --"), or another binary (`program`, default the CLI under test).
CliResult run_cli_with(const std::string& shell_prefix, const std::vector<std::string>& args,
                       const std::string& program = MOESCOPE_CLI_PATH);

// Starts the CLI without waiting (stdout to /dev/null, stderr to `err_path`); returns its pid.
int start_cli(const std::vector<std::string>& args, const std::string& err_path);
// Waits for a started CLI; its exit code, or -1 when a signal ended it.
int wait_cli(int pid);

// A string quoted for /bin/sh.
std::string shell_quote(const std::string& s);

// A path in the temporary directory, unique to the running test.
std::string temp_path(const std::string& suffix);

}  // namespace moescope::test
