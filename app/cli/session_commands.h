#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `sessions`, `show`, `rm`, `rename` and `export`: reading and managing stored runs.
void add_session_commands(CLI::App& app);

}  // namespace moescope::cli
