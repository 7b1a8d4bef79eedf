// Records an experiment into a session from the CLI: the experiment checked before the session
// is touched, the backend started once for all of it, a progress line on the terminal and
// Ctrl-C as cancellation.
#pragma once

#include <string>

#include "core/base/cancel.h"
#include "core/session/record_experiment.h"

namespace moescope::cli {

RecordedExperiment record_in_session(const Experiment& experiment, const std::string& session_path,
                                     const std::string& label, const CancelFlag* cancel);

}  // namespace moescope::cli
