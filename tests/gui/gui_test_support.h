// Real runs for the GUI tests: recorded with the real engine into a real session file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/gui/run_request.h"

namespace moescope::gui::testing {

// A small OLMoE-shaped request (scaled down 16x, 128 tokens) that runs in well under a second.
RunRequest small_request(const std::string& session_path, int steps = 2, bool compare = false);
// Records the request; returns the stored run ids (the baseline first).
std::vector<std::int64_t> record(const RunRequest& request);

// Points XDG_CONFIG_HOME and XDG_DATA_HOME into `dir`, so QSettings and the default session
// of a test never touch the user's.
void isolate_user_dirs(const std::string& dir);

}  // namespace moescope::gui::testing
