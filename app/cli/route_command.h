#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli route`: replays one tensor of router logits through one policy.
void add_route_command(CLI::App& app);

}  // namespace moescope::cli
