#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli presets` lists the model presets; `moescope-cli spec` prints one as JSON, the
// starting point of a custom spec for `run --spec`.
void add_spec_commands(CLI::App& app);

}  // namespace moescope::cli
