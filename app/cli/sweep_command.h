#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli sweep`: a grid of policies x gamma x m x devices on the same routing input,
// every point stored as a run of one group.
void add_sweep_command(CLI::App& app);

}  // namespace moescope::cli
