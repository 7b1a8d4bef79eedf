// Running a stored run again: the experiment that made it, narrowed to its own policy and
// device count. The routing, the kept pairs and every load metric come out the same, bit for
// bit; only the times are new.
#pragma once

#include "core/run/experiment.h"
#include "core/session/session_store.h"

namespace moescope {

// Throws Error naming the run when it carries no request this version can read (a run that was
// imported, or a file edited by hand).
Experiment rerun_experiment(const StoredRun& run);

}  // namespace moescope
