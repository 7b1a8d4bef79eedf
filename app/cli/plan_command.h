#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli plan`: DeepSeek's EPLB placement of replicated experts from a stored run's loads
// (or an engine's load counts), what it does to each layer's device balance, step by step after
// the calibration window, and the plan as SGLang's static expert placement file.
void add_plan_command(CLI::App& app);

}  // namespace moescope::cli
