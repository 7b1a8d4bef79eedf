// The human-readable tables of `moescope-cli run`.
#pragma once

#include <ostream>

#include "core/run/runner.h"

namespace moescope::cli {

void print_run_tables(std::ostream& out, const RunResult& result, bool per_layer);

}  // namespace moescope::cli
