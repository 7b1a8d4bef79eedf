#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli run`: steps x layers of a model through a policy (or, with --compare, the
// baseline and every policy on the same routing), printed as a table or JSON.
void add_run_command(CLI::App& app);

}  // namespace moescope::cli
