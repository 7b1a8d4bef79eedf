// A measured run from the app: `mpirun -np D moescope-cli run --request FILE --ranks` as a child
// process, one rank per device, writing into the session the app has open (rank 0 writes; the
// app's live refresh shows the runs). Cancel stops every rank.
#pragma once

#include <QList>

#include <string>

#include "core/base/cancel.h"
#include "core/run/experiment.h"

namespace moescope::gui {

// Runs a resolved experiment of timing 'measured' on its one device count and waits, checking
// `cancel` ten times a second. Returns the ids of the runs it stored. Throws Error with the
// command's own message (mpirun or moescope-cli missing, bad input, a failed rank), Cancelled
// when cancelled (the runs stay `incomplete`).
QList<qint64> run_as_ranks(const Experiment& experiment, const std::string& session_path,
                           const CancelFlag& cancel);

// The moescope-cli the app starts: $MOESCOPE_CLI, else the one beside the app (installed, or
// in the build tree), else the first on PATH; empty when there is none.
QString moescope_cli_path();

}  // namespace moescope::gui
