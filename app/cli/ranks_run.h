// `run --ranks`: this process is one rank of `mpirun -np N`, one device each; rank 0 writes
// the session and prints, the others compute and stay quiet.
#pragma once

#include <string>

#include "core/run/experiment.h"

namespace moescope::cli {

// Thrown by ranks other than 0 when the run is refused: rank 0 alone says why.
struct QuietExit {
  int status = 1;
};

void run_ranks(Experiment experiment, const std::string& session_path, const std::string& format,
               bool per_layer, int threads_per_rank);

// The command line as typed, for --dry-run (main() calls this before parsing).
void remember_command_line(int argc, char** argv);

// `run ... --ranks --dry-run [--hostfile FILE]`: the experiment checked for `ranks` devices and
// the exact mpirun line that runs it (this binary, the arguments as typed but the dry run's).
std::string mpirun_line(Experiment experiment, int ranks, const std::string& hostfile);

}  // namespace moescope::cli
