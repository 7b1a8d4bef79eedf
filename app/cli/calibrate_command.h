#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli calibrate`: fits this machine's cost model for a backend and a model's shapes
// (what modeled timelines are drawn from), prints the fit and keeps it.
void add_calibrate_command(CLI::App& app);

}  // namespace moescope::cli
