#pragma once

#include <CLI/CLI.hpp>

namespace moescope::cli {

// `moescope-cli info`: on which machine timings would be taken: the CPU and its instruction sets,
// the kernels of the CPU experts (oneDNN) and of the BLAS (synthetic routing) and why they were
// chosen, the backends and the GPUs.
void add_info_command(CLI::App& app);

}  // namespace moescope::cli
