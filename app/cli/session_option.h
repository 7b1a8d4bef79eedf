// --session FILE, which every command that reads or writes runs takes.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace moescope::cli {

void add_session_option(CLI::App& cmd, std::string& session);
// The file the option names, or the user's default session when it names none.
std::string session_path(const std::string& session);

}  // namespace moescope::cli
