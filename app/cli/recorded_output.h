// What `run`, `sweep` and `rerun` print about the runs they stored: tables for people, JSON
// for scripts.
#pragma once

#include <ostream>
#include <string>

#include "core/session/record_experiment.h"

namespace moescope::cli {

// `format` is "table" or "json"; `per_layer` adds a row per layer to the table.
void print_recorded(std::ostream& out, const RecordedExperiment& recorded,
                    const std::string& format, bool per_layer);
// One row per stored run: latency, speedup, drop rate and output error.
void print_sweep(std::ostream& out, const RecordedExperiment& recorded, const std::string& format);

}  // namespace moescope::cli
