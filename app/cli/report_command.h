#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli report RUN... --out FILE`: an HTML, PDF or Markdown report of stored runs.
// Builds without Qt keep the command, which then says that the build cannot write reports.
void add_report_command(CLI::App& app);

}  // namespace moescope::cli
