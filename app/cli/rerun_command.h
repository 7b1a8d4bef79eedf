#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli rerun RUN`: runs a stored run again from the request stored with it (its policy
// beside a fresh baseline, on its device count) and stores the new runs.
void add_rerun_command(CLI::App& app);

}  // namespace moescope::cli
