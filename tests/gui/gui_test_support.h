// Real runs for the GUI tests: recorded with the real engine into a real session file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/run/experiment.h"

namespace moescope::gui::testing {

// The demo's shape, smaller (128 tokens, 2 repeats): drop beside the baseline, or with `compare`
// every policy; it runs in well under a second on the CPU backend.
Experiment small_experiment(int steps = 2, bool compare = false);
// Records the experiment in the session; returns the stored run ids (the baseline first).
std::vector<std::int64_t> record(const Experiment& experiment, const std::string& session_path);

// Points XDG_CONFIG_HOME and XDG_DATA_HOME into `dir`, so QSettings and the default session
// of a test never touch the user's.
void isolate_user_dirs(const std::string& dir);

}  // namespace moescope::gui::testing
